// The SSH key the runner uses to reach Docker Autoscaler workers (issue 10). It is generated on
// the CI server, in the runner's persisted config volume, and only its public half leaves the
// server (into an EC2 key pair): the private key never enters Pulumi's state, plan or logs.
// config.toml then says [runners.autoscaler.connector_config] use_static_credentials = true and
// key_path = the key as the runner container sees it (key_path is read by the runner process,
// which runs in the container). Without static credentials the AWS plugin pushes a key through
// EC2 Instance Connect's public endpoint, which a proxy-only network often cannot reach.
import * as posixPath from "node:path/posix";
import type { VolumePath } from "./fleetingPlugin";
import { STATE_DIR } from "../../remote/scripts";
import { asRoot, shComment, shPath, shPathValue, shPreamble, type ScriptOptions } from "../../remote/shell";
import { shSections } from "../../remote/shFiles";

export const WORKER_KEY_SUBDIR = "ssh";
export const WORKER_KEY_FILE = "id_ed25519";
export const WORKER_KEY_COMMENT = "gitlab-runner-autoscaling worker";

export interface WorkerKeyArgs {
  /** The runner's config volume as host and container see it; the key goes to its ssh/. */
  readonly configVolume: VolumePath;
}

/** The private key file, as host and container see it; `container` is config.toml's key_path. */
export function workerKeyPath(configVolume: VolumePath): VolumePath {
  for (const [what, p] of [["configVolume.host", configVolume.host], ["configVolume.container", configVolume.container]] as const) {
    shPath(p, what);
    if (posixPath.normalize(p) !== p || p.split("/").filter(Boolean).length < 2) {
      throw new Error(`${what} must be a normalised absolute path at least two levels deep: ${JSON.stringify(p)}`);
    }
  }
  return {
    host: posixPath.join(configVolume.host, WORKER_KEY_SUBDIR, WORKER_KEY_FILE),
    container: posixPath.join(configVolume.container, WORKER_KEY_SUBDIR, WORKER_KEY_FILE),
  };
}

const stateDirOf = (opts: ScriptOptions) => posixPath.join(opts.stateDir ?? STATE_DIR, "worker-ssh-key");
export function workerKeyCreateBody(a: WorkerKeyArgs, opts: ScriptOptions = {}): string {
  const key = workerKeyPath(a.configVolume).host;
  return [
    "set -eu",
    ...shPreamble({ key, dir: posixPath.dirname(key), sd: shPathValue(stateDirOf(opts), "stateDir"), comment: WORKER_KEY_COMMENT }),
    ...shSections("lib/die.sh", "lib/signal_traps.sh", "fleeting/worker-key-create.sh"),
    "",
  ].join("\n");
}

/** Generates the key if absent; prints only the public key ("ssh-ed25519 AAAA…"). */
export function workerKeyCreateScript(a: WorkerKeyArgs, opts: ScriptOptions = {}): string {
  return [shComment(`gitlab-runner-autoscaling: worker SSH key ${workerKeyPath(a.configVolume).host} (public half only)`), asRoot(workerKeyCreateBody(a, opts), opts)].join("\n");
}

export function workerKeyDeleteBody(a: WorkerKeyArgs, opts: ScriptOptions = {}): string {
  const key = workerKeyPath(a.configVolume).host;
  return [
    "set -eu",
    ...shPreamble({ key, dir: posixPath.dirname(key), sd: shPathValue(stateDirOf(opts), "stateDir") }),
    ...shSections("fleeting/worker-key-delete.sh"),
    "",
  ].join("\n");
}

/** The delete: removes the key files only when this stack generated them (marker). */
export function workerKeyDeleteScript(a: WorkerKeyArgs, opts: ScriptOptions = {}): string {
  return [shComment(`gitlab-runner-autoscaling: remove worker SSH key ${workerKeyPath(a.configVolume).host}`), asRoot(workerKeyDeleteBody(a, opts), opts)].join("\n");
}

const PUBLIC_KEY_RE = /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$/;

/** The create's stdout, checked to be exactly one Ed25519 public key (and so no private material). */
export function parseWorkerPublicKey(stdout: string): string {
  const line = stdout.replace(/\r?\n$/, "");
  if (!PUBLIC_KEY_RE.test(line)) {
    const shown = line.includes("PRIVATE KEY") ? "(private key material, not shown)" : JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line);
    throw new Error(`the worker key command printed ${shown}, expected one line "ssh-ed25519 AAAA…". Check that the remote login shell prints nothing itself.`);
  }
  return line;
}
