// `npm run plan -- --from-server`: how the system `ssh` client is called. Pure: settings in, argv
// and the known_hosts files out. The host key is checked against the stack's setting only: a
// known_hosts of our own holding just that key, StrictHostKeyChecking=yes, the user's ssh config,
// known_hosts and control sockets ignored, no prompt (BatchMode), a bounded connect timeout.
import * as path from "node:path";
import type { Settings, SshEndpoint } from "../settings/types";

export const CONNECT_TIMEOUT_SECONDS = 15;

/** Aliases the known_hosts lines are filed under, so a port or a bastion does not change the line. */
export const CI_ALIAS = "gra-ci-server";
export const BASTION_ALIAS = "gra-bastion";

export interface SshPeer extends SshEndpoint {
  hostKey?: string;
}

export interface SshTarget extends SshPeer {
  bastion?: SshPeer;
  /** ciServer.insecureSkipHostKeyCheck: connect to a peer without a host key unchecked (warned). */
  insecure: boolean;
}

/** Whether ssh connects to `p` (the target or its bastion) unchecked: under the opt-out, and only when it has no key (a key that is set is checked, as pulumi up's connections do). */
export const unchecked = (t: SshTarget, p: SshPeer) => t.insecure && !p.hostKey;

/** The CI server and bastion the stack names, with their host keys and the opt-out. */
export function sshTargetOf(s: Pick<Settings, "ciServer">): SshTarget {
  const c = s.ciServer;
  const peer = (p: SshPeer): SshPeer => ({ host: p.host, port: p.port, user: p.user, ...(p.hostKey ? { hostKey: p.hostKey.trim() } : {}) });
  return { ...peer(c), ...(c.bastion ? { bastion: peer(c.bastion) } : {}), insecure: c.insecureSkipHostKeyCheck === true };
}

export interface SshInvocation {
  /** argv after "ssh". */
  args: string[];
  /** Files to write before running (known_hosts), path → content. */
  files: Record<string, string>;
}

/** A word for the shell ProxyCommand runs in, with ssh's own % escapes doubled. */
const proxyWord = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`.replace(/%/g, "%%");

function peerOptions(p: SshPeer, alias: string, dir: string, insecure: boolean, sshKey: string | undefined): { opts: string[]; files: Record<string, string> } {
  const knownHosts = path.join(dir, `known_hosts-${alias}`);
  const opts = [
    "-F", "/dev/null",
    "-o", "BatchMode=yes",
    "-o", `ConnectTimeout=${CONNECT_TIMEOUT_SECONDS}`,
    "-o", "ServerAliveInterval=10",
    "-o", "ServerAliveCountMax=3",
    "-o", "ControlMaster=no",
    "-o", "ControlPath=none",
    "-o", "ForwardAgent=no",
    "-o", "ForwardX11=no",
    "-o", "ClearAllForwardings=yes",
    "-o", "UpdateHostKeys=no",
    "-o", "LogLevel=ERROR",
    ...(insecure
      ? ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null"]
      : ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", `HostKeyAlias=${alias}`, "-o", "CheckHostIP=no"]),
    ...(sshKey ? ["-i", sshKey, "-o", "IdentitiesOnly=yes"] : []),
    "-p", String(p.port),
    "-l", p.user,
  ];
  // No key and no opt-out (validateSettings refuses that stack): an empty known_hosts, so ssh refuses the peer.
  return { opts, files: insecure ? {} : { [knownHosts]: p.hostKey ? `${alias} ${p.hostKey}\n` : "" } };
}

/**
 * `ssh <args>` runs `remoteCommand` on the CI server (through the bastion when set). `dir` is a
 * private temporary directory for the known_hosts files; `sshKey` a private key file, else the
 * agent (SSH_AUTH_SOCK) answers. A missing host key is refused by validateSettings (with the
 * ssh-keyscan and pulumi config set commands) unless ciServer.insecureSkipHostKeyCheck is true.
 */
export function sshInvocation(t: SshTarget, remoteCommand: string, o: { dir: string; sshKey?: string }): SshInvocation {
  const ci = peerOptions(t, CI_ALIAS, o.dir, unchecked(t, t), o.sshKey);
  let files = ci.files;
  const jump: string[] = [];
  if (t.bastion) {
    const b = peerOptions(t.bastion, BASTION_ALIAS, o.dir, unchecked(t, t.bastion), o.sshKey);
    files = { ...files, ...b.files };
    jump.push("-o", `ProxyCommand=${["ssh", ...b.opts, "-W", "%h:%p", t.bastion.host].map((w) => (w === "%h:%p" ? w : proxyWord(w))).join(" ")}`);
  }
  return { args: [...ci.opts, ...jump, "-T", t.host, "--", remoteCommand], files };
}
