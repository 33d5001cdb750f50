// Turns an offline run into what a reviewer reads: the resource tree with key properties and
// what each waits on, the new contents of every file the program puts on a machine, and diffs.
import * as path from "node:path";
import { createTwoFilesPatch } from "diff";
import { APT_PROXY_PATH, BUILDER_DOCKER_DROPIN_PATH } from "../core/proxy/proxyFiles";
import { maskCredentialsInText } from "../core/proxy/proxyFiles";
import { DAEMON_JSON_PATH } from "../core/workerImage/workerImage";
import { scriptBody, scriptHeader } from "../core/remote/shell";
import { MESSAGES, type Destroy, type Lang } from "./messages";
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
const FILE_EDIT = "gitlab-runner-autoscaling:ci:RemoteFileEdit";
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
function describe(r: RecordedResource, lang: Lang): string {
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
    case "aws:s3/bucket:Bucket":
      return `bucket ${r.state.bucket ?? i.bucket}; forceDestroy=${i.forceDestroy}: pulumi destroy deletes the cache with it`;
    case "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
      return `public access blocked: acls=${i.blockPublicAcls} policy=${i.blockPublicPolicy} ignoreAcls=${i.ignorePublicAcls} restrict=${i.restrictPublicBuckets}`;
    case "aws:s3/bucketOwnershipControls:BucketOwnershipControls":
      return `object ownership ${i.rule?.objectOwnership} (ACLs off)`;
    case "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
      return `default encryption ${i.rules?.map((x: any) => x.applyServerSideEncryptionByDefault?.sseAlgorithm).join(", ")}`;
    case "aws:s3/bucketVersioning:BucketVersioning":
      return `versioning ${i.versioningConfiguration?.status}`;
    case "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
      return (i.rules ?? []).map((x: any) => x.expiration ? `${x.id}: objects expire after ${x.expiration.days} days` : `${x.id}: incomplete uploads aborted after ${x.abortIncompleteMultipartUpload?.daysAfterInitiation} day(s)`).join("; ");
    case "aws:ec2/vpcEndpoint:VpcEndpoint":
      return `${i.vpcEndpointType} endpoint ${i.serviceName} in ${i.vpcId} on ${(i.routeTableIds ?? []).join(", ")}`;
    case COMMAND: {
      const target = targetOf(String(i.create ?? ""));
      if (r.name.endsWith("-read")) return MESSAGES[lang].readOf(target ?? "file");
      if (r.name.endsWith("-write")) return MESSAGES[lang].guardedWriteOf(String(target));
      return scriptHeader(String(i.create ?? ""))[0] ?? bodyOf(String(i.create ?? "")).split("\n").find((l) => !/^(set |$)/.test(l))?.slice(0, 80) ?? "";
    }
    default:
      return "";
  }
}

