// The runner's SSH key for the Docker Autoscaler's workers (issue 10): generated on the CI server by
// a remote command, which prints only the public key; that becomes an EC2 key pair for the launch
// template. The private key stays in the runner's config volume and never enters Pulumi's state.
import type * as command from "@pulumi/command";
import * as commandRes from "@pulumi/command";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { VolumePath } from "../core/ciServer/fleeting/fleetingPlugin";
import { parseWorkerPublicKey, workerKeyCreateScript, workerKeyDeleteScript, workerKeyPath } from "../core/ciServer/fleeting/workerSshKey";
import { childOptions } from "./childOptions";

export interface WorkerSshKeyArgs {
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** The runner's config volume (Collaborage: /data/gitlab-runner/config on the host, /etc/gitlab-runner inside). */
  readonly configVolume: VolumePath;
  readonly tags?: Record<string, string>;
}

export class WorkerSshKey extends pulumi.ComponentResource {
  /** The EC2 key pair's name, for the workers' launch template. */
  public readonly keyName: pulumi.Output<string>;
  /** "ssh-ed25519 AAAA…" */
  public readonly publicKey: pulumi.Output<string>;
  /** config.toml's connector_config key_path (use_static_credentials = true): the key as the runner container sees it. */
  public readonly keyPath: string;

  constructor(name: string, args: WorkerSshKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ci:WorkerSshKey", name, {}, opts);
    const path = workerKeyPath(args.configVolume);
    const gen = new commandRes.remote.Command(`${name}-generate`, {
      connection: args.connection,
      create: workerKeyCreateScript({ configVolume: args.configVolume }),
      delete: workerKeyDeleteScript({ configVolume: args.configVolume }),
      addPreviousOutputInEnv: false,
    }, {
      ...childOptions(this, opts),
      // A replacement's delete would otherwise remove the key its successor just printed.
      deleteBeforeReplace: true,
    });
    this.publicKey = gen.stdout.apply(parseWorkerPublicKey);
    const pair = new aws.ec2.KeyPair(`${name}-pair`, { publicKey: this.publicKey, tags: args.tags }, { parent: this });
    this.keyName = pair.keyName;
    this.keyPath = path.container;
    this.registerOutputs({ keyName: this.keyName, publicKey: this.publicKey, keyPath: this.keyPath });
  }
}
