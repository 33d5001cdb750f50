// The Docker Autoscaler's fleeting plugin on the CI server (issue 10): where it is kept and how it
// is installed. Pure: explicit arguments in, a RemoteEdit or script text out.
//
// Facts this relies on (checked against GitLab's sources and docs):
//  - `gitlab-runner fleeting install` exists since runner 16.11 (MR !4690); before 17.0 it could
//    report a plugin as present when it was not (MR !4748, "Upgrade fleeting-artifact to fix plugin
//    installation", first in v17.0.0). https://docs.gitlab.com/runner/fleet_scaling/fleeting/
//  - It reads the config file given by -c (CONFIG_FILE), and for every [runners.autoscaler]
//    `plugin` skips it when installer.LookPath finds it (unless --upgrade), else downloads it;
//    any failure makes it exit 1 (commands/fleeting/fleeting.go). `fleeting list` prints
//    "runner: …, plugin: …, path: …" and exits 1 when a plugin is not installed.
//  - The reference is [<registry>/][<repository>/]<name>[:<constraint>], default registry
//    registry.gitlab.com and repository gitlab-org/fleeting/plugins, so `aws:1.0.0` is the OCI
//    artifact registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.0.0. Plugins go to
//    ~/.config/fleeting/plugins unless FLEETING_PLUGIN_PATH is set (fleeting docs). In the runner
//    image HOME is /root, which no Collaborage volume covers: a recreated container would lose
//    the plugin, hence FLEETING_PLUGIN_PATH on the persisted config volume.
import * as posixPath from "node:path/posix";
import type { RemoteEdit } from "../edits";
import { setComposeEnvironment } from "../compose/composeEnvironment";
import { STATE_DIR, type ComposeContext, type GracefulStop } from "../../remote/scripts";
import type { SnapshotWindowGuard } from "../../remote/snapshotWindow";
import { asRoot, checkName, shComment, shPath, shPathValue, shPreamble, type ScriptOptions } from "../../remote/shell";
import { shSections } from "../../remote/shFiles";

/** One directory as the host and the runner container see it (a bind mount). */
export interface VolumePath {
  readonly host: string;
  readonly container: string;
}

/** Where Collaborage's runner keeps config.toml, seen from the container (compose: /data/gitlab-runner/config:/etc/gitlab-runner). */
export const RUNNER_CONFIG_DIR_IN_CONTAINER = "/etc/gitlab-runner";
/** Subdirectory of the config volume that holds the plugins. */
export const FLEETING_PLUGIN_SUBDIR = "fleeting-plugins";
export const FLEETING_ENV = "FLEETING_PLUGIN_PATH";
/** The registry the default plugin references resolve to. */
export const PLUGIN_REGISTRY = "registry.gitlab.com";
/** Oldest runner whose `fleeting install` is trusted (see the header). */
export const MIN_RUNNER_FOR_INSTALL = { major: 17, minor: 0 } as const;

/** Exit codes of the install script; apart from core/remote/scripts.ts's EXIT (2–8). */
export const FLEETING_EXIT = {
  containerNotRunning: 21,
  pluginPathNotSet: 22,
  runnerTooOld: 23,
  downloadFailed: 24,
  usage: 2,
} as const;

// [registry[:port]/][repository/]name[:constraint]; constraint latest, 1, 1.5, 1.5.1 or a pre-release tag.
const PLUGIN_RE = /^(?:[a-z0-9][a-z0-9.-]*(?::[0-9]{1,5})?\/)?(?:[a-z0-9][a-z0-9._-]*\/)*[a-z0-9][a-z0-9._-]*(?::[A-Za-z0-9][A-Za-z0-9._-]{0,127})?$/;

/** A plugin reference as config.toml's `plugin` takes it; refused when it could not be one. */
export function checkPluginRef(ref: string): string {
  if (typeof ref !== "string" || !PLUGIN_RE.test(ref)) {
    throw new Error(`plugin reference must look like aws:1.0.0 or registry/repository/name:version: ${JSON.stringify(ref)}`);
  }
  return ref;
}

/** The OCI artifact a reference names, e.g. aws:1 -> registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1. */
export function pluginArtifact(ref: string): string {
  checkPluginRef(ref);
  const [path, constraint = "latest"] = splitTag(ref);
  const parts = path.split("/");
  const hasRegistry = parts.length > 1 && /[.:]/.test(parts[0]);
  const registry = hasRegistry ? parts[0] : PLUGIN_REGISTRY;
  const rest = hasRegistry ? parts.slice(1) : parts;
  const repo = rest.length > 1 ? rest.join("/") : `gitlab-org/fleeting/plugins/${rest[0]}`;
  return `${registry}/${repo}:${constraint}`;
}

function splitTag(ref: string): [string, string | undefined] {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
}

/** The plugin directory on the config volume: FLEETING_PLUGIN_PATH in the container, the host path for cleanup. */
export function pluginDir(configVolume: VolumePath): VolumePath {
  shPath(configVolume.host, "configVolume.host");
  shPath(configVolume.container, "configVolume.container");
  return {
    host: posixPath.join(configVolume.host, FLEETING_PLUGIN_SUBDIR),
    container: posixPath.join(configVolume.container, FLEETING_PLUGIN_SUBDIR),
  };
}

