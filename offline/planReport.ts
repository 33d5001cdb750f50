// Turns an offline run into what a reviewer reads: the resource tree with key properties and
// what each waits on, the new contents of every file the program puts on a machine, and diffs.
import * as path from "node:path";
import { createTwoFilesPatch } from "diff";
import { APT_PROXY_PATH, BUILDER_DOCKER_DROPIN_PATH } from "../core/proxyFiles";
import { DAEMON_JSON_PATH } from "../core/workerImage";
import { scriptBody, scriptHeader } from "../core/shell";
import { revealPublic, unwrapSecrets, type RecordedResource } from "./mockEngine";
import type { OfflineRun } from "./runOffline";

export interface PlanResource {
  type: string;
  name: string;
  parent?: string;
  dependsOn: string[];
  inputs: unknown;
}

export interface Plan {
  resources: PlanResource[];
  /** Relative path under the output dir → content. */
  files: Record<string, string>;
  text: string;
}

const COMMAND = "command:remote:Command";
/** Where each builder step's stdin lands on the image (the docker step's stdin is only proxy env). */
const BUILDER_FILES: Record<string, string> = {
  "apt-proxy": APT_PROXY_PATH,
  "profile-proxy": "/home/ubuntu/.profile (block between the gitlab-runner-autoscaling markers)",
  "docker-proxy": BUILDER_DOCKER_DROPIN_PATH,
  "daemon-json": DAEMON_JSON_PATH,
};

const plain = (r: RecordedResource) => unwrapSecrets(r.inputs) as Record<string, any>;
const bodyOf = (script: string) => scriptBody(script) ?? script;
const targetOf = (script: string) => /^target='([^']*)'$/m.exec(bodyOf(script))?.[1];

/** What a reviewer wants to see of each resource, on one line. */
function describe(r: RecordedResource): string {
  const i = revealPublic(r.inputs) as Record<string, any>;
  switch (r.type) {
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
      return `${i.ipProtocol}/${i.fromPort} into ${i.securityGroupId} from ${i.referencedSecurityGroupId ?? i.cidrIpv4}`;
    case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
      return `${i.ipProtocol === "-1" ? "all" : i.ipProtocol} out of ${i.securityGroupId} to ${i.cidrIpv4}`;
    case "aws:ec2/instance:Instance":
      return `${i.instanceType} from ${i.ami} in ${i.subnetId}; IMDSv2 ${i.metadataOptions?.httpTokens}, root volume encrypted=${i.rootBlockDevice?.encrypted}`;
    case "aws:ec2/amiFromInstance:AmiFromInstance":
      return `image ${i.name}`;
    case "aws:ec2/launchTemplate:LaunchTemplate": {
      const nic = i.networkInterfaces?.[0] ?? {};
      const root = i.blockDeviceMappings?.[0]?.ebs ?? {};
      return `${i.instanceType} from ${i.imageId}; groups ${(nic.securityGroups ?? []).join(",")}, public IP ${nic.associatePublicIpAddress === "false" ? "never" : "subnet default"}; ` +
        `IMDSv2 ${i.metadataOptions?.httpTokens} (hop limit ${i.metadataOptions?.httpPutResponseHopLimit}); root ${root.volumeType} encrypted=${root.encrypted}` +
        `${i.iamInstanceProfile?.name ? `; profile ${i.iamInstanceProfile.name}` : ""}${i.keyName ? `; key pair ${i.keyName}` : ""}`;
    }
    case "aws:autoscaling/group:Group":
      return `min ${i.minSize} / desired ${i.desiredCapacity} (the plugin's from then on) / max ${i.maxSize} in ${(i.vpcZoneIdentifiers ?? []).join(",")}; ` +
        `suspended ${(i.suspendedProcesses ?? []).join(",")}; scale-in protection ${i.protectFromScaleIn}; capacity rebalance ${i.capacityRebalance}; ` +
        `force delete ${i.forceDelete}; ${i.mixedInstancesPolicy ? `spot (${i.mixedInstancesPolicy.instancesDistribution?.spotAllocationStrategy})` : "on-demand"}`;
    case "aws:ec2transitgateway/instanceState:InstanceState":
      return `builder ${i.state}`;
    case "aws:iam/userPolicy:UserPolicy":
    case "aws:iam/rolePolicy:RolePolicy":
      return `${JSON.parse(i.policy).Statement.flatMap((s: any) => s.Action).length} actions${i.role ? ` on role ${i.role}` : ""}`;
    case COMMAND: {
      const target = targetOf(String(i.create ?? ""));
      if (r.name.endsWith("-read")) return `read ${target ?? "file"}`;
      if (r.name.endsWith("-write")) return `guarded write of ${target}`;
      return scriptHeader(String(i.create ?? ""))[0] ?? bodyOf(String(i.create ?? "")).split("\n").find((l) => !/^(set |$)/.test(l))?.slice(0, 80) ?? "";
    }
    default:
      return "";
  }
}

