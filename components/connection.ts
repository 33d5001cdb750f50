// SSH connection inputs for remote.Command: the key stays a secret, the bastion (when set) is the
// jump host, and each peer's host key is pinned (@pulumi/command then offers only that key's type
// and refuses any other key). A missing key is the operator's explicit opt-out (settings/hostKey.ts).
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { BastionSettings, SshEndpoint } from "../settings/types";

export interface ConnectionInput {
  endpoint: pulumi.Input<SshEndpoint>;
  privateKey: pulumi.Input<string>;
  /** The peer's host key ("TYPE BASE64"); undefined only under ciServer.insecureSkipHostKeyCheck. */
  hostKey?: pulumi.Input<string>;
  bastion?: BastionSettings;
  /** Fresh instances refuse SSH for a while after boot: retry without limit (bounded by timeouts). */
  patient?: boolean;
}

export function sshConnection(c: ConnectionInput): command.types.input.remote.ConnectionArgs {
  const endpoint = pulumi.output(c.endpoint);
  const dialErrorLimit = c.patient ? -1 : 10;
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    privateKey: pulumi.secret(c.privateKey),
    ...(c.hostKey !== undefined && { hostKey: c.hostKey }),
    dialErrorLimit,
    proxy: c.bastion && {
      host: c.bastion.host,
      port: c.bastion.port,
      user: c.bastion.user,
      privateKey: pulumi.secret(c.privateKey),
      ...(c.bastion.hostKey !== undefined && { hostKey: c.bastion.hostKey }),
      dialErrorLimit,
    },
  };
}
