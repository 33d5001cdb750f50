// The NO_PROXY list for the runner, dockerd and the worker VMs. Go (runner >= 12.6, docker-machine,
// Docker >= 19.03) honours CIDR blocks here, so the workers' subnet can be one entry.
import { isNoProxyEntry } from "../validators";

export interface NoProxyInput {
  ciHost: string;
  workerSubnetCidr?: string;
  /** Credentials come from an instance role: IMDS (link-local) must bypass the proxy. */
  instanceRole: boolean;
  /** S3 host names of the build cache (s3NoProxyHosts): cache transfers bypass the proxy. */
  cacheHosts?: string[];
  extra: string[];
}

export function noProxyList(input: NoProxyInput): string[] {
  const entries = [
    "localhost",
    "127.0.0.1",
    input.ciHost,
    ...(input.workerSubnetCidr ? [input.workerSubnetCidr] : []),
    ...(input.instanceRole ? ["169.254.169.254"] : []),
    ...(input.cacheHosts ?? []),
    ...input.extra,
  ];
  const bad = entries.filter((e) => !isNoProxyEntry(e));
  if (bad.length) throw new Error(`invalid NO_PROXY entries: ${bad.join(", ")}`);
  return [...new Set(entries)];
}

export const noProxyValue = (input: NoProxyInput) => noProxyList(input).join(",");
