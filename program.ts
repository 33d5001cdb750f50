// The whole runbook as one program, wired from typed settings. index.ts runs it for `pulumi up`;
// the tests and `npm run plan` run it under the mock engine with other settings.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BuildCache } from "./components/buildCache";
import { CiServer } from "./components/ciServer";
import { GitlabUpgrade } from "./components/gitlabUpgrade";
import { RemoteFileEdit } from "./components/remoteFileEdit";
import { sshConnection } from "./components/connection";
import { ProxyAmi } from "./components/proxyAmi";
import { RunnerCredentials } from "./components/runnerCredentials";
import { RunnerNetwork } from "./components/runnerNetwork";
import { RunnerImageCheck } from "./components/runnerImageCheck";
import { WorkerCleanup } from "./components/workerCleanup";
import { autoscalerCiServer } from "./components/autoscalerCiServer";
import { WorkerFleet } from "./components/workerFleet";
import { cacheSummaryLine, s3NoProxyHosts } from "./core/aws/buildCache";
import { composePath, runnerRecreateBound, upgradeEdit, windowGuard } from "./core/ciServer/edits";
import { runnerSkewWarning } from "./core/ciServer/compose/upgradePath";
import { fleetingPolicyJson } from "./core/aws/fleetingPolicy";
import { NEXUS_DOCKER_PORT } from "./core/ciServer/configToml/machineOptions";
import { skewWarning } from "./core/ciServer/compose/runnerImageCheck";
import { noProxyValue } from "./core/proxy/noProxy";
import { withCredentials, type ProxyUrls } from "./core/proxy/proxyFiles";
import { retirementNote } from "./core/ciServer/workers/workerCleanup";
import type { LoadedSettings } from "./settings/load";
import type { Settings } from "./settings/types";

export interface ProgramOutputs {
  amiId: pulumi.Output<string>;
  iamUserName?: pulumi.Output<string>;
  accessKeyId?: pulumi.Output<string>;
  securityGroupRuleIds: pulumi.Output<string>[];
  ciServerFiles: string[];
  ciServerResults: pulumi.Output<Record<string, string>>;
  summary: pulumi.Output<string>;
  /** With upgrade.gitlabImage: the hops, their bounds, the backup and the restarts, in numbers. */
  gitlabUpgradePath?: pulumi.Output<string>;
  /** runner.executor docker-autoscaler only. */
  workerGroupName?: pulumi.Output<string>;
  launchTemplateId?: pulumi.Output<string>;
  runnerImageCheck?: pulumi.Output<string>;
}

/**
 * The Docker Autoscaler's CI-server side that other work provides (branch autoscaler-ci): the
 * worker SSH key (made on the CI server, imported as an EC2 key pair) and the fleeting plugin
 * install. Each is optional: without a key the plugin connects through EC2 Instance Connect.
 */
export interface AutoscalerCiSide {
  workerKey?: {
    /** EC2 key pair name, for the launch template. */
    keyName: pulumi.Input<string>;
    /** The private key as the runner container sees it (connector_config.key_path). */
    keyPath: string;
    /** What makes the key; the launch template waits for it. */
    resource: pulumi.Resource;
  };
  /** What config.toml must wait for besides the AWS side (the plugin install). */
  configTomlDependsOn?: pulumi.Resource[];
}

/** The Docker Autoscaler's CI-server side: the fleeting plugin (persisted, installed) and the workers' SSH key. */
function autoscalerCiSide(s: Settings, a: { connection: ReturnType<typeof sshConnection>; after: Promise<pulumi.Resource[]>; tags: Record<string, string> }): AutoscalerCiSide {
  const side = autoscalerCiServer("autoscaler", {
    connection: a.connection,
    compose: { appDir: s.ciServer.appDir, command: s.ciServer.composeCommand },
    runnerConfigPath: s.ciServer.runnerConfigPath,
    plugin: s.runner.autoscaler!.plugin,
    proxy: !!s.proxy,
    gracefulStopSeconds: s.runner.gracefulStopSeconds,
    ...windowGuard(s, runnerRecreateBound(s)),
    tags: a.tags,
    after: a.after,
  });
  return { workerKey: { keyName: side.keyName, keyPath: side.keyPath, resource: side.key }, configTomlDependsOn: side.ready };
}

