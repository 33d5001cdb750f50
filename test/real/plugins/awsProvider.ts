// Test double of the `aws` resource plugin (AWS itself cannot be reached): the real engine loads it
// as `pulumi-resource-aws` (a shim on PATH, see engine.ts). It reports the version the SDK asks for,
// serves every resource type and data source the program uses, answers ids and computed outputs,
// and marks a change as a replacement exactly where the real provider does: offline/forceNew.ts,
// each entry with the source it was taken from. Everything else changes in place.
import * as crypto from "node:crypto";
import * as provider from "@pulumi/pulumi/provider";
import { FORCE_NEW } from "../../../offline/forceNew";
import { installBuilderHostKey } from "./cloudInit";
import { hasUnknown, hexOf, logCall, parseUrn, plain, same, secret } from "./wire";

/** The property Pulumi auto-names (resource name + random suffix) when the program leaves it out. */
const AUTONAMED: Record<string, string> = {
  "aws:ec2/securityGroup:SecurityGroup": "name",
  "aws:ec2/keyPair:KeyPair": "keyName",
  "aws:iam/user:User": "name",
  "aws:iam/userPolicy:UserPolicy": "name",
  "aws:iam/rolePolicy:RolePolicy": "name",
  "aws:s3/bucket:Bucket": "bucket",
  "aws:ec2/launchTemplate:LaunchTemplate": "name",
  "aws:autoscaling/group:Group": "name",
};

const ACCOUNT = "123456789012";
const config = JSON.parse(process.env.PULUMI_CONFIG || "{}") as Record<string, string>;
const region = config.region ?? "us-east-1";
/**
 * An instance's private IP: a loopback address of its own (a replacement, created before the old
 * one goes, never gets the old one's), which the command stand-in routes to the builder sandbox.
 */
const loopbackIp = () => `127.0.${1 + crypto.randomInt(254)}.${2 + crypto.randomInt(253)}`;
const rand = (n: number) => crypto.randomBytes(Math.ceil(n / 2)).toString("hex").slice(0, n);

/** What the provider computes on create: ids, ARNs, and the builder's address (a sandbox). */
function computed(type: string, name: string, inputs: Record<string, any>): { id: string; outs: Record<string, unknown> } {
  const i = plain(inputs);
  switch (type) {
    case "aws:iam/accessKey:AccessKey": {
      const id = `AKIA${rand(16).toUpperCase()}`;
      return { id, outs: { secret: secret(process.env.GRA_STUB_AWS_SECRET ?? "stub-secret-access-key"), status: "Active" } };
    }
    case "aws:iam/user:User":
      return { id: i.name, outs: { arn: `arn:aws:iam::${ACCOUNT}:user${i.path ?? "/"}${i.name}`, uniqueId: `AIDA${rand(17).toUpperCase()}` } };
    case "aws:ec2/instance:Instance": {
      installBuilderHostKey(i.userData);
      const id = `i-${rand(17)}`;
      return { id, outs: { arn: `arn:aws:ec2:${region}:${ACCOUNT}:instance/${id}`, privateIp: loopbackIp(), instanceState: "running" } };
    }
    case "aws:ec2/amiFromInstance:AmiFromInstance": {
      const id = `ami-${rand(17)}`;
      return { id, outs: { arn: `arn:aws:ec2:${region}::image/${id}`, rootDeviceName: "/dev/sda1" } };
    }
    case "aws:autoscaling/group:Group":
      return { id: i.name, outs: { arn: `arn:aws:autoscaling:${region}:${ACCOUNT}:autoScalingGroup:${crypto.randomUUID()}:autoScalingGroupName/${i.name}` } };
    case "aws:ec2/launchTemplate:LaunchTemplate": {
      const id = `lt-${rand(17)}`;
      return { id, outs: { arn: `arn:aws:ec2:${region}:${ACCOUNT}:launch-template/${id}`, latestVersion: 1, defaultVersion: 1 } };
    }
    case "aws:ec2/keyPair:KeyPair":
      return { id: i.keyName, outs: { keyPairId: `key-${rand(17)}`, fingerprint: hexOf(String(i.publicKey), 32) } };
    case "aws:s3/bucket:Bucket":
      return { id: i.bucket, outs: { arn: `arn:aws:s3:::${i.bucket}` } };
    case "aws:ec2/vpcEndpoint:VpcEndpoint":
      return { id: `vpce-${rand(17)}`, outs: {} };
    case "aws:ec2/securityGroup:SecurityGroup": {
      const id = `sg-${rand(17)}`;
      return { id, outs: { arn: `arn:aws:ec2:${region}:${ACCOUNT}:security-group/${id}` } };
    }
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
    case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
      const id = `sgr-${rand(17)}`;
      return { id, outs: { securityGroupRuleId: id } };
    }
    case "aws:ec2transitgateway/instanceState:InstanceState":
      return { id: i.instanceId, outs: {} };
    default:
      if (!(type in FORCE_NEW)) throw new Error(`stub aws provider: no resource type ${type}`);
      return { id: `${name}-${rand(8)}`, outs: {} };
  }
}