function tree(resources: RecordedResource[]): string[] {
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of resources) {
    if (r.type === "pulumi:pulumi:Stack") continue;
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      const pad = "  ".repeat(depth + 1);
      const what = describe(r);
      lines.push(`${pad}+ ${r.name}  (${r.type})${what ? `\n${pad}    ${what}` : ""}`);
      if (r.dependsOn.length) lines.push(`${pad}    waits on: ${r.dependsOn.map((d) => d.split("::")[1]).join(", ")}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}

/** Files written to the CI server, in write order; later writes of one path win. */
function ciServerWrites(resources: RecordedResource[]): { path: string; content: string; summary: string[] }[] {
  return resources
    .filter((r) => r.type === COMMAND && r.name.startsWith("ci-server-") && r.name.endsWith("-write"))
    .map((r) => {
      const i = plain(r);
      const stdin = String(i.stdin ?? "");
      // The header is the write's title, then its managed values.
      return { path: targetOf(String(i.create)) ?? r.name, content: stdin.slice(stdin.indexOf("\n") + 1), summary: scriptHeader(String(i.create)).slice(1) };
    });
}

const localName = (p: string) => (p.includes("/docker.service.d/") ? `docker.service.d/${path.posix.basename(p)}` : path.posix.basename(p));

export function buildPlan(run: OfflineRun, serverFiles: Record<string, string | null>, stack: string): Plan {
  const { resources } = run.engine;
  const files: Record<string, string> = {};
  const text: string[] = [
    `Plan for stack "${stack}" — offline: no AWS, no SSH, no Pulumi CLI; secrets are placeholders shown as [secret].`,
    "",
    `Resources (${resources.length - 1}):`,
    ...tree(resources),
    "",
    "Files on the CI server:",
  ];

  const finals = new Map<string, string>();
  for (const w of ciServerWrites(resources)) {
    finals.set(w.path, w.content);
    text.push(`  ${w.path}`, ...w.summary.map((s) => `      ${s}`));
  }
  for (const [p, content] of finals) {
    const before = serverFiles[p] ?? "";
    files[`files/ci-server/${localName(p)}`] = content;
    const patch = createTwoFilesPatch(`a${p}`, `b${p}`, before, content, "current", "after pulumi up");
    files[`diffs/${localName(p).replace("/", "_")}.diff`] = patch;
    const added = patch.split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++")).length;
    const removed = patch.split("\n").filter((l) => l.startsWith("-") && !l.startsWith("---")).length;
    text.push(`  ${p}: ${added === 0 && removed === 0 ? "unchanged" : `+${added} -${removed} lines`}`);
  }

  for (const r of resources.filter((x) => x.type === COMMAND && x.parent?.startsWith("gitlab-runner-autoscaling:ami:ProxyAmi::"))) {
    const step = r.name.slice(r.name.indexOf("-", "worker-ami".length) + 1);
    const i = plain(r);
    files[`files/ami/scripts/${step}.sh`] = String(i.create);
    if (BUILDER_FILES[step]) files[`files/ami/${step}.txt`] = `# ${BUILDER_FILES[step]}\n${i.stdin}`;
  }

  const policy = resources.find((r) => r.type === "aws:iam/userPolicy:UserPolicy" || r.type === "aws:iam/rolePolicy:RolePolicy");
  if (policy) files["files/iam/runner-policy.json"] = String(plain(policy).policy);

  const outputs = revealPublic(run.outputs) as Record<string, unknown>;
  text.push("", "Outputs:", ...Object.entries(outputs).map(([k, v]) => `  ${k}: ${typeof v === "string" ? v.replace(/\n/g, "\n    ") : JSON.stringify(v)}`));

  const planResources: PlanResource[] = resources.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent,
    dependsOn: r.dependsOn,
    inputs: revealPublic(r.inputs),
  }));
  files["plan.json"] = JSON.stringify({ resources: planResources }, null, 2) + "\n";
  files["plan.txt"] = text.join("\n") + "\n";
  return { resources: planResources, files, text: files["plan.txt"] };
}
