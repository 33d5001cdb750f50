// The runbook's "Runner実行用のユーザーを作成します": an IAM user with the least-privilege policy
// and an access key, or (instanceProfile mode) the same policy on the CI server's role and no key.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { runnerPolicyJson } from "../core/aws/iamPolicy";
import type { CredentialsMode } from "../settings/types";
import { childOptions } from "./childOptions";

export interface RunnerCredentialsArgs {
  readonly mode: CredentialsMode;
  readonly region: string;
  readonly spot: boolean;
  /** Workers' instance profile; iam:PassRole is granted on its role only. */
  readonly workerInstanceProfile?: string;
  /** instanceProfile mode: the CI server's role gets the policy. */
  readonly managerRoleName?: string;
  /** Bump to rotate: the new key exists before the old one is deleted (create-before-delete). */
  readonly keyGeneration: number;
  /** The build cache's bucket, when there is one: its statements join the same policy. */
  readonly cacheBucketName?: pulumi.Input<string>;
  readonly tags?: Record<string, string>;
  /** Another policy than docker-machine's (the Docker Autoscaler's fleeting plugin policy). */
  readonly policy?: pulumi.Input<string>;
}

export class RunnerCredentials extends pulumi.ComponentResource {
  public readonly policy: pulumi.Output<string>;
  public readonly userName?: pulumi.Output<string>;
  public readonly accessKeyId?: pulumi.Output<string>;
  /** Secret. */
  public readonly secretAccessKey?: pulumi.Output<string>;

  constructor(name: string, args: RunnerCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:iam:RunnerCredentials", name, {}, opts);
    const workerRoleArn: pulumi.Output<string | undefined> = args.workerInstanceProfile
      ? aws.iam.getInstanceProfileOutput({ name: args.workerInstanceProfile }, { parent: this }).roleArn
      : pulumi.output(undefined);
    this.policy = args.policy !== undefined
      ? pulumi.output(args.policy)
      : pulumi.all([workerRoleArn, args.cacheBucketName]).apply(([arn, cacheBucket]) =>
        runnerPolicyJson({ region: args.region, spot: args.spot, workerRoleArn: arn, cacheBucket }));

    // Each executor's policy is a resource of its own: on a switch of runner.executor the new one is
    // created first, and the old one is deleted at the end of the update, after the old executor's
    // docker-machine workers are removed (WorkerCleanup depends on this component).
    const kind = args.policy !== undefined ? "fleeting-" : "";

    if (args.mode === "instanceProfile") {
      if (!args.managerRoleName) throw new Error("instanceProfile mode needs managerRoleName");
      new aws.iam.RolePolicy(`${name}-manager-${kind}policy`, { role: args.managerRoleName, policy: this.policy }, childOptions(this, opts));
    } else {
      const user = new aws.iam.User(`${name}-user`, { path: "/gitlab-runner-autoscaling/", tags: args.tags }, childOptions(this, opts));
      new aws.iam.UserPolicy(`${name}-${kind}policy`, { user: user.name, policy: this.policy }, { parent: this });
      // The generation is in the name: a new generation is a new resource, created before the old
      // one is deleted, so config.toml switches keys while both are valid.
      const key = new aws.iam.AccessKey(`${name}-key-${args.keyGeneration}`, { user: user.name }, {
        parent: this,
        additionalSecretOutputs: ["secret", "sesSmtpPasswordV4"],
      });
      this.userName = user.name;
      this.accessKeyId = key.id;
      this.secretAccessKey = pulumi.secret(key.secret);
    }
    this.registerOutputs({ policy: this.policy, userName: this.userName, accessKeyId: this.accessKeyId });
  }
}
