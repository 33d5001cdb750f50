import { strict as assert } from "node:assert";
import { builderSteps } from "../../components/proxyAmi";
import { awsCredentialsFile } from "../../core/ciServer/autoscalerEdits";
import { fleetingPolicyJson } from "../../core/aws/fleetingPolicy";
import { daemonJson } from "../../core/workerImage/workerImage";
import type { OfflineRun } from "../../offline/runOffline";
import {
  FIXTURE_TEXT, PATHS, T, TEST_PROVIDER_SECRET, cachedRun, childrenOf, devStack, find, fixtureWorld, get, inputsOf, isSecretEnvelope, keyOf, ofType, revealed,
  rejectedRun, revealPublic, settle, settingsOf, sha256, summaryOf, unwrapSecrets, variant, type StackConfig,
} from "../helpers/offlineWorld";
import { tomllibParse } from "../helpers/tomllib";
import { scriptBody } from "../../core/remote/shell";
import { placeholderSshKey } from "../../offline/placeholders";

const AUTOSCALER_UPGRADE = { gitlabImage: "gitlab/gitlab-ce:16.1.8-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v17.11.0" };
const MANAGER_ROLE = "collaborage-ci-role";
const GROUP = "aws:autoscaling/group:Group";
const TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const FLEET = "gitlab-runner-autoscaling:workers:WorkerFleet";
const IMAGE_CHECK = "gitlab-runner-autoscaling:ci:RunnerImageCheck";
const cmd = (n: string) => `${T.command}::${n}`;

/** The dev stack on the Docker Autoscaler: 3 instances, the runner upgraded to 17.11. */
function autoscalerStack(change: (c: StackConfig) => void = () => {}): StackConfig {
  return variant((c) => {
    Object.assign(c.runner, { executor: "docker-autoscaler", maxInstances: 3 });
    delete c.runner.machineName;
    c.upgrade = { ...AUTOSCALER_UPGRADE };
    c.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 1, idleTime: 3600 }];
    change(c);
  });
}

const stdinOf = (run: OfflineRun, name: string) => {
  const s = String(revealed(run, name, "stdin"));
  return s.slice(s.indexOf("\n") + 1);
};