export function runbook({ settings: s, secrets, warnings }: LoadedSettings): ProgramOutputs {
  const tags = { "managed-by": "gitlab-runner-autoscaling", stack: pulumi.getStack() };

  // NO_PROXY needs the workers' subnet; look it up only when the stack does not say it.
  const subnetCidr = s.workers.subnetCidr
    ? pulumi.output(s.workers.subnetCidr)
    : aws.ec2.getSubnetOutput({ id: s.workers.subnetId }).cidrBlock;
  const proxy = s.proxy && (() => {
    const p = s.proxy;
    const noProxy = subnetCidr.apply((cidr) =>
      noProxyValue({ ciHost: s.ciServer.host, workerSubnetCidr: cidr, instanceRole: s.runner.credentials === "instanceProfile" || !!s.workers.iamInstanceProfile,
        cacheHosts: s.cache && s3NoProxyHosts(s.region), extra: p.noProxy }));
    const creds = secrets.proxyCredentials ?? pulumi.output(undefined);
    const urls: pulumi.Output<ProxyUrls> = pulumi.all([creds, noProxy]).apply(([c, np]) => ({ http: withCredentials(p.httpProxy, c), https: withCredentials(p.httpsProxy, c), noProxy: np }));
    return { noProxy, urls: secrets.proxyCredentials ? pulumi.secret(urls) : urls };
  })();

  // Keys that have no effect, and an opt-out of host key checks: on every preview and plan.
  for (const w of warnings ?? []) pulumi.log.warn(w);
  const connection = sshConnection({ endpoint: s.ciServer, privateKey: secrets.sshPrivateKey, hostKey: s.ciServer.hostKey, bastion: s.ciServer.bastion });

  // The runbook's first step. The upgrade path can only be checked against the server's compose
  // file, so everything else waits for it: a refused jump leaves no AWS resource behind.
  // A GitLab target goes hop by hop along its upgrade path; a runner bump alone is one edit.
  const gitlabTarget = s.upgrade?.gitlabImage;
  const gitlab = gitlabTarget && new GitlabUpgrade("gitlab-upgrade", { settings: { ...s, upgrade: { ...s.upgrade!, gitlabImage: gitlabTarget } }, connection });
  const runnerBump = s.upgrade && !gitlabTarget && new RemoteFileEdit("gitlab-upgrade", {
    connection,
    path: composePath(s),
    edit: pulumi.output(upgradeEdit({ ...s, upgrade: s.upgrade })),
  });
  const upgrade = gitlab ? gitlab.last : runnerBump || undefined;
  // docker-autoscaler needs runner 17.1+: the settings check an upgrade's target; without an upgrade
  // the image in the server's docker-compose.yml is checked first, and everything waits for that.
  const autoscaler = s.runner.executor === "docker-autoscaler" ? s.runner.autoscaler : undefined;
  // (An upgrade of the GitLab image alone leaves the runner image as the server has it: checked too.)
  const imageCheck = autoscaler && !s.upgrade?.runnerImage
    ? new RunnerImageCheck("runner-image-check", { connection, composePath: composePath(s) }, upgrade ? { dependsOn: [upgrade] } : undefined)
    : undefined;
  // The upgrade edit already warns of a runner major ahead of GitLab's; this adds the minor.
  const skew = autoscaler && s.upgrade?.runnerImage && s.upgrade.runnerImage !== "follow" &&
    !(s.upgrade.gitlabImage && runnerSkewWarning(s.upgrade.gitlabImage, s.upgrade.runnerImage)) &&
    skewWarning(s.upgrade.runnerImage, s.upgrade.gitlabImage);
  if (skew) pulumi.log.warn(skew);
  const first = imageCheck ?? upgrade;
  const afterUpgrade: pulumi.ComponentResourceOptions = first ? { dependsOn: [first] } : {};

  const network = new RunnerNetwork("network", { ciSecurityGroupId: s.ciServer.securityGroupId, workerSecurityGroupId: s.workers.securityGroupId, executor: s.runner.executor }, afterUpgrade);

  const cache = s.cache && new BuildCache("gitlab-runner-cache", {
    s3: s.cache.s3, region: s.region, vpcId: s.workers.vpcId, subnetId: s.workers.subnetId, tags,
  }, afterUpgrade);

  const amiId = s.ami.existingAmi
    ? pulumi.output(s.ami.existingAmi)
    : new ProxyAmi("worker-ami", {
        ami: s.ami,
        vpcId: s.workers.vpcId,
        ciSecurityGroupId: s.ciServer.securityGroupId,
        sshPrivateKey: secrets.sshPrivateKey,
        bastion: s.ciServer.bastion,
        proxy: proxy?.urls,
        tags,
        autoscalerImage: autoscaler && { insecureRegistry: `${s.ciServer.host}:${NEXUS_DOCKER_PORT}`, user: s.ami.sshUser },
      }, afterUpgrade).amiId;
  if (autoscaler && s.ami.existingAmi) {
    pulumi.log.warn(`ami.existingAmi ${s.ami.existingAmi}: docker-autoscaler workers need Docker, ${s.ami.sshUser} in the docker group, and Nexus ${s.ciServer.host}:${NEXUS_DOCKER_PORT} in /etc/docker/daemon.json insecure-registries; the built AMI has them.`);
  }

  // The plugin's install needs the runner container's proxy settings, i.e. the CI server's edits that
  // precede config.toml; config.toml needs the plugin. CiServer hands those edits over when it gets
  // to config.toml (beforeConfigToml below); until then the CI-server side waits for them.
  let handOver: (edits: pulumi.Resource[]) => void = () => undefined;
  const editsBeforeToml = new Promise<pulumi.Resource[]>((resolve) => (handOver = resolve));
  const ciSide = autoscaler ? autoscalerCiSide(s, { connection, after: editsBeforeToml, tags }) : {};
  const fleet = autoscaler && new WorkerFleet("workers", {
    amiId,
    instanceType: s.workers.instanceType,
    subnetId: s.workers.subnetId,
    securityGroupId: s.workers.securityGroupId,
    privateAddressOnly: s.workers.privateAddressOnly,
    iamInstanceProfile: s.workers.iamInstanceProfile,
    rootSize: s.workers.rootSize,
    spot: s.workers.spot,
    maxInstances: autoscaler.maxInstances,
    keyName: ciSide.workerKey?.keyName,
    workerTags: s.workers.tags,
    tags,
  }, { dependsOn: [...(first ? [first] : []), ...(ciSide.workerKey ? [ciSide.workerKey.resource] : [])] });

  const credentials = new RunnerCredentials("runner", {
    mode: s.runner.credentials,
    region: s.region,
    spot: s.workers.spot,
    workerInstanceProfile: s.workers.iamInstanceProfile,
    managerRoleName: s.runner.managerRoleName,
    keyGeneration: s.runner.keyGeneration,
    cacheBucketName: cache?.bucketName,
    tags,
    // The fleeting plugin's policy on this group, nothing of docker-machine's.
    policy: fleet
      ? pulumi.all([fleet.groupName, fleet.groupArn, cache?.bucketName]).apply(([groupName, groupArn, cacheBucket]) =>
        fleetingPolicyJson({ region: s.region, groupName, groupArn, staticCredentials: !!ciSide.workerKey, cacheBucket }))
      : undefined,
  }, afterUpgrade);

  const ci = new CiServer("ci-server", {
    settings: s,
    connection,
    after: first,
    amiId,
    workerSecurityGroupName: network.workerSecurityGroupName,
    accessKey: credentials.accessKeyId && credentials.secretAccessKey && { id: credentials.accessKeyId, secret: credentials.secretAccessKey },
    proxy,
    cacheBucketName: cache?.bucketName,
    // With a cache, the runner is pointed at it once the bucket, its rules, the endpoint and the policy exist.
    configTomlDependsOn: cache ? [...network.rules, ...cache.resources, credentials] : network.rules,
    autoscaler: fleet ? { groupName: fleet.groupName, keyPath: ciSide.workerKey?.keyPath, dependsOn: [credentials, ...(ciSide.configTomlDependsOn ?? [])] } : undefined,
    // Destroy removes the workers after config.toml is restored and before the key, the policy,
    // the rules and the proxy edits go (they are what docker-machine rm needs).
    beforeConfigToml: (after) => {
      handOver(after.length ? after : first ? [first] : []);
      return new WorkerCleanup("workers", {
        connection,
        settings: s,
        amiId,
        workerSecurityGroupName: network.workerSecurityGroupName,
        accessKeyId: credentials.accessKeyId,
        stack: pulumi.getStack(),
      }, { dependsOn: [...after, credentials, network] });
    },
  });

  // Each file once, though the upgrade and the proxy step both edit docker-compose.yml.
  const files = [...new Set([...(gitlab || runnerBump ? [composePath(s)] : []), ...ci.files])];
  const summary = pulumi.all([amiId, credentials.accessKeyId, cache?.bucketName, fleet ? fleet.groupName : undefined]).apply(([ami, keyId, bucket, group]) => [
    `Workers boot ${ami} (${s.workers.instanceType}${s.workers.spot ? ", spot" : ""}) in ${s.region}${s.workers.zone}, subnet ${s.workers.subnetId}.`,
    autoscaler
      ? `The runner on ${s.ciServer.host} (docker-autoscaler) runs up to ${s.runner.concurrent} jobs on at most ${autoscaler.maxInstances} instance(s) of Auto Scaling group ${group}, ` +
        `${autoscaler.capacityPerInstance} job(s) each; ${s.runner.idleCount * autoscaler.capacityPerInstance} idle job slot(s), removed after ${s.runner.idleTime} s idle. ` +
        "The config.toml write restarts the runner gracefully ([runners.autoscaler] is not reloaded)."
      : `The runner on ${s.ciServer.host} runs up to ${s.runner.concurrent} jobs; ${s.runner.idleCount} idle machine(s), removed after ${s.runner.idleTime} s idle.`,
    s.runner.credentials === "accessKey" ? `It uses IAM access key ${keyId}.` : `It uses the CI server's role ${s.runner.managerRoleName}.`,
    // docker-machine's workers only: the autoscaler's instances belong to its Auto Scaling group.
    ...(autoscaler ? [] : retirementNote({ ...s.runner })),
    `Edited on the CI server: ${files.join(", ")}.`,
    ...(s.cache ? [cacheSummaryLine(s.cache.s3, bucket ?? "")] : []),
  ].join("\n"));

  return {
    amiId,
    // Absent, not undefined, in instanceProfile mode: an undefined stack output draws a warning.
    ...(credentials.userName && { iamUserName: credentials.userName }),
    ...(credentials.accessKeyId && { accessKeyId: credentials.accessKeyId }),
    securityGroupRuleIds: network.ruleIds,
    ciServerFiles: files,
    ciServerResults: gitlab
      ? pulumi.all([gitlab.results, ci.results]).apply(([u, r]): Record<string, string> => ({ ...Object.fromEntries(Object.entries(u).map(([k, v]) => [`gitlab-upgrade-${k}`, v])), ...r }))
      : runnerBump ? pulumi.all([runnerBump.result, ci.results]).apply(([u, r]): Record<string, string> => ({ "gitlab-upgrade": u, ...r })) : ci.results,
    summary,
    ...(gitlab && { gitlabUpgradePath: gitlab.plan }),
    ...(fleet && { workerGroupName: fleet.groupName, launchTemplateId: fleet.launchTemplateId }),
    ...(imageCheck && { runnerImageCheck: imageCheck.result }),
  };
}
