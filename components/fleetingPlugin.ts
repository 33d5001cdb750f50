// Docker Autoscaler on the CI server (issue 10): FLEETING_PLUGIN_PATH on the runner service (a
// guarded compose edit that recreates the runner), then `gitlab-runner fleeting install` inside
// the runner container. The install runs again only when the plugin reference or the plugin
// directory changes (their hashes are its triggers); destroy removes the plugin directory only
// when the install created it, then the compose edit is restored.
import type * as command from "@pulumi/command";
import * as commandRes from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
  fleetingComposeEdit, fleetingInstallScript, fleetingRemoveScript, pluginDir, type FleetingInstallArgs, type VolumePath,
} from "../core/ciServer/fleeting/fleetingPlugin";
import { sha256Hex } from "../core/remote/readResult";
import type { ComposeContext } from "../core/remote/scripts";
import type { SnapshotWindowGuard } from "../core/remote/snapshotWindow";
import { childOptions } from "./childOptions";
import { RemoteFileEdit } from "./remoteFileEdit";

export interface FleetingPluginArgs {
  readonly connection: command.types.input.remote.ConnectionArgs;
  readonly compose: ComposeContext;
  /** The runner's compose service and container name (Collaborage: both gitlab-runner). */
  readonly service: string;
  readonly container: string;
  /** config.toml's [runners.autoscaler] plugin, e.g. "aws:1.0.0". */
  readonly plugin: string;
  /** The runner's config volume (Collaborage: /data/gitlab-runner/config on the host, /etc/gitlab-runner inside). */
  readonly configVolume: VolumePath;
  /** The CI server uses a proxy (the runner container then must have HTTPS_PROXY from common.env). */
  readonly proxy: boolean;
  /** Bound on the wait for running jobs when the runner is recreated (0: SIGQUIT and go on). */
  readonly gracefulStopSeconds?: number;
  /** The snapshot-window check of the runner's recreate. */
  readonly window?: SnapshotWindowGuard;
}

export class FleetingPlugin extends pulumi.ComponentResource {
  /** FLEETING_PLUGIN_PATH as the runner container sees it. */
  public readonly pluginPath: string;
  /** The install's report: "installed: …" or "already installed: …". */
  public readonly result: pulumi.Output<string>;

  constructor(name: string, args: FleetingPluginArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ci:FleetingPlugin", name, {}, opts);
    const dir = pluginDir(args.configVolume);
    const edit = fleetingComposeEdit({
      compose: args.compose, service: args.service, pluginPath: dir.container,
      ...(args.gracefulStopSeconds !== undefined ? { gracefulStop: { container: args.container, timeoutSeconds: args.gracefulStopSeconds } } : {}),
      ...(args.window ? { window: args.window } : {}),
    });
    const composeEdit = new RemoteFileEdit(`${name}-compose`, { connection: args.connection, path: edit.write.path, edit: pulumi.output(edit) },
      { parent: this, dependsOn: opts?.dependsOn });

    const install: FleetingInstallArgs = { plugin: args.plugin, container: args.container, configVolume: args.configVolume, proxy: args.proxy };
    const cmd = new commandRes.remote.Command(`${name}-install`, {
      connection: args.connection,
      create: fleetingInstallScript(install),
      delete: fleetingRemoveScript(install),
      triggers: [sha256Hex(args.plugin), sha256Hex(dir.container)],
      addPreviousOutputInEnv: false,
    }, {
      ...childOptions(this, opts),
      dependsOn: [composeEdit],
      // A replacement's delete must not remove what its successor just installed.
      deleteBeforeReplace: true,
    });
    this.pluginPath = dir.container;
    this.result = cmd.stdout;
    this.registerOutputs({ pluginPath: this.pluginPath, result: this.result });
  }
}