export interface FleetingComposeEditArgs {
  readonly compose: ComposeContext;
  /** The runner's compose service (Collaborage: gitlab-runner). */
  readonly service: string;
  /** FLEETING_PLUGIN_PATH as the container sees it. */
  readonly pluginPath: string;
  /** The recreate lets running jobs finish first (SIGQUIT, bounded), as every runner recreate does. */
  readonly gracefulStop?: GracefulStop;
  /** The snapshot-window check of the recreate (core/ciServer/edits.ts windowGuard). */
  readonly window?: SnapshotWindowGuard;
}

/** The runner service gets FLEETING_PLUGIN_PATH; the runner is recreated so that it has it. */
export function fleetingComposeEdit(a: FleetingComposeEditArgs): RemoteEdit {
  checkName(a.service, "service");
  shPath(a.pluginPath, "pluginPath");
  const file = posixPath.join(a.compose.appDir, "docker-compose.yml");
  const vars = { [FLEETING_ENV]: a.pluginPath };
  return {
    restoreOnDestroy: true,
    write: {
      key: "compose-fleeting",
      path: file,
      validate: { compose: a.compose },
      after: { kind: "compose-up", compose: a.compose, services: [a.service], ...(a.gracefulStop ? { gracefulStop: a.gracefulStop } : {}), ...(a.window ? { window: a.window } : {}) },
      summary: [`services.${a.service}.environment.${FLEETING_ENV} = ${a.pluginPath}`],
    },
    fingerprint: JSON.stringify([a.service, vars]),
    render(current) {
      if (current === null) throw new Error(`${file} does not exist on the CI server; check ciServer.appDir`);
      return setComposeEnvironment(current, { service: a.service, vars }).text;
    },
  };
}

export interface FleetingInstallArgs {
  /** config.toml's [runners.autoscaler] plugin, e.g. "aws:1.0.0" (pin a version: see README). */
  readonly plugin: string;
  /** The runner's container name (Collaborage: container_name gitlab-runner). */
  readonly container: string;
  /** The runner's config volume as host and container see it; the plugins go to its fleeting-plugins/. */
  readonly configVolume: VolumePath;
  /** The CI server uses a proxy: the container must have HTTPS_PROXY (from common.env). */
  readonly proxy: boolean;
}

function checkInstall(a: FleetingInstallArgs): VolumePath {
  checkPluginRef(a.plugin);
  checkName(a.container, "container");
  const dir = pluginDir(a.configVolume);
  for (const p of [a.configVolume.host, a.configVolume.container]) {
    if (posixPath.normalize(p) !== p || p.split("/").filter(Boolean).length < 2) {
      throw new Error(`configVolume paths must be normalised absolute paths at least two levels deep (a directory in them is removed on destroy): ${JSON.stringify(p)}`);
    }
  }
  return dir;
}

const stateDirOf = (opts: ScriptOptions) => posixPath.join(opts.stateDir ?? STATE_DIR, "fleeting-plugin");

export function fleetingInstallBody(a: FleetingInstallArgs, opts: ScriptOptions = {}): string {
  const dir = checkInstall(a);
  const hint = [
    `The plugin is the OCI artifact ${pluginArtifact(a.plugin)}.`,
    a.proxy
      ? `Allow HTTPS (CONNECT to port 443) through the proxy to ${PLUGIN_REGISTRY} and gitlab.com (the registry's token service), and keep them out of NO_PROXY in common.env.`
      : `The CI server needs HTTPS to ${PLUGIN_REGISTRY} and gitlab.com; if it must use a proxy, set proxy.* in the stack config.`,
    "Then run pulumi up again.",
  ].join(" ");
  return [
    "set -eu",
    ...shPreamble({
      c: a.container,
      plugin: a.plugin,
      want: shPathValue(dir.container),
      host_dir: shPathValue(dir.host),
      host_vol: shPathValue(a.configVolume.host),
      vol: shPathValue(a.configVolume.container),
      sd: shPathValue(stateDirOf(opts), "stateDir"),
      hint,
      min_major: MIN_RUNNER_FOR_INSTALL.major,
      min_minor: MIN_RUNNER_FOR_INSTALL.minor,
      expect_proxy: a.proxy ? 1 : 0,
    }),
    ...shSections("lib/die.sh", "lib/mask.sh", "lib/signal_traps.sh", "fleeting/install.sh"),
    "",
  ].join("\n");
}

/** Installs the plugin inside the runner container (idempotent); exit codes FLEETING_EXIT. */
export function fleetingInstallScript(a: FleetingInstallArgs, opts: ScriptOptions = {}): string {
  const body = fleetingInstallBody(a, opts);
  return [
    shComment(`gitlab-runner-autoscaling: fleeting plugin ${a.plugin} in container ${a.container}`),
    shComment(`${FLEETING_ENV} = ${pluginDir(a.configVolume).container} (host ${pluginDir(a.configVolume).host})`),
    asRoot(body, opts),
  ].join("\n");
}

export function fleetingRemoveBody(a: FleetingInstallArgs, opts: ScriptOptions = {}): string {
  const dir = checkInstall(a);
  return [
    "set -eu",
    ...shPreamble({ host_dir: shPathValue(dir.host), sd: shPathValue(stateDirOf(opts), "stateDir") }),
    ...shSections("fleeting/remove.sh"),
    "",
  ].join("\n");
}

/** The install's delete: removes the plugin directory if (and only if) the install created it. */
export function fleetingRemoveScript(a: FleetingInstallArgs, opts: ScriptOptions = {}): string {
  return [shComment(`gitlab-runner-autoscaling: remove fleeting plugins at ${pluginDir(a.configVolume).host}`), asRoot(fleetingRemoveBody(a, opts), opts)].join("\n");
}
