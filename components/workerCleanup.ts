// The lifecycle of this runner's docker-machine workers as one remote.Command on the CI server.
// Its create counts the workers and says how they retire (re-run whenever the workers' settings
// change: they are its header). Its delete removes the workers config.toml no longer manages
// (core/ciServer/workers/workerCleanup.ts). The program places it so that destroy runs that delete after
// config.toml is restored and before the access key, the policy and the network rules go, and
// before the proxy edits are undone (docker-machine reaches EC2 through the runner's proxy).
// A new MachineName, runner entry or access key replaces it: the new one is created before
// config.toml changes, the old one's delete runs at the end of the update, before the old key is
// deleted, and removes the workers of the old name or key.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { workerCleanupScript, workerNoticeScript, workerSettingsLines, type WorkerScope } from "../core/ciServer/workers/workerCleanup";
import type { Settings } from "../settings/types";
import { childOptions } from "./childOptions";

/** Collaborage's compose file names the runner's container gitlab-runner. */
export const RUNNER_CONTAINER = "gitlab-runner";

export interface WorkerCleanupArgs {
  readonly connection: command.types.input.remote.ConnectionArgs;
  readonly settings: Settings;
  readonly amiId: pulumi.Input<string>;
  readonly workerSecurityGroupName: pulumi.Input<string>;
  /** accessKey mode: the key new workers get; a new key replaces this resource (see above). */
  readonly accessKeyId?: pulumi.Input<string>;
  readonly stack: string;
  /** Seconds between checks for running jobs (default: 10, or a third of a shorter drain timeout). */
  readonly pollSeconds?: number;
}

/** The cleanup's scope: which workers its delete considers. */
export function workerScope(s: Settings): WorkerScope {
  return { container: RUNNER_CONTAINER, configPath: s.ciServer.runnerConfigPath, runnerName: s.runner.name, machineName: s.runner.machineName };
}

export class WorkerCleanup extends pulumi.ComponentResource {
  public readonly command: command.remote.Command;
  /** The create's report: how many workers exist and how they retire. */
  public readonly report: pulumi.Output<string>;

  constructor(name: string, args: WorkerCleanupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ci:WorkerCleanup", name, {}, opts);
    const s = args.settings;
    const r = s.runner;
    const scope = workerScope(s);
    const keyId = pulumi.output(args.accessKeyId);
    const create = pulumi.all([args.amiId, args.workerSecurityGroupName, keyId]).apply(([amiId, sg, key]) =>
      workerNoticeScript({ ...scope, maxBuilds: r.maxBuilds, idleTime: r.idleTime }, workerSettingsLines({
        machineName: r.machineName, maxBuilds: r.maxBuilds, idleTime: r.idleTime, amiId, instanceType: s.workers.instanceType,
        subnetId: s.workers.subnetId, zone: s.workers.zone, securityGroupName: sg, spot: s.workers.spot,
        iamInstanceProfile: s.workers.iamInstanceProfile, accessKeyId: key, stack: args.stack,
      })));
    this.command = new command.remote.Command(`${name}-cleanup`, {
      connection: args.connection,
      create,
      delete: workerCleanupScript({
        ...scope,
        drainTimeoutSeconds: r.drainTimeoutSeconds,
        pollSeconds: args.pollSeconds ?? Math.max(1, Math.min(10, Math.floor(r.drainTimeoutSeconds / 3))),
      }),
      // What names the workers the delete must remove: a change replaces the resource, so the old
      // delete (with the old name) runs after config.toml stopped naming them.
      // A switch of runner.executor replaces it too: its old delete then removes every docker-machine
      // worker of this runner once config.toml names docker-autoscaler (they would be orphans).
      triggers: [scope.container, scope.configPath, scope.runnerName ?? "", scope.machineName, keyId.apply((k) => k ?? ""), r.executor],
      addPreviousOutputInEnv: false,
    }, childOptions(this, opts));
    this.report = this.command.stdout;
    this.registerOutputs({ report: this.report });
  }
}
