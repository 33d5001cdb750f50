// An in-process stand-in for the Pulumi engine and the AWS/command providers, so the real program
// can run with no CLI, no cloud and no server: for `npm run plan`, the benchmark and the tests.
// The CI server's files are answered where the remote reads would return them.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { readResultLine } from "../core/remote/readResult";

export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  /** `type::name` of the parent, undefined for the stack's direct children. */
  parent?: string;
  /** URNs of explicit dependsOn. */
  dependsOn: string[];
  /** The replacementTrigger option, as given (often an Output). */
  replacementTrigger?: unknown;
  /** The ignoreChanges option. */
  ignoreChanges?: string[];
  /** The deleteBeforeReplace option. */
  deleteBeforeReplace?: boolean;
  /** Inputs as the SDK sent them (secret values in their envelope). */
  inputs: Record<string, any>;
  /** State the mock answered with. */
  state: Record<string, any>;
}

/** Runs a remote command for real (the host tests point it at a sandboxed sshd). */
export type CommandExecutor = (cmd: { name: string; connection: Record<string, any>; create: string; stdin?: string }) => Promise<{ stdout: string; stderr: string }>;

export interface OfflineWorld {
  /** When set, remote commands run through it instead of being answered from serverFiles. */
  execute?: CommandExecutor;
  /** Current server files by absolute path (null = absent). */
  serverFiles: Record<string, string | null>;
  /** Value given to provider-made secrets (access key secret), so tests can look for it. */
  providerSecret: string;
  account: string;
  /**
   * `type::name` of resources the engine replaced, once per replacement (this run's and earlier
   * ones'): the provider gives each new copy new ids and addresses, which every input made from
   * them sees (offline/operations.ts).
   */
  renewed?: string[];
}

/** Pulumi's wire marker for a secret value (sdk/nodejs/runtime/rpc.ts). */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export const isSecretEnvelope = (v: unknown): v is { value: unknown } =>
  !!v && typeof v === "object" && (v as any)[SIG_KEY] === SECRET_SIG;

/** Secret envelopes replaced by a placeholder: what may be shown. */
export function revealPublic(v: unknown, placeholder = "[secret]"): unknown {
  if (isSecretEnvelope(v)) return placeholder;
  if (Array.isArray(v)) return v.map((x) => revealPublic(x, placeholder));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealPublic(x, placeholder)]));
  return v;
}