describe("runner.executor docker-autoscaler (accessKey, spot, with the runner upgrade)", () => {
  let run: OfflineRun;
  before(async () => {
    run = await cachedRun(autoscalerStack());
  });

  it("WorkerFleet: a launch template and an Auto Scaling group, top level, waiting for the upgrade", () => {
    assert.equal(get(run, FLEET, "workers").parent, undefined);
    assert.deepEqual(childrenOf(run, FLEET, "workers").map(keyOf), [`${TEMPLATE}::workers-template`, `${GROUP}::workers-asg`]);
    // The launch template names the worker key pair that the CI server's key command imports.
    for (const r of childrenOf(run, FLEET, "workers")) {
      assert.deepEqual(r.dependsOn, [`${T.command}::gitlab-upgrade-to-16.1.8-gate`, "gitlab-runner-autoscaling:ci:WorkerSshKey::autoscaler-worker-key"], r.name);
    }
  });

  it("launch template: the built AMI, IMDSv2 required, encrypted gp3 root under the image's root device, the workers' group, no public address, stack tags", () => {
    const i = inputsOf(run, TEMPLATE, "workers-template");
    assert.equal(i.imageId, get(run, T.amiFromInstance, "worker-ami-ami").state.id);
    assert.equal(i.instanceType, "t2.micro");
    assert.deepEqual(i.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 }, "a worker role: job containers need the second hop");
    assert.deepEqual(i.blockDeviceMappings, [{ deviceName: "/dev/sda1", ebs: { encrypted: "true", volumeType: "gp3", deleteOnTermination: "true" } }]);
    assert.deepEqual(i.networkInterfaces, [{ deviceIndex: 0, associatePublicIpAddress: "false", securityGroups: ["sg-0fedcba9876543210"], deleteOnTermination: "true" }]);
    assert.equal(i.vpcSecurityGroupIds, undefined);
    assert.deepEqual(i.iamInstanceProfile, { name: "example-worker-profile" });
    assert.equal(i.keyName, get(run, "aws:ec2/keyPair:KeyPair", "autoscaler-worker-key-pair").state.keyName, "the key pair made from the CI server's worker key");
    assert.deepEqual(i.tags, { "managed-by": "gitlab-runner-autoscaling", stack: "dev" });
    for (const spec of i.tagSpecifications) {
      assert.deepEqual(spec.tags, { "runner-manager-name": "gitlab-aws-autoscaler", gitlab: "true", "gitlab-runner-autoscale": "true", "managed-by": "gitlab-runner-autoscaling", stack: "dev", Name: "workers-worker" });
    }
    assert.deepEqual(i.tagSpecifications.map((t: any) => t.resourceType), ["instance", "volume"]);
  });

  it("Auto Scaling group: min/desired 0 (desired then ignored: the plugin owns it), max = maxInstances, AZRebalance suspended, scale-in protection, no capacity rebalance, force delete, no scaling policy", () => {
    const g = get(run, GROUP, "workers-asg");
    const i = g.inputs;
    assert.deepEqual(
      { min: i.minSize, desired: i.desiredCapacity, max: i.maxSize, subnets: i.vpcZoneIdentifiers, suspended: i.suspendedProcesses, protect: i.protectFromScaleIn, rebalance: i.capacityRebalance, force: i.forceDelete },
      { min: 0, desired: 0, max: 3, subnets: ["subnet-0123456789abcdef0"], suspended: ["AZRebalance"], protect: true, rebalance: false, force: true },
    );
    assert.deepEqual(g.ignoreChanges, ["desiredCapacity"]);
    assert.equal(ofType(run, "aws:autoscaling/policy:Policy").length, 0);
    assert.deepEqual(i.tags, [
      { key: "managed-by", value: "gitlab-runner-autoscaling", propagateAtLaunch: false },
      { key: "stack", value: "dev", propagateAtLaunch: false },
    ]);
  });

  it("spot: a mixed-instances policy on the launch template's latest version, all spot", () => {
    const i = inputsOf(run, GROUP, "workers-asg");
    assert.equal(i.launchTemplate, undefined);
    const lt = get(run, TEMPLATE, "workers-template").state;
    assert.deepEqual(i.mixedInstancesPolicy, {
      launchTemplate: { launchTemplateSpecification: { launchTemplateId: lt.id, version: "1" }, overrides: [{ instanceType: "t2.micro" }] },
      instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "price-capacity-optimized" },
    });
  });

  it("network: SSH and Nexus only, no Docker TLS port 2376", () => {
    assert.deepEqual(childrenOf(run, T.network, "network").map((r) => [r.name, r.inputs.fromPort]), [["network-nexus-from-workers", 19081], ["network-ssh-from-ci", 22]]);
    assert.equal(inputsOf(run, T.ingress, "network-ssh-from-ci").description, "gitlab-runner-autoscaling: runner manager reaches dockerd on the workers over SSH");
  });

  it("IAM: the fleeting policy on the group's real name and ARN, nothing of docker-machine's", () => {
    const g = get(run, GROUP, "workers-asg").state;
    assert.match(g.name, /^workers-asg-[0-9a-f]{7}$/, "auto-named, as Pulumi does");
    const policy = String(unwrapSecrets(inputsOf(run, T.userPolicy, "runner-fleeting-policy").policy));
    assert.equal(policy, fleetingPolicyJson({ region: "ap-northeast-1", groupName: g.name, groupArn: g.arn, staticCredentials: true }));
    assert.doesNotMatch(policy, /RunInstances|ImportKeyPair|iam:PassRole/);
  });

  it("AMI: daemon.json with Nexus as an insecure registry and the login user in the docker group, before the check", () => {
    const names = childrenOf(run, T.proxyAmi, "worker-ami").filter((r) => r.type === T.command).map((r) => r.name);
    assert.deepEqual(names.slice(-4), ["worker-ami-docker-proxy", "worker-ami-daemon-json", "worker-ami-docker-group", "worker-ami-check"]);
    assert.equal(revealed(run, "worker-ami-daemon-json", "stdin"), daemonJson(["192.0.2.3:19081"]));
    assert.equal(daemonJson(["192.0.2.3:19081"]), '{\n  "insecure-registries": [\n    "192.0.2.3:19081"\n  ]\n}\n');
    assert.match(inputsOf(run, T.command, "worker-ami-docker-group").create, /usermod -aG docker "\$user"/);
    assert.match(inputsOf(run, T.command, "worker-ami-docker-group").create, /user='\\''ubuntu'\\''/);
  });

  it("CI server: the plugin's AWS config, its credentials (0600, secret stdin), then config.toml", () => {
    const steps = childrenOf(run, T.ciServer, "ci-server").map((r) => r.name);
    assert.deepEqual(steps, ["ci-server-common-env", "ci-server-compose-proxy", "ci-server-docker-daemon-json", "ci-server-docker-dropin", "ci-server-fleeting-aws-config", "ci-server-fleeting-aws-credentials", "ci-server-config-toml"]);
    assert.equal(stdinOf(run, "ci-server-fleeting-aws-config-write"), "[default]\nregion = ap-northeast-1\n");
    const keyId = get(run, T.accessKey, "runner-key-1").state.id;
    const creds = inputsOf(run, T.command, "ci-server-fleeting-aws-credentials-write");
    assert.ok(isSecretEnvelope(creds.stdin));
    assert.equal(stdinOf(run, "ci-server-fleeting-aws-credentials-write"), awsCredentialsFile({ id: keyId, secret: TEST_PROVIDER_SECRET }));
    assert.match(scriptBody(creds.create) ?? "", /^new_mode='0600'$/m);
    assert.doesNotMatch(JSON.stringify(creds.create), new RegExp(TEST_PROVIDER_SECRET));
    assert.deepEqual(summaryOf(creds.create), [`aws_access_key_id = ${keyId}`, "aws_secret_access_key = [secret]"]);
  });

  it("config.toml: [runners.autoscaler] naming the real group and the AWS files, [runners.machine] gone, idle machines as job slots", () => {
    const g = get(run, GROUP, "workers-asg").state;
    const w = inputsOf(run, T.command, "ci-server-config-toml-write");
    const stdin = String(revealed(run, "ci-server-config-toml-write", "stdin"));
    assert.ok(stdin.startsWith(`${sha256(FIXTURE_TEXT.configToml)} `), "merged onto the file as read");
    const runner = tomllibParse(stdinOf(run, "ci-server-config-toml-write")).value.runners[0];
    assert.equal(runner.executor, "docker-autoscaler");
    assert.equal(runner.machine, undefined);
    assert.deepEqual(runner.autoscaler.plugin_config, { name: g.name, config_file: "/etc/gitlab-runner/fleeting-aws-config", credentials_file: "/etc/gitlab-runner/fleeting-aws-credentials" });
    assert.deepEqual(runner.autoscaler.policy, [
      { idle_count: 0, idle_time: "30m0s" },
      { periods: ["* 9-17 * * mon-fri"], timezone: "Asia/Tokyo", idle_count: 1, idle_time: "1h0m0s" },
    ]);
    assert.ok(summaryOf(w.create).some((l) => /the autoscaler counts idle job slots/.test(l)));
    assert.ok(summaryOf(w.create).includes("then a graceful runner restart: [runners.autoscaler] is not reloaded"));
    // The restart is graceful: SIGQUIT, a bounded wait for running jobs, then compose up starts it again.
    assert.match(w.create, /docker kill --signal=QUIT "\$stop_container"/);
    assert.match(scriptBody(w.create) ?? "", /^stop_container='gitlab-runner'$/m);
    // config.toml waits for the plugin install and the worker key as well as the AWS side; the
    // worker cleanup sits just before it (destroy: config.toml restored, then the cleanup).
    assert.deepEqual(get(run, T.command, "ci-server-config-toml-read").dependsOn.sort(),
      [`${T.fileEdit}::ci-server-fleeting-aws-credentials`, `${T.ingress}::network-nexus-from-workers`, `${T.ingress}::network-ssh-from-ci`, `${T.credentials}::runner`,
        "gitlab-runner-autoscaling:ci:FleetingPlugin::autoscaler-fleeting", "gitlab-runner-autoscaling:ci:WorkerCleanup::workers",
        "gitlab-runner-autoscaling:ci:WorkerSshKey::autoscaler-worker-key"].sort());
  });

  it("outputs: the group's name and the launch template; no image check (the upgrade's target was checked by the settings)", () => {
    assert.equal(run.outputs.workerGroupName, get(run, GROUP, "workers-asg").state.name);
    assert.equal(run.outputs.launchTemplateId, get(run, TEMPLATE, "workers-template").state.id);
    assert.equal(find(run, IMAGE_CHECK, "runner-image-check"), undefined);
    assert.match(String(run.outputs.summary), /docker-autoscaler\) runs up to 3 jobs on at most 3 instance\(s\) of Auto Scaling group workers-asg-/);
  });
});