/** The keys create adds (not inputs): left out when old outputs are diffed against new inputs. */
const COMPUTED_KEYS = new Set(["id", "arn", "secret", "status", "uniqueId", "privateIp", "instanceState", "rootDeviceName", "latestVersion",
  "defaultVersion", "keyPairId", "fingerprint", "securityGroupRuleId"]);

const at = (o: any, path: string) => path.split(".").reduce((x, k) => (x === undefined || x === null ? undefined : x[k]), o);

function diff(type: string, olds: Record<string, any>, news: Record<string, any>) {
  const keys = new Set([...Object.keys(news), ...Object.keys(olds).filter((k) => !COMPUTED_KEYS.has(k) || k in news)]);
  const changed = [...keys].filter((k) => !same(olds[k], news[k]));
  const forceNew = FORCE_NEW[type] ?? [];
  const replaces = forceNew.filter((p) => changed.includes(p.split(".")[0]) && (!p.includes(".") || !same(at(olds, p), at(news, p))));
  // aws_instance: user_data forces a new instance only with user_data_replace_on_change.
  if (type === "aws:ec2/instance:Instance" && plain(news.userDataReplaceOnChange) === true && changed.includes("userData")) replaces.push("userData");
  return { changed, replaces };
}

const invokes: Record<string, (i: Record<string, any>) => Record<string, unknown>> = {
  "aws:ec2/getSecurityGroup:getSecurityGroup": (i) => ({ id: i.id, name: String(i.id).replace(/^sg-/, "group-"), vpcId: "vpc-0123456789abcdef0", arn: `arn:aws:ec2:${region}:${ACCOUNT}:security-group/${i.id}`, description: "stub", tags: {} }),
  "aws:ec2/getSubnet:getSubnet": (i) => ({ id: i.id, cidrBlock: "10.0.1.0/24", vpcId: "vpc-0123456789abcdef0", availabilityZone: `${region}a` }),
  "aws:ec2/getAmi:getAmi": () => ({ id: "ami-0stub0ubuntu0lts00", name: "ubuntu-noble-24.04-amd64-server (stub)", rootDeviceName: "/dev/sda1" }),
  "aws:iam/getInstanceProfile:getInstanceProfile": (i) => ({ id: i.name, name: i.name, arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${i.name}`, roleArn: `arn:aws:iam::${ACCOUNT}:role/${i.name}`, roleName: i.name }),
  "aws:ec2/getRouteTables:getRouteTables": (i) => ({ id: String(i.vpcId), ids: [`rtb-${hexOf(String(i.vpcId), 17)}`] }),
  "aws:ec2/getRouteTable:getRouteTable": (i) => ({ id: i.routeTableId, routeTableId: i.routeTableId, associations: [{ main: true, routeTableId: i.routeTableId }] }),
};

const awsStub: provider.Provider = {
  version: "7.48.0",
  async check(urn, olds, news) {
    const { type, name } = parseUrn(urn);
    const prop = AUTONAMED[type];
    if (!prop || news[prop] !== undefined) return { inputs: news };
    // As the real provider: keep the name an earlier check gave, else the resource name and a suffix.
    return { inputs: { ...news, [prop]: olds?.[prop] ?? `${name}-${rand(7)}` } };
  },
  async diff(_id, urn, olds, news) {
    const { type } = parseUrn(urn);
    const d = diff(type, olds, news);
    return { changes: d.changed.length > 0, replaces: d.replaces };
  },
  async create(urn, inputs) {
    const { type, name } = parseUrn(urn);
    if (hasUnknown(inputs)) throw new Error(`stub aws provider: create of ${urn} with unknown inputs`);
    const c = computed(type, name, inputs);
    logCall({ plugin: "aws", op: "create", urn, id: c.id });
    return { id: c.id, outs: { ...inputs, ...c.outs } };
  },
  async update(id, urn, olds, news) {
    const { type } = parseUrn(urn);
    logCall({ plugin: "aws", op: "update", urn, id, changed: diff(type, olds, news).changed });
    const kept = Object.fromEntries(Object.entries(olds).filter(([k]) => COMPUTED_KEYS.has(k) && !(k in news)));
    return { outs: { ...news, ...kept, ...(type === "aws:ec2/launchTemplate:LaunchTemplate" ? { latestVersion: Number(olds.latestVersion ?? 1) + 1 } : {}) } };
  },
  async delete(id, urn) {
    logCall({ plugin: "aws", op: "delete", urn, id });
  },
  async read(id, _urn, props) {
    return { id, props };
  },
  async invoke(token, inputs) {
    const answer = invokes[token];
    if (!answer) throw new Error(`stub aws provider: no data source ${token}`);
    logCall({ plugin: "aws", op: "invoke", token });
    return { outputs: answer(plain(inputs)) };
  },
};

void provider.main(awsStub, process.argv.slice(2));