function tree(resources: RecordedResource[], lang: Lang): string[] {
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
      const what = describe(r, lang);
      lines.push(`${pad}+ ${r.name}  (${r.type})${what ? `\n${pad}    ${what}` : ""}`);
      if (r.dependsOn.length) lines.push(`${pad}    ${MESSAGES[lang].waitsOn} ${r.dependsOn.map((d) => d.split("::")[1]).join(", ")}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}

export interface GuardedWriteView {
  /** The RemoteFileEdit it belongs to (gitlab-upgrade, ci-server-config-toml, …). */
  edit: string;
  /** Its state key: the directory under /var/lib/gitlab-runner-autoscaling/ its marker and backups go to. */
  key: string;
  path: string;
  content: string;
  summary: string[];
  destroy: Omit<Destroy, "action"> & { action: "restore" | "keep" };
}

/** What a guarded write's delete does, read from the delete script the program gave it. */
function destroyOf(deleteScript: string): GuardedWriteView["destroy"] {
  if (!/^# gitlab-runner-autoscaling: restore /.test(deleteScript)) return { action: "keep", recreates: [], restartsDocker: false };
  const body = bodyOf(deleteScript);
  // A compose-up after-action gets its services in the script's preamble (core/remote/afterActions.ts).
  const services = /^services='([^']*)'$/m.exec(body)?.[1].split(" ").filter(Boolean) ?? [];
  return { action: "restore", recreates: services, restartsDocker: /systemctl restart docker/.test(body) };
}

/**
 * Every guarded write of the stack, whatever its component (the GitLab upgrade is not under
 * CiServer), in creation order: the order the offline engine ran them, each after the one it waits on.
 */
export function guardedWrites(resources: RecordedResource[]): GuardedWriteView[] {
  return resources
    .filter((r) => r.type === COMMAND && r.name.endsWith("-write") && r.parent?.startsWith(`${FILE_EDIT}::`))
    .map((r) => {
      const i = plain(r);
      const stdin = String(i.stdin ?? "");
      // The title core/remote/scripts.ts's guardedWriteScript gives it: "… guarded write of PATH (state KEY)".
      const key = / guarded write of \S+ \(state ([a-z0-9-]+)\)$/.exec(scriptHeader(String(i.create))[0] ?? "")?.[1];
      if (!key) throw new Error(`${r.name}: no guarded-write header`);
      return {
        edit: r.parent!.slice(FILE_EDIT.length + 2),
        key,
        path: targetOf(String(i.create)) ?? r.name,
        // stdin: the state line, then the new content.
        content: stdin.slice(stdin.indexOf("\n") + 1),
        // The header is the write's title, then its managed values.
        summary: scriptHeader(String(i.create)).slice(1),
        destroy: destroyOf(String(i.delete ?? "")),
      };
    });
}

const localName = (p: string) => (p.includes("/docker.service.d/") ? `docker.service.d/${path.posix.basename(p)}` : path.posix.basename(p));

export function buildPlan(run: OfflineRun, serverFiles: Record<string, string | null>, stack: string, lang: Lang = "en"): Plan {
  const m = MESSAGES[lang];
  const { resources } = run.engine;
  const files: Record<string, string> = {};
  const text: string[] = [
    m.planTitle(stack),
    "",
    m.resources(resources.length - 1),
    ...tree(resources, lang),
    "",
    m.filesOnCiServer,
  ];

  // Grouped by file: two edits of one file (the upgrade, then the proxy's env_file) are listed
  // together, the last one's content is the file after `pulumi up`, and the diff is against the
  // server's original.
  const byPath = new Map<string, GuardedWriteView[]>();
  for (const w of guardedWrites(resources)) byPath.set(w.path, [...(byPath.get(w.path) ?? []), w]);
  for (const [p, writes] of byPath) {
    text.push(`  ${p}`);
    writes.forEach((w, n) => {
      // Only the first edit of a file that did not exist can remove it; a later one puts back the earlier one's.
      const destroy: Destroy = w.destroy.action === "restore" && n === 0 && serverFiles[p] === null ? { ...w.destroy, action: "remove" } : w.destroy;
      text.push(`    ${w.edit}:`, ...w.summary.map((s) => `      ${s}`), `      ${m.onDestroy(destroy)}`);
    });
  }
  for (const [p, writes] of byPath) {
    const content = writes[writes.length - 1].content;
    const before = serverFiles[p] ?? "";
    files[`files/ci-server/${localName(p)}`] = content;
    const patch = createTwoFilesPatch(`a${p}`, `b${p}`, before, content, "current", "after pulumi up");
    files[`diffs/${localName(p).replace("/", "_")}.diff`] = patch;
    const added = patch.split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++")).length;
    const removed = patch.split("\n").filter((l) => l.startsWith("-") && !l.startsWith("---")).length;
    text.push(`  ${p}: ${added === 0 && removed === 0 ? m.unchanged : m.lineCounts(added, removed)}`);
  }

  for (const r of resources.filter((x) => x.type === COMMAND && x.parent?.startsWith("gitlab-runner-autoscaling:ami:ProxyAmi::"))) {
    const step = r.name.slice(r.name.indexOf("-", "worker-ami".length) + 1);
    const i = plain(r);
    files[`files/ami/scripts/${step}.sh`] = String(i.create);
    if (BUILDER_FILES[step]) files[`files/ami/${step}.txt`] = `# ${BUILDER_FILES[step]}\n${i.stdin}`;
  }

  // Every remote command's exact create and delete script, named after its resource, and for a
  // script wrapped in `sh -c '...'` its body unwrapped: what runs as root, readable as shell.
  for (const r of resources.filter((x) => x.type === COMMAND)) {
    const i = revealPublic(r.inputs) as Record<string, unknown>;
    for (const phase of ["create", "delete"] as const) {
      if (typeof i[phase] !== "string") continue;
      const script = i[phase] as string;
      files[`scripts/${r.name}.${phase}.sh`] = script;
      const body = scriptBody(script);
      if (body !== undefined) files[`scripts/${r.name}.${phase}.body.sh`] = body;
    }
  }

  const policy = resources.find((r) => r.type === "aws:iam/userPolicy:UserPolicy" || r.type === "aws:iam/rolePolicy:RolePolicy");
  if (policy) files["files/iam/runner-policy.json"] = String(plain(policy).policy);

  const outputs = revealPublic(run.outputs) as Record<string, unknown>;
  text.push("", m.outputs, ...Object.entries(outputs).map(([k, v]) => `  ${k}: ${typeof v === "string" ? v.replace(/\n/g, "\n    ") : JSON.stringify(v)}`));

  const planResources: PlanResource[] = resources.map((r) => ({
    type: r.type,
    name: r.name,
    parent: r.parent,
    dependsOn: r.dependsOn,
    inputs: revealPublic(r.inputs),
  }));
  files["plan.json"] = JSON.stringify({ resources: planResources }, null, 2) + "\n";
  // A last guard: no line of the plan shows a URL's password, whatever produced it.
  files["plan.txt"] = maskCredentialsInText(text.join("\n") + "\n");
  return { resources: planResources, files, text: files["plan.txt"] };
}
