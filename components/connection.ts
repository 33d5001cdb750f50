// SSH connection inputs for remote.Command: the key stays a secret, the bastion (when set) is
// the jump host, and a missing host key is a choice the operator makes knowingly (see README).
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { SshEndpoint } from "../settings/types";

export interface ConnectionInput {
  endpoint: pulumi.Input<SshEndpoint>;
  privateKey: pulumi.Input<string>;
  hostKey?: string;
  bastion?: SshEndpoint;
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
    hostKey: c.hostKey,
    dialErrorLimit,
    proxy: c.bastion && {
      host: c.bastion.host,
      port: c.bastion.port,
      user: c.bastion.user,
      privateKey: pulumi.secret(c.privateKey),
      dialErrorLimit,
    },
  };
}
