// The runbook's "サーバのポートを開放します" as separate ingress-rule resources (never inline rules:
// mixing the two styles on one group makes them overwrite each other). Nothing is opened to 0.0.0.0/0.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NEXUS_DOCKER_PORT } from "../core/ciServer/configToml/machineOptions";
import { childOptions } from "./childOptions";

export interface RunnerNetworkArgs {
  /** The CI server's group (runner manager and Nexus). */
  readonly ciSecurityGroupId: pulumi.Input<string>;
  /** The group the worker machines get. */
  readonly workerSecurityGroupId: pulumi.Input<string>;
  /** docker-autoscaler tunnels the Docker API over SSH: no 2376. Default docker+machine. */
  readonly executor?: "docker+machine" | "docker-autoscaler";
}

/** Port, direction and reason of each rule: the runbook's list, with its 22/2376 typo fixed. */
export const RULES = [
  { name: "nexus-from-workers", port: NEXUS_DOCKER_PORT, into: "ci", from: "workers", why: "workers pull images from Nexus docker-hosted" },
  { name: "docker-from-ci", port: 2376, into: "workers", from: "ci", why: "runner manager drives dockerd on the workers (TLS)" },
  { name: "ssh-from-ci", port: 22, into: "workers", from: "ci", why: "docker-machine provisions the workers over SSH" },
] as const;

export class RunnerNetwork extends pulumi.ComponentResource {
  public readonly ruleIds: pulumi.Output<string>[];
  public readonly rules: aws.vpc.SecurityGroupIngressRule[];
  /** docker-machine's amazonec2-security-group takes the group NAME. */
  public readonly workerSecurityGroupName: pulumi.Output<string>;

  constructor(name: string, args: RunnerNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:network:RunnerNetwork", name, {}, opts);
    const groups = { ci: args.ciSecurityGroupId, workers: args.workerSecurityGroupId };
    const rules = args.executor === "docker-autoscaler" ? RULES.filter((r) => r.name !== "docker-from-ci") : RULES;
    this.rules = rules.map((r) => new aws.vpc.SecurityGroupIngressRule(`${name}-${r.name}`, {
      securityGroupId: groups[r.into],
      referencedSecurityGroupId: groups[r.from],
      ipProtocol: "tcp",
      fromPort: r.port,
      toPort: r.port,
      description: `gitlab-runner-autoscaling: ${args.executor === "docker-autoscaler" && r.name === "ssh-from-ci" ? "runner manager reaches dockerd on the workers over SSH" : r.why}`,
    }, childOptions(this, opts)));
    this.ruleIds = this.rules.map((r) => r.id);
    this.workerSecurityGroupName = aws.ec2.getSecurityGroupOutput({ id: args.workerSecurityGroupId }, { parent: this }).name;
    this.registerOutputs({ ruleIds: this.ruleIds, workerSecurityGroupName: this.workerSecurityGroupName });
  }
}
