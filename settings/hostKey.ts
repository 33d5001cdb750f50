// SSH host keys of the peers the program connects to (the CI server and its bastion): their form,
// and the commands that get and store one. The builder's key is not configured: see core/workerImage/builderHostKey.ts.
import type { SshEndpoint } from "./types";

const KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

/**
 * "TYPE BASE64 [comment]" (authorized_keys form, what @pulumi/command's hostKey parses), whose
 * blob really is a key of that type: a pasted ssh-keyscan line (host first) or a cut key fails.
 */
export function isHostKey(s: string): boolean {
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: [^\n]*)?$/.exec(s.trim());
  if (!m || !KEY_TYPES.includes(m[1])) return false;
  const blob = Buffer.from(m[2], "base64");
  if (blob.length < 4) return false;
  const n = blob.readUInt32BE(0);
  return 4 + n <= blob.length && blob.subarray(4, 4 + n).toString("latin1") === m[1] && (m[1] !== "ssh-ed25519" || blob.length === 4 + n + 4 + 32);
}

/** The key's "TYPE BASE64", without a comment: what the connection is given. */
export const hostKeyOf = (s: string) => s.trim().split(/\s+/).slice(0, 2).join(" ");

const portFlag = (port: number) => (port === 22 ? "" : ` -p ${port}`);

/** The ssh-keyscan that prints a peer's Ed25519 key; run on the bastion when the peer is behind one. */
export function keyscanCommand(peer: SshEndpoint, via?: SshEndpoint): string {
  const scan = `ssh-keyscan -t ed25519${portFlag(peer.port)} ${peer.host}`;
  return via ? `ssh${portFlag(via.port)} ${via.user}@${via.host} ${scan}` : scan;
}

/** What a missing key's problem says: how to get the key, check it and store it, or opt out. */
export function missingHostKeyHelp(o: { key: string; what: string; peer: SshEndpoint; via?: SshEndpoint }): string {
  return `${o.what}'s SSH host key in authorized_keys form (ssh-ed25519 AAAA…), required so that nothing is sent to an impostor: ` +
    `get it with \`${keyscanCommand(o.peer, o.via)}\` from a network you trust and compare its fingerprint (\`ssh-keygen -lf FILE\`) with ` +
    "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the server's console; " +
    `store the key (the line without the host name) with \`pulumi config set --path ${o.key} 'ssh-ed25519 AAAA…'\`; ` +
    "or connect unverified, knowingly, with `pulumi config set --path ciServer.insecureSkipHostKeyCheck true`";
}

/** What a malformed key's problem says. */
export function badHostKeyHelp(o: { key: string; peer: SshEndpoint; via?: SshEndpoint }): string {
  return `a host key in authorized_keys form, e.g. ssh-ed25519 AAAA… (the line \`${keyscanCommand(o.peer, o.via)}\` prints, without the host name before it)`;
}

/**
 * The warning on every preview and plan of a stack that opted out: which peers are not verified,
 * and how to pin them.
 */
export function insecureHostKeyWarning(o: { ci: SshEndpoint & { hostKey?: string }; bastion?: SshEndpoint & { hostKey?: string } }): string {
  const unverified = [
    ...(o.bastion && !o.bastion.hostKey ? [{ key: "ciServer.bastion.hostKey", what: `the bastion ${o.bastion.host}`, cmd: keyscanCommand(o.bastion) }] : []),
    ...(!o.ci.hostKey ? [{ key: "ciServer.hostKey", what: `the CI server ${o.ci.host}`, cmd: keyscanCommand(o.ci, o.bastion) }] : []),
  ];
  if (unverified.length === 0) {
    return "ciServer.insecureSkipHostKeyCheck is true, but every host key is set and checked: it has no effect. " +
      "Remove it with `pulumi config rm --path ciServer.insecureSkipHostKeyCheck`.";
  }
  return `ciServer.insecureSkipHostKeyCheck is true: SSH does not verify ${unverified.map((u) => u.what).join(" nor ")}, ` +
    "so the login key, the proxy credentials and the runner's access key go to whatever answers there. " +
    `Pin ${unverified.length > 1 ? "them" : "it"}: ${unverified.map((u) => `\`${u.cmd}\`, then \`pulumi config set --path ${u.key} 'ssh-ed25519 AAAA…'\``).join("; ")}; ` +
    "then `pulumi config rm --path ciServer.insecureSkipHostKeyCheck`.";
}
