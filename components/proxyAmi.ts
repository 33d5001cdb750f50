// The runbook's "AutoScaling用のAMIを作成します": a temporary builder from the base image, the
// provisioning steps over SSH, an AMI from it, and the builder stopped. The AMI is rebuilt only
// when a provisioning input changes (their hash replaces the builder, hence the image).
import * as aws from "@pulumi/aws";
import type * as command from "@pulumi/command";
import * as commandPkg from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
  APT_PROXY_PATH, BUILDER_DOCKER_DROPIN_PATH, PROFILE_MARKER, aptProxyConf, dockerdProxyDropIn, hasCredentials, maskProxyUrls, profileExports, type ProxyUrls,
} from "../core/proxy/proxyFiles";
import { sha256Hex } from "../core/remote/readResult";
import { builderHostKey } from "../core/workerImage/builderHostKey";
import { appendBlockScript, dockerInstallScript, dockerProxyCheckScript, installFileScript, waitForSshScript } from "../core/remote/scripts";
import { openSshPublicKey } from "../core/workerImage/sshPublicKey";
import { DAEMON_JSON_PATH, daemonJson, dockerGroupScript, type AutoscalerImage } from "../core/workerImage/workerImage";
import type { AmiSettings, BastionSettings } from "../settings/types";
import { childOptions } from "./childOptions";
import { sshConnection } from "./connection";

/** Canonical's account; the default base image is its current Ubuntu LTS. */
export const CANONICAL_OWNER = "099720109477";
export const UBUNTU_LTS_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";

export interface ProxyAmiArgs {
  readonly ami: AmiSettings;
  readonly vpcId: string;
  /** The CI server's group: SSH to the builder is allowed from it (pulumi on the CI server, or via the bastion). */
  readonly ciSecurityGroupId: string;
  readonly sshPrivateKey: pulumi.Input<string>;
  readonly bastion?: BastionSettings;
  /** Proxy environments: URLs (secret when they carry credentials) and NO_PROXY. */
  readonly proxy?: pulumi.Input<ProxyUrls>;
  readonly tags?: Record<string, string>;
  /** Docker Autoscaler workers: what docker-machine's engine-* options used to add, baked in. */
  readonly autoscalerImage?: AutoscalerImage;
}

/** One provisioning step: a script and what it reads on stdin. */
export interface BuilderStep {
  name: string;
  create: string;
  stdin?: string;
}

/** Step names: the resources must exist before the proxy URLs (an output) are known. */
export const builderStepNames = (withProxy: boolean, autoscaler = false) => {
  const names = withProxy ? ["apt-proxy", "profile-proxy", "docker", "docker-proxy", "check"] : ["docker", "check"];
  // Before the check, whose dockerd restart applies daemon.json (and fails on a bad one).
  return autoscaler ? [...names.slice(0, -1), "daemon-json", "docker-group", "check"] : names;
};

/** The steps in order; pure, so the plan and the tests see exactly what the builder gets. */
export function builderSteps(proxy?: ProxyUrls, autoscaler?: AutoscalerImage): BuilderStep[] {
  // Files that carry proxy credentials are root-only (apt and dockerd read them as root), and the
  // profile loses group/other access (Ubuntu homes are world-readable).
  const secret = !!proxy && hasCredentials(proxy);
  const mode = secret ? "0600" : "0644";
  const steps: Omit<BuilderStep, "name">[] = proxy
    ? [
        { create: installFileScript({ path: APT_PROXY_PATH, mode }), stdin: aptProxyConf(proxy) },
        { create: appendBlockScript({ path: "~/.profile", marker: PROFILE_MARKER, private: secret }), stdin: profileExports(proxy) },
        { create: dockerInstallScript({ proxyEnvFromStdin: true }), stdin: `HTTP_PROXY=${proxy.http}\nHTTPS_PROXY=${proxy.https}\n` },
        { create: installFileScript({ path: BUILDER_DOCKER_DROPIN_PATH, mode }), stdin: dockerdProxyDropIn(proxy) },
        { create: dockerProxyCheckScript(true) },
      ]
    : [{ create: dockerInstallScript({ proxyEnvFromStdin: false }) }, { create: dockerProxyCheckScript(false) }];
  if (autoscaler) {
    steps.splice(steps.length - 1, 0,
      { create: installFileScript({ path: DAEMON_JSON_PATH, mode: "0644" }), stdin: daemonJson([autoscaler.insecureRegistry]) },
      { create: dockerGroupScript(autoscaler.user) });
  }
  const names = builderStepNames(!!proxy, !!autoscaler);
  return steps.map((step, i) => ({ name: names[i], ...step }));
}

export class ProxyAmi extends pulumi.ComponentResource {
  public readonly amiId: pulumi.Output<string>;
  public readonly baseAmiId: pulumi.Output<string>;