describe("runner.executor docker-autoscaler: modes and the runner image", () => {
  it("instanceProfile: the fleeting policy on the CI server's role; no user, no key, no credentials file", async () => {
    const run = await cachedRun(autoscalerStack((c) => Object.assign(c.runner, { credentials: "instanceProfile", managerRoleName: MANAGER_ROLE })));
    const rp = get(run, T.rolePolicy, "runner-manager-fleeting-policy");
    assert.equal(rp.inputs.role, MANAGER_ROLE);
    const g = get(run, GROUP, "workers-asg").state;
    assert.equal(rp.inputs.policy, fleetingPolicyJson({ region: "ap-northeast-1", groupName: g.name, groupArn: g.arn, staticCredentials: true }));
    assert.deepEqual([T.user, T.accessKey, T.userPolicy].map((t) => ofType(run, t).length), [0, 0, 0]);
    assert.equal(find(run, T.fileEdit, "ci-server-fleeting-aws-credentials"), undefined);
    const runner = tomllibParse(stdinOf(run, "ci-server-config-toml-write")).value.runners[0];
    assert.deepEqual(runner.autoscaler.plugin_config, { name: g.name, config_file: "/etc/gitlab-runner/fleeting-aws-config" });
  });

  it("on-demand workers without a role: the launch template directly, hop limit 1, no instance profile", async () => {
    const run = await cachedRun(autoscalerStack((c) => { c.workers.spot = false; delete c.workers.iamInstanceProfile; c.workers.rootSize = 30; }));
    const i = inputsOf(run, GROUP, "workers-asg");
    assert.equal(i.mixedInstancesPolicy, undefined);
    assert.deepEqual(i.launchTemplate, { id: get(run, TEMPLATE, "workers-template").state.id, version: "1" });
    const t = inputsOf(run, TEMPLATE, "workers-template");
    assert.equal(t.metadataOptions.httpPutResponseHopLimit, 1);
    assert.equal(t.iamInstanceProfile, undefined);
    assert.equal(t.blockDeviceMappings[0].ebs.volumeSize, 30);
  });

  it("the docker+machine dev stack has none of it: no fleet, no image check, 2376 open, docker-machine's policy, the AMI as before", async () => {
    const run = await cachedRun(devStack());
    assert.deepEqual([FLEET, GROUP, TEMPLATE, IMAGE_CHECK].map((t) => ofType(run, t).length), [0, 0, 0, 0]);
    assert.ok(find(run, T.ingress, "network-docker-from-ci"));
    assert.match(String(unwrapSecrets(inputsOf(run, T.userPolicy, "runner-policy").policy)), /ec2:RunInstances/);
    assert.equal(find(run, T.command, "worker-ami-daemon-json"), undefined);
    assert.equal(builderSteps({ http: "http://p:1", https: "http://p:1", noProxy: "x" }).length, 5);
  });

  describe("without an upgrade: the image in docker-compose.yml is checked before anything else", () => {
    const withoutUpgrade = () => autoscalerStack((c) => delete c.upgrade);
    const composeWith = (runner: string, gitlab = "gitlab/gitlab-ce:17.11.7-ce.0") =>
      FIXTURE_TEXT.compose.replace("gitlab/gitlab-runner:ubuntu-v16.1.0", runner).replace("gitlab/gitlab-ce:16.0.6-ce.0", gitlab);

    it("Collaborage's runner 16.1: refused, naming upgrade.runnerImage and 17.1; only the read ran, no AWS resource, no write", async () => {
      const { error, registered } = await rejectedRun(withoutUpgrade());
      assert.match(error.message, /runner\.executor docker-autoscaler needs GitLab Runner 17\.1 or later; docker-compose\.yml runs gitlab-runner image gitlab\/gitlab-runner:ubuntu-v16\.1\.0\. Set upgrade\.runnerImage to gitlab\/gitlab-runner:ubuntu-v17\.1\.0 or later/);
      assert.ok(registered.includes(cmd("runner-image-check-read")));
      assert.match(error.message, /After changing the image by hand, run `pulumi up --replace '[^']*runner-image-check-read'` to read docker-compose\.yml again\./);
      assert.deepEqual(registered.filter((k) => k.startsWith("aws:") || k.includes("-write") || k.endsWith("-verdict")), []);
    });

    it("an untagged image is refused too (its version is unknown)", async () => {
      const world = fixtureWorld();
      world.serverFiles[PATHS.compose] = composeWith("gitlab/gitlab-runner:latest");
      const { error } = await rejectedRun(withoutUpgrade(), world);
      assert.match(error.message, /runs gitlab-runner image gitlab\/gitlab-runner:latest \(no version in its tag\)/);
    });

    it("runner 17.11: the check passes, is top level, and everything waits for it", async () => {
      const world = fixtureWorld();
      world.serverFiles[PATHS.compose] = composeWith("gitlab/gitlab-runner:alpine-v17.11.0");
      const run = await cachedRun(withoutUpgrade(), world);
      const check = `${IMAGE_CHECK}::runner-image-check`;
      assert.equal(get(run, IMAGE_CHECK, "runner-image-check").parent, undefined);
      assert.equal(find(run, T.fileEdit, "gitlab-upgrade"), undefined);
      assert.match(inputsOf(run, T.command, "runner-image-check-verdict").create, /gitlab-runner image gitlab\/gitlab-runner:alpine-v17\.11\.0: docker-autoscaler available \(17\.1 or later\)/);
      for (const [type, name] of [[T.network, "network"], [T.credentials, "runner"], [T.proxyAmi, "worker-ami"], [FLEET, "workers"], [TEMPLATE, "workers-template"], [GROUP, "workers-asg"], [T.command, "ci-server-common-env-read"]]) {
        assert.ok(get(run, type, name).dependsOn.includes(check), `${name} waits on the image check`);
      }
      assert.equal(settingsOf(withoutUpgrade()).upgrade, undefined);
    });
  });
});