/** Secret envelopes opened: what the provider would receive. */
export function unwrapSecrets(v: unknown): unknown {
  if (isSecretEnvelope(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

const hex = (name: string, len: number) => {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, "0").repeat(3).slice(0, len);
};

/** The offline answer of the worker key command: a fixed, well-formed Ed25519 public key (no private half exists). */
export const OFFLINE_WORKER_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9mZmxpbmUtcGxhY2Vob2xkZXItd29ya2VyLWtleS0x";

export class OfflineEngine implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  private readonly byUrn = new Map<string, RecordedResource>();
  /** Filled by the stack transformation: options the mock API does not see. */
  readonly options = new Map<string, { parent?: string; dependsOn: string[]; pending?: Promise<string[]>; replacementTrigger?: unknown; ignoreChanges?: string[]; deleteBeforeReplace?: boolean }>();
  /** Server files as the offline writes left them: a later read sees an earlier write, as on the server. */
  private readonly written = new Map<string, string>();

  constructor(readonly world: OfflineWorld) {}

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, any> }> {
    const inputs = args.inputs;
    const plainInputs = unwrapSecrets(inputs) as Record<string, any>;
    const executed = args.type === "command:remote:Command" && this.world.execute
      ? await this.world.execute({ name: args.name, connection: plainInputs.connection, create: plainInputs.create, stdin: plainInputs.stdin })
      : undefined;
    const state = { ...inputs, ...(executed ?? this.answer(args.type, args.name, plainInputs)) };
    const key = `${args.type}::${args.name}`;
    if (this.resources.some((r) => `${r.type}::${r.name}` === key)) throw new Error(`duplicate resource ${key}`);
    const opts = this.options.get(key);
    const dependsOn = [...(opts?.dependsOn ?? []), ...(opts?.pending ? await opts.pending : [])];
    const rec: RecordedResource = { type: args.type, name: args.name, urn: key, parent: opts?.parent, dependsOn, replacementTrigger: opts?.replacementTrigger, ignoreChanges: opts?.ignoreChanges, deleteBeforeReplace: opts?.deleteBeforeReplace, inputs, state };
    this.resources.push(rec);
    this.byUrn.set(key, rec);
    return { id: args.custom === false ? undefined : state.id ?? `${args.name}-id`, state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    const i = args.inputs;
    switch (args.token) {
      case "aws:ec2/getSecurityGroup:getSecurityGroup":
        return { id: i.id, name: `${String(i.id).replace(/^sg-/, "group-")}`, vpcId: "vpc-0123456789abcdef0" };
      case "aws:ec2/getSubnet:getSubnet":
        return { id: i.id, cidrBlock: "10.0.1.0/24" };
      case "aws:ec2/getAmi:getAmi":
        return { id: "ami-0offline0ubuntu0lts", name: "ubuntu-noble-24.04-amd64-server (offline placeholder)", rootDeviceName: "/dev/sda1" };
      case "aws:iam/getInstanceProfile:getInstanceProfile":
        return { name: i.name, roleArn: `arn:aws:iam::${this.world.account}:role/${i.name}`, roleName: i.name };
      // One table, the VPC's main one: the workers' subnet has no explicit association.
      case "aws:ec2/getRouteTables:getRouteTables":
        return { ids: [`rtb-${hex(String(i.vpcId), 17)}`] };
      case "aws:ec2/getRouteTable:getRouteTable":
        return { routeTableId: i.routeTableId, associations: [{ main: true, routeTableId: i.routeTableId }] };
      default:
        throw new Error(`the offline engine has no answer for ${args.token}`);
    }
  }

  private answer(type: string, resourceName: string, inputs: Record<string, any>): Record<string, any> {
    // A replacement's new copy: other ids and addresses, the same names where the program gives them.
    const renewals = (this.world.renewed ?? []).filter((k) => k === `${type}::${resourceName}`).length;
    const name = `${resourceName}${"~".repeat(renewals)}`;
    switch (type) {
      case "command:remote:Command":
        return { stdout: this.commandStdout(resourceName, inputs), stderr: "" };
      case "aws:iam/accessKey:AccessKey":
        return { id: `AKIA${hex(name, 16).toUpperCase()}`, secret: pulumi.secret(this.world.providerSecret) };
      case "aws:iam/user:User":
        return { name: resourceName, arn: `arn:aws:iam::${this.world.account}:user${inputs.path ?? "/"}${resourceName}` };
      case "aws:ec2/instance:Instance":
        return { id: `i-${hex(name, 17)}`, privateIp: `10.0.1.${10 + renewals}` };
      case "aws:ec2/amiFromInstance:AmiFromInstance":
        return { id: `ami-${hex(name, 17)}` };
      case "aws:autoscaling/group:Group": {
        // Pulumi auto-names the group: the name carries a random suffix, as for real.
        const groupName = `${resourceName}-${hex(name, 7)}`;
        return { id: groupName, name: groupName, arn: `arn:aws:autoscaling:${this.region()}:${this.world.account}:autoScalingGroup:00000000-0000-4000-8000-${hex(name, 12)}:autoScalingGroupName/${groupName}` };
      }
      case "aws:ec2/launchTemplate:LaunchTemplate":
        return { id: `lt-${hex(name, 17)}`, latestVersion: 1 };
      case "aws:ec2/keyPair:KeyPair":
        return { keyName: resourceName };
      case "aws:s3/bucket:Bucket": {
        // Pulumi auto-names a bucket from its resource name plus a random suffix; its id is the name.
        const bucket = inputs.bucket ?? `${resourceName}-${hex(name, 7)}`;
        return { id: bucket, bucket, arn: `arn:aws:s3:::${bucket}` };
      }
      case "aws:ec2/vpcEndpoint:VpcEndpoint":
        return { id: `vpce-${hex(name, 17)}` };
      case "aws:ec2/securityGroup:SecurityGroup":
        return { id: `sg-${hex(name, 17)}` };
      case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
      case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
        return { id: `sgr-${hex(name, 17)}` };
      default:
        return {};
    }
  }

  /** The stack's region (config), for ARNs. */
  private region(): string {
    return pulumi.runtime.getConfig("aws:region") ?? "ap-northeast-1";
  }

  /**
   * A read answers with the server file its script names, as earlier writes left it; a write records
   * its new content (stdin after the state line) and reports what it would do.
   */
  private commandStdout(name: string, inputs: Record<string, any>): string {
    // The worker key command prints the public key the EC2 key pair imports (core/ciServer/fleeting/workerSshKey.ts).
    if (String(inputs.create ?? "").startsWith("# gitlab-runner-autoscaling: worker SSH key ")) return OFFLINE_WORKER_PUBLIC_KEY;
    if (!name.endsWith("-read") && !name.endsWith("-write")) return "";
    const script = String(inputs.create ?? "");
    const path = Object.keys(this.world.serverFiles)
      .filter((p) => script.includes(`'${p}'`))
      .sort((a, b) => b.length - a.length)[0];
    if (name.endsWith("-write")) {
      const stdin = String(inputs.stdin ?? "");
      if (path === undefined) return "written (offline)";
      // The write's compare-and-swap, as on the server: a write merged from a stale read fails here too.
      const expected = stdin.slice(0, stdin.indexOf(" "));
      const current = this.written.has(path) ? this.written.get(path)! : this.world.serverFiles[path];
      const actual = current === null ? "absent" : createHash("sha256").update(current, "utf8").digest("hex");
      if (expected !== actual) throw new Error(`offline write ${name}: ${path} changed since it was read (merged from a stale read)`);
      this.written.set(path, stdin.slice(stdin.indexOf("\n") + 1));
      return "written (offline)";
    }
    if (path === undefined) throw new Error(`offline read ${name}: no server file given for its path`);
    return readResultLine(this.written.has(path) ? this.written.get(path)! : this.world.serverFiles[path]);
  }

  /** Records parents and dependsOn, which the mock API does not pass to newResource. */
  readonly transformation: pulumi.ResourceTransformation = (t) => {
    const parentOf = (r: pulumi.Resource | undefined) => (r ? `${(r as any).__pulumiType}::${(r as any).__name}` : undefined);
    const isResource = (d: unknown): d is pulumi.Resource => pulumi.Resource.isInstance(d);
    const all = ([] as unknown[]).concat(t.opts.dependsOn ?? []);
    // A dependency known only later (a promise of resources) is resolved before the SDK registers.
    const later = all.filter((d) => !isResource(d) && typeof (d as PromiseLike<unknown> | undefined)?.then === "function");
    const pending = later.length
      ? Promise.all(later).then((rs) => rs.flat().filter(isResource).map((d) => parentOf(d)!).filter(Boolean))
      : undefined;
    const parent = t.opts.parent && (t.opts.parent as any).__pulumiType !== "pulumi:pulumi:Stack" ? parentOf(t.opts.parent) : undefined;
    this.options.set(`${t.type}::${t.name}`, { parent, dependsOn: all.filter(isResource).map((d) => parentOf(d)!).filter(Boolean), pending, replacementTrigger: t.opts.replacementTrigger, ignoreChanges: t.opts.ignoreChanges, deleteBeforeReplace: (t.opts as pulumi.CustomResourceOptions).deleteBeforeReplace });
    return undefined;
  };

  find(type: string, name: string): RecordedResource | undefined {
    return this.byUrn.get(`${type}::${name}`);
  }
}
