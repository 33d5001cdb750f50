// [runners.machine] MachineOptions for the amazonec2 driver of GitLab's docker-machine fork.
// Each entry becomes `--<entry>` on `docker-machine create`; an unknown flag makes every create fail,
// so the list is checked against the fork's flag set (test: fixtures amazonec2-options.json).
import type { Settings } from "../../../settings/types";
import { maskUrlCredentials } from "../../proxy/proxyFiles";
import { WORKER_STACK_TAG } from "../workers/workerCleanup";

export interface MachineOptionsInput {
  settings: Pick<Settings, "region" | "workers" | "runner" | "proxy" | "ciServer">;
  amiId: string;
  /** docker-machine looks the group up by NAME within the VPC, not by id. */
  securityGroupName: string;
  /** Only in accessKey mode. */
  accessKey?: { id: string; secret: string };
  /** NO_PROXY for dockerd on the workers, when a proxy is set. */
  noProxy?: string;
  /** Proxy URLs as the workers' dockerd must see them (may carry credentials: treat as secret). */
  proxyUrls?: { http: string; https: string };
  /** The Pulumi stack: tagged on every worker (WORKER_STACK_TAG) so one AWS query lists them. */
  stack?: string;
}

/** Flags of the GitLab fork (v0.16.2-gitlab.21..23) that this program may emit. */
export const KNOWN_FLAGS: Record<string, "string" | "bool" | "int" | "repeatable"> = {
  "amazonec2-access-key": "string",
  "amazonec2-secret-key": "string",
  "amazonec2-ami": "string",
  "amazonec2-instance-type": "string",
  "amazonec2-region": "string",
  "amazonec2-zone": "string",
  "amazonec2-vpc-id": "string",
  "amazonec2-subnet-id": "string",
  "amazonec2-private-address-only": "bool",
  "amazonec2-use-private-address": "bool",
  "amazonec2-tags": "string",
  "amazonec2-security-group": "repeatable",
  "amazonec2-security-group-readonly": "bool",
  "amazonec2-iam-instance-profile": "string",
  "amazonec2-request-spot-instance": "bool",
  "amazonec2-root-size": "int",
  "amazonec2-ssh-user": "string",
  "amazonec2-metadata-token": "string",
  "amazonec2-metadata-token-response-hop-limit": "int",
  "engine-insecure-registry": "repeatable",
  "engine-env": "repeatable",
};

/** Port of Nexus's docker-hosted repository on the CI server (HTTP connector). */
export const NEXUS_DOCKER_PORT = 19081;

export function tagsOption(tags: Record<string, string>): string {
  return Object.entries(tags).flat().join(",");
}

export function machineOptions(input: MachineOptionsInput): string[] {
  const { settings: s, amiId, securityGroupName, accessKey, noProxy, proxyUrls } = input;
  const w = s.workers;
  const opts: string[] = [];
  if (s.runner.credentials === "accessKey") {
    if (!accessKey) throw new Error("accessKey mode needs the access key");
    opts.push(`amazonec2-access-key=${accessKey.id}`, `amazonec2-secret-key=${accessKey.secret}`);
  }
  opts.push(
    `amazonec2-ami=${amiId}`,
    `amazonec2-instance-type=${w.instanceType}`,
    `amazonec2-region=${s.region}`,
    `amazonec2-zone=${w.zone}`,
    `amazonec2-vpc-id=${w.vpcId}`,
    `amazonec2-subnet-id=${w.subnetId}`,
  );
  if (w.privateAddressOnly) opts.push("amazonec2-private-address-only=true");
  // The manager reaches workers on their private address in every Collaborage layout.
  opts.push("amazonec2-use-private-address=true");
  const tags = input.stack === undefined ? w.tags : { ...w.tags, [WORKER_STACK_TAG]: input.stack };
  if (Object.keys(tags).length) opts.push(`amazonec2-tags=${tagsOption(tags)}`);
  opts.push(`amazonec2-security-group=${securityGroupName}`);
  if (w.iamInstanceProfile) opts.push(`amazonec2-iam-instance-profile=${w.iamInstanceProfile}`);
  // Without readonly, docker-machine opens 22 and 2376 to 0.0.0.0/0 on the group.
  opts.push("amazonec2-security-group-readonly=true");
  if (w.spot) opts.push("amazonec2-request-spot-instance=true");
  opts.push(`engine-insecure-registry=${s.ciServer.host}:${NEXUS_DOCKER_PORT}`);
  // Beyond the runbook: IMDSv2 only; containers need a second hop to reach the instance role.
  if (w.imdsV2) {
    opts.push("amazonec2-metadata-token=required");
    if (w.iamInstanceProfile) opts.push("amazonec2-metadata-token-response-hop-limit=2");
  }
  if (w.rootSize !== undefined) opts.push(`amazonec2-root-size=${w.rootSize}`);
  // docker-machine writes its own docker.service drop-in whose empty Environment= wipes the proxy
  // baked into the AMI; engine-env puts it back.
  if (proxyUrls) {
    opts.push(`engine-env=HTTP_PROXY=${proxyUrls.http}`, `engine-env=HTTPS_PROXY=${proxyUrls.https}`);
    if (noProxy) opts.push(`engine-env=NO_PROXY=${noProxy}`);
  }
  const problems = machineOptionProblems(opts);
  if (problems.length) throw new Error(`invalid MachineOptions:\n- ${problems.join("\n- ")}`);
  return opts;
}

/** Entries with the secret key masked, for previews and plans. */
export function maskMachineOptions(opts: string[]): string[] {
  return opts.map((o) => {
    if (o.startsWith("amazonec2-secret-key=")) return "amazonec2-secret-key=[secret]";
    const proxy = /^(engine-env=HTTPS?_PROXY=)(.*)$/.exec(o);
    return proxy ? proxy[1] + maskUrlCredentials(proxy[2]) : o;
  });
}

/** Checks each entry's flag name and value form; the driver would fail at create time otherwise. */
export function machineOptionProblems(opts: string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const opt of opts) {
    const eq = opt.indexOf("=");
    const name = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    const kind = KNOWN_FLAGS[name];
    if (!kind) {
      problems.push(`${name}: not a flag of docker-machine's amazonec2 driver`);
      continue;
    }
    if (kind !== "repeatable" && seen.has(name)) problems.push(`${name}: given twice`);
    seen.add(name);
    if (kind === "bool" && value !== undefined && value !== "true" && value !== "false") problems.push(`${name}=${value}: expected true or false`);
    if (kind === "int" && !/^\d+$/.test(value ?? "")) problems.push(`${name}=${value}: expected a whole number`);
    if (kind !== "bool" && !value) problems.push(`${name}: needs a value`);
  }
  const get = (n: string) => opts.find((o) => o.startsWith(`${n}=`))?.slice(n.length + 1);
  const zone = get("amazonec2-zone");
  if (zone !== undefined && !/^[a-z]$/.test(zone)) problems.push(`amazonec2-zone=${zone}: expected the zone letter (e.g. a), not a region or AZ name`);
  for (const sg of opts.filter((o) => o.startsWith("amazonec2-security-group="))) {
    if (/=sg-/.test(sg)) problems.push(`${sg}: docker-machine needs the group NAME, not its id`);
  }
  const tags = get("amazonec2-tags");
  if (tags !== undefined && tags.split(",").length % 2 !== 0) problems.push(`amazonec2-tags=${tags}: expected key,value pairs`);
  if (!opts.includes("amazonec2-security-group-readonly=true")) problems.push("amazonec2-security-group-readonly=true is missing: docker-machine would open 22 and 2376 to the world");
  return problems;
}