describe("runner.executor docker-autoscaler: canaries", () => {
  const AWS = "CANARY-aws-secret-9113";
  const PROXY_PW = "CANARY-pw-9113";
  const pem = placeholderSshKey("CANARY-ssh-9113");
  const CANARIES = [AWS, PROXY_PW, ...pem.split("\n").filter((l) => l && !l.startsWith("-----")), "PRIVATE KEY"];
  const hits = (text: string) => CANARIES.filter((c) => text.includes(c));
  let run: OfflineRun;
  let states: unknown[];
  before(async () => {
    run = await cachedRun({ ...autoscalerStack(), sshPrivateKey: pem, proxyCredentials: `canaryuser:${PROXY_PW}` }, fixtureWorld({ providerSecret: AWS }));
    states = await Promise.all(run.engine.resources.map((r) => settle(r.state)));
  });

  it("no secret in any input, state, script or output once envelopes are removed", () => {
    run.engine.resources.forEach((r, i) => {
      assert.deepEqual(hits(JSON.stringify(revealPublic(r.inputs))), [], `${r.name} inputs`);
      assert.deepEqual(hits(JSON.stringify(revealPublic(states[i]))), [], `${r.name} state`);
    });
    assert.deepEqual(hits(JSON.stringify(run.outputs)), []);
  });

  it("the scan can fail: the access key's secret is in the credentials file's (secret) stdin, and only there among the CI-server writes", () => {
    assert.ok(String(revealed(run, "ci-server-fleeting-aws-credentials-write", "stdin")).includes(`aws_secret_access_key = ${AWS}`));
    assert.ok(!String(revealed(run, "ci-server-config-toml-write", "stdin")).includes(AWS), "config.toml names the file, not the key");
  });
});
