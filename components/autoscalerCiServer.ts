// The CI-server side of the Docker Autoscaler (issue 10) in one call, for program.ts: the fleeting
// plugin (compose edit, then install) and the workers' SSH key (key pair). Both wait for `after`
// (the CI server's proxy steps: the install needs the runner container's HTTPS_PROXY); config.toml's
// [runners.autoscaler] must wait for `ready` (the plugin installed, the key pair imported).
import type * as command from "@pulumi/command";
import * as path from "node:path/posix";
import * as pulumi from "@pulumi/pulumi";
import { RUNNER_CONFIG_DIR_IN_CONTAINER, type VolumePath } from "../core/ciServer/fleeting/fleetingPlugin";
import type { ComposeContext } from "../core/remote/scripts";
import type { SnapshotWindowGuard } from "../core/remote/snapshotWindow";
import { FleetingPlugin } from "./fleetingPlugin";
import { WorkerSshKey } from "./workerSshKey";

export interface AutoscalerCiServerArgs {
  readonly connection: command.types.input.remote.ConnectionArgs;
  readonly compose: ComposeContext;
  /** Host path of config.toml (settings ciServer.runnerConfigPath); its directory is the config volume. */
  readonly runnerConfigPath: string;
  /** config.toml's [runners.autoscaler] plugin, e.g. "aws:1.0.0". */
  readonly plugin: string;
  readonly proxy: boolean;
  /** runner.gracefulStopSeconds: the plugin path's recreate of the runner lets jobs finish. */
  readonly gracefulStopSeconds?: number;
  /** The snapshot-window check of the plugin path's runner recreate. */
  readonly window?: SnapshotWindowGuard;
  /** Default gitlab-runner (Collaborage's service and container_name). */
  readonly service?: string;
  readonly container?: string;
  readonly tags?: Record<string, string>;
  /** What the CI-server steps must wait for (the proxy edits of docker-compose.yml and common.env). */
  readonly after?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

export interface AutoscalerCiServer {
  readonly plugin: FleetingPlugin;
  readonly key: WorkerSshKey;
  /** For [runners.autoscaler.connector_config]: use_static_credentials = true, key_path = keyPath. */
  readonly keyPath: string;
  /** The EC2 key pair for the launch template's keyName. */
  readonly keyName: pulumi.Output<string>;
  /** config.toml's edit must depend on these. */
  readonly ready: pulumi.Resource[];
}

/** The config volume of Collaborage's runner: config.toml's directory, mounted at /etc/gitlab-runner. */
export function runnerConfigVolume(runnerConfigPath: string): VolumePath {
  return { host: path.dirname(runnerConfigPath), container: RUNNER_CONFIG_DIR_IN_CONTAINER };
}

export function autoscalerCiServer(name: string, a: AutoscalerCiServerArgs, parent?: pulumi.Resource): AutoscalerCiServer {
  const configVolume = runnerConfigVolume(a.runnerConfigPath);
  const opts = { parent, dependsOn: a.after };
  const plugin = new FleetingPlugin(`${name}-fleeting`, {
    connection: a.connection,
    compose: a.compose,
    service: a.service ?? "gitlab-runner",
    container: a.container ?? "gitlab-runner",
    plugin: a.plugin,
    configVolume,
    proxy: a.proxy,
    gracefulStopSeconds: a.gracefulStopSeconds,
    ...(a.window ? { window: a.window } : {}),
  }, opts);
  const key = new WorkerSshKey(`${name}-worker-key`, { connection: a.connection, configVolume, tags: a.tags }, opts);
  return { plugin, key, keyPath: key.keyPath, keyName: key.keyName, ready: [plugin, key] };
}
