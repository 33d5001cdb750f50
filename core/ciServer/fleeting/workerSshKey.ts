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
import { asRoot, shComment, shPath, type ScriptOptions } from "../../remote/shell";

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
const DIE = `die() { code=$1; shift; printf "%s\\n" "$*" >&2; exit "$code"; }`;

export function workerKeyCreateBody(a: WorkerKeyArgs, opts: ScriptOptions = {}): string {
  const key = workerKeyPath(a.configVolume).host;
  return [
    "set -eu",
    DIE,
    `key=${shPath(key)}`,
    `dir=${shPath(posixPath.dirname(key))}`,
    `sd=${shPath(stateDirOf(opts), "stateDir")}`,
    "exec < /dev/null",
    "command -v ssh-keygen >/dev/null 2>&1 || die 2 'ssh-keygen is not installed on the CI server (package openssh on Amazon Linux, openssh-clients on CentOS).'",
    "[ ! -L \"$key\" ] || die 2 \"$key is a symbolic link; replace it by a key file or remove it.\"",
    "if [ ! -e \"$key\" ]; then",
    "  umask 077",
    "  created_dir=0",
    "  if [ ! -d \"$dir\" ]; then",
    "    mkdir -p \"$dir\"",
    "    created_dir=1",
    "  fi",
    "  tmp=",
    "  trap 'rm -f \"$tmp\" \"$tmp.pub\"' EXIT",
    "  trap 'exit 129' HUP",
    "  trap 'exit 130' INT",
    "  trap 'exit 143' TERM",
    // An unused name in a root-only directory; ssh-keygen would ask before overwriting a file.
    "  tmp=$(mktemp -u \"$dir/.gra-key.XXXXXX\")",
    `  ssh-keygen -q -t ed25519 -N '' -C '${WORKER_KEY_COMMENT}' -f "$tmp" > /dev/null`,
    "  chmod 0600 \"$tmp\"",
    "  chmod 0644 \"$tmp.pub\"",
    // The private key last: its presence is what says "the key exists".
    "  mv -f \"$tmp.pub\" \"$key.pub\"",
    "  mv -f \"$tmp\" \"$key\"",
    "  mkdir -p \"$sd\"",
    "  printf \"%s\\n\" \"$key\" > \"$sd/created-key\"",
    "  if [ \"$created_dir\" = 1 ]; then printf \"%s\\n\" \"$dir\" > \"$sd/created-dir\"; fi",
    "fi",
    "[ -f \"$key\" ] || die 2 \"$key is not a regular file.\"",
    // Derived from the private key each time, so a stale or edited .pub cannot be imported.
    "pub=$(ssh-keygen -y -f \"$key\" 2>/dev/null) || die 2 \"$key is not an unencrypted OpenSSH private key; move it away and run pulumi up again.\"",
    "printf \"%s\\n\" \"$pub\" | awk 'NR == 1 { print $1 \" \" $2 }'",
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
    `key=${shPath(key)}`,
    `dir=${shPath(posixPath.dirname(key))}`,
    `sd=${shPath(stateDirOf(opts), "stateDir")}`,
    "if [ ! -e \"$sd/created-key\" ] || [ \"$(cat \"$sd/created-key\")\" != \"$key\" ]; then",
    "  echo \"kept: $key (this stack did not create it)\"",
    "  exit 0",
    "fi",
    "rm -f \"$key\" \"$key.pub\"",
    "if [ -e \"$sd/created-dir\" ] && [ \"$(cat \"$sd/created-dir\")\" = \"$dir\" ]; then",
    "  rmdir \"$dir\" 2>/dev/null || echo \"kept: $dir (not empty)\"",
    "fi",
    "rm -f \"$sd/created-key\" \"$sd/created-dir\"",
    "rmdir \"$sd\" 2>/dev/null || true",
    "echo \"removed: $key\"",
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