  constructor(name: string, args: ProxyAmiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ami:ProxyAmi", name, {}, opts);
    const parent = childOptions(this, opts);
    const a = args.ami;
    this.baseAmiId = a.baseAmi
      ? pulumi.output(a.baseAmi)
      : aws.ec2.getAmiOutput({
          owners: [CANONICAL_OWNER],
          mostRecent: true,
          filters: [{ name: "name", values: [UBUNTU_LTS_NAME] }, { name: "virtualization-type", values: ["hvm"] }],
        }, parent).id;

    const steps = pulumi.output(args.proxy).apply((p) => builderSteps(p, args.autoscalerImage));
    // Base image, steps and their inputs: a change to any of them means a new image. The visible
    // hash (AMI name, tags, user data) is of the masked steps, so it says nothing about a password;
    // a credentials-only change replaces the builder through a secret replacement trigger.
    const hashOf = (base: string, s: BuilderStep[]) => sha256Hex(JSON.stringify([base, s])).slice(0, 16);
    const masked = pulumi.unsecret(pulumi.output(args.proxy).apply((p) => builderSteps(p && maskProxyUrls(p), args.autoscalerImage)));
    const contentHash = pulumi.all([this.baseAmiId, masked]).apply(([base, s]) => hashOf(base, s));
    const secretHash = pulumi.secret(pulumi.all([this.baseAmiId, steps]).apply(([base, s]) => hashOf(base, s)));

    const group = new aws.ec2.SecurityGroup(`${name}-builder-sg`, {
      vpcId: args.vpcId,
      description: "AMI builder of gitlab-runner-autoscaling: SSH in from the CI server, out to the proxy/internet",
      tags: args.tags,
    }, parent);
    new aws.vpc.SecurityGroupIngressRule(`${name}-builder-ssh-from-ci`, {
      securityGroupId: group.id, referencedSecurityGroupId: args.ciSecurityGroupId, ipProtocol: "tcp", fromPort: 22, toPort: 22,
      description: "SSH from the CI server (pulumi there, or through it as bastion)",
    }, parent);
    if (a.sshSourceCidr) {
      new aws.vpc.SecurityGroupIngressRule(`${name}-builder-ssh-from-operator`, {
        securityGroupId: group.id, cidrIpv4: a.sshSourceCidr, ipProtocol: "tcp", fromPort: 22, toPort: 22, description: "SSH from where pulumi up runs",
      }, parent);
    }
    new aws.vpc.SecurityGroupEgressRule(`${name}-builder-egress`, {
      securityGroupId: group.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "-1", description: "packages through the proxy or NAT",
    }, parent);

    const keyPair = new aws.ec2.KeyPair(`${name}-builder-key`, {
      publicKey: pulumi.unsecret(pulumi.output(args.sshPrivateKey).apply(openSshPublicKey)),
      tags: args.tags,
    }, parent);

    // The builder's host key, made here (core/workerImage/builderHostKey.ts): its private half reaches the
    // builder only through the secret user data, its public half is what the connection accepts.
    const builderKey = pulumi.secret(pulumi.all([args.sshPrivateKey, secretHash, contentHash]).apply(([login, build, content]) =>
      builderHostKey(login, build, `gitlab-runner-autoscaling provisioning ${content}`)));
    const builder = new aws.ec2.Instance(`${name}-builder`, {
      ami: this.baseAmiId,
      instanceType: a.instanceType,
      subnetId: a.subnetId,
      vpcSecurityGroupIds: [group.id],
      keyName: keyPair.keyName,
      associatePublicIpAddress: false,
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
      rootBlockDevice: { encrypted: true, volumeType: "gp3" },
      userData: builderKey.apply((k) => k.userData),
      userDataReplaceOnChange: true,
      tags: { ...args.tags, Name: `${name}-builder` },
    }, { ...parent, replacementTrigger: secretHash });

    const connection: command.types.input.remote.ConnectionArgs = sshConnection({
      endpoint: pulumi.output({ host: builder.privateIp, port: 22, user: a.sshUser }),
      privateKey: args.sshPrivateKey,
      // The public half: derived one way, it tells nothing of the login key or the build.
      hostKey: pulumi.unsecret(builderKey.apply((k) => k.hostKey)),
      bastion: args.bastion,
      patient: true,
    });
    let last: pulumi.Resource = new commandPkg.remote.Command(`${name}-wait-ssh`, {
      connection, create: waitForSshScript(), addPreviousOutputInEnv: false,
    }, { ...parent, dependsOn: [builder], customTimeouts: { create: "10m" } });

    builderStepNames(!!args.proxy, !!args.autoscalerImage).forEach((stepName, i) => {
      const step = steps.apply((s) => s[i]);
      last = new commandPkg.remote.Command(`${name}-${stepName}`, {
        connection,
        create: pulumi.unsecret(step.apply((s) => s.create)),
        stdin: pulumi.secret(step.apply((s) => s.stdin ?? "")),
        logging: "stderr",
        addPreviousOutputInEnv: false,
      }, { ...parent, dependsOn: [last], customTimeouts: { create: "20m" } });
    });

    const image = new aws.ec2.AmiFromInstance(`${name}-ami`, {
      sourceInstanceId: builder.id,
      name: pulumi.interpolate`gitlab-runner-worker-${contentHash}`,
      description: "GitLab Runner autoscaling worker: Docker preinstalled, proxy configured (gitlab-runner-autoscaling)",
      tags: { ...args.tags, "gitlab-runner-autoscaling:content": contentHash },
    }, { ...parent, dependsOn: [last] });

    // The builder is not left running once the image exists.
    new aws.ec2transitgateway.InstanceState(`${name}-builder-stopped`, { instanceId: builder.id, state: "stopped" }, { ...parent, dependsOn: [image] });

    this.amiId = image.id;
    this.registerOutputs({ amiId: this.amiId, baseAmiId: this.baseAmiId });
  }
}
