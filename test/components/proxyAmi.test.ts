import { strict as assert } from "node:assert";
import { builderSteps } from "../../components/proxyAmi";
import type { OfflineRun } from "../../offline/runOffline";
import { parse } from "yaml";
import { BUILDER_HOST_KEY_COMMENT } from "../../core/workerImage/builderHostKey";
import { openSshPublicKey } from "../../core/workerImage/sshPublicKey";
import { unwrapSecrets } from "../../offline/mockEngine";
import { T, cachedRun, childrenOf, devStack, get, isSecretEnvelope, keyOf, revealed, sha256 } from "../helpers/offlineWorld";

const PROXY = "http://192.0.2.1:3128";
const NO_PROXY = "localhost,127.0.0.1,192.0.2.3,192.0.2.0/24,169.254.169.254";
const BASE_AMI = "ami-0a3eb6ca097b78895";
const STEP_ORDER = ["wait-ssh", "apt-proxy", "profile-proxy", "docker", "docker-proxy", "check"].map((s) => `worker-ami-${s}`);
const cmd = (name: string) => `${T.command}::${name}`;

describe("ProxyAmi on the dev stack", () => {
  let run: OfflineRun;
  before(async () => {
    run = await cachedRun(devStack());
  });

  it("creates the builder's group, rules, key, instance, six steps, the image and the stop, all its children", () => {
    assert.equal(get(run, T.proxyAmi, "worker-ami").parent, undefined);
    assert.deepEqual(childrenOf(run, T.proxyAmi, "worker-ami").map(keyOf).sort(), [
      `${T.securityGroup}::worker-ami-builder-sg`,
      `${T.ingress}::worker-ami-builder-ssh-from-ci`,
      `${T.egress}::worker-ami-builder-egress`,
      `${T.keyPair}::worker-ami-builder-key`,
      `${T.instance}::worker-ami-builder`,
      ...STEP_ORDER.map(cmd),
      `${T.amiFromInstance}::worker-ami-ami`,
      `${T.instanceState}::worker-ami-builder-stopped`,
    ].sort());
  });

  it("the builder: IMDSv2 only, encrypted root volume, no public IP, replaced when its user data changes", () => {
    const i = get(run, T.instance, "worker-ami-builder").inputs;
    assert.equal(i.metadataOptions.httpTokens, "required");
    assert.equal(i.rootBlockDevice.encrypted, true);
    assert.equal(i.associatePublicIpAddress, false);
    assert.equal(i.userDataReplaceOnChange, true);
    assert.equal(i.ami, BASE_AMI);
    assert.equal(i.instanceType, "t2.micro");
    assert.equal(i.subnetId, "subnet-0123456789abcdef0");
    assert.deepEqual(i.vpcSecurityGroupIds, [get(run, T.securityGroup, "worker-ami-builder-sg").state.id]);
    assert.equal(i.keyName, "worker-ami-builder-key");
  });

  it("SSH into the builder only from the CI server's group; the key pair holds the public key only", () => {
    const ssh = get(run, T.ingress, "worker-ami-builder-ssh-from-ci").inputs;
    assert.equal(ssh.referencedSecurityGroupId, "sg-0123456789abcdef0");
    assert.equal(ssh.fromPort, 22);
    assert.equal(ssh.cidrIpv4, undefined);
    const key = get(run, T.keyPair, "worker-ami-builder-key").inputs.publicKey;
    assert.equal(isSecretEnvelope(key), false);
    assert.match(key, /^ssh-ed25519 [A-Za-z0-9+/=]+$/);
  });

  it("the steps run one after another: wait-ssh → apt-proxy → profile-proxy → docker → docker-proxy → check → image → stopped", () => {
    const chain = [...STEP_ORDER.map(cmd), `${T.amiFromInstance}::worker-ami-ami`, `${T.instanceState}::worker-ami-builder-stopped`];
    const [first, ...rest] = chain;
    const byKey = (k: string) => run.engine.resources.find((r) => keyOf(r) === k)!;
    assert.deepEqual(byKey(first).dependsOn, [`${T.instance}::worker-ami-builder`]);
    rest.forEach((k, i) => assert.deepEqual(byKey(k).dependsOn, [chain[i]], `${k} waits for ${chain[i]}`));
    const stop = get(run, T.instanceState, "worker-ami-builder-stopped").inputs;
    assert.equal(stop.state, "stopped");
    assert.equal(stop.instanceId, get(run, T.instance, "worker-ami-builder").state.id);
  });

  it("each step: plain script, secret stdin, no previous output in env; the stdin is what the pure builderSteps gives", () => {
    const expected = builderSteps({ http: PROXY, https: PROXY, noProxy: NO_PROXY });
    assert.deepEqual(expected.map((s) => `worker-ami-${s.name}`), STEP_ORDER.slice(1));
    for (const step of expected) {
      const i = get(run, T.command, `worker-ami-${step.name}`).inputs;
      assert.equal(i.addPreviousOutputInEnv, false);
      assert.equal(isSecretEnvelope(i.create), false, "the script shows in previews");
      assert.equal(i.create, step.create);
      assert.ok(isSecretEnvelope(i.stdin), `${step.name} stdin is secret`);
      assert.equal(revealed(run, `worker-ami-${step.name}`, "stdin"), step.stdin ?? "");
      assert.ok(isSecretEnvelope(i.connection));
    }
    assert.match(revealed(run, "worker-ami-apt-proxy", "stdin"), /Acquire::http::Proxy "http:\/\/192\.0\.2\.1:3128\/";/);
  });

  it("the SSH connection goes to the builder's private address and is patient", () => {
    const c = revealed(run, "worker-ami-wait-ssh", "connection");
    assert.equal(c.host, "10.0.1.10");
    assert.equal(c.user, "ubuntu");
    assert.equal(c.dialErrorLimit, -1);
    assert.match(c.privateKey, /^-----BEGIN PRIVATE KEY-----/);
  });

  it("the image name, the image tag and the builder's user data carry the hash of base image + steps", () => {
    const hash = sha256(JSON.stringify([BASE_AMI, builderSteps({ http: PROXY, https: PROXY, noProxy: NO_PROXY })])).slice(0, 16);
    const ami = get(run, T.amiFromInstance, "worker-ami-ami").inputs;
    assert.equal(ami.name, `gitlab-runner-worker-${hash}`);
    assert.equal(ami.tags["gitlab-runner-autoscaling:content"], hash);
    assert.equal(ami.sourceInstanceId, get(run, T.instance, "worker-ami-builder").state.id);
    const userData = get(run, T.instance, "worker-ami-builder").inputs.userData;
    assert.ok(isSecretEnvelope(userData), "the user data holds the builder's private host key: a secret");
    assert.ok((unwrapSecrets(userData) as string).startsWith(`#cloud-config\n# gitlab-runner-autoscaling provisioning ${hash}\n`));
  });

  it("the builder's host key: installed by its user data, pinned in every builder connection", () => {
    const userData = parse(unwrapSecrets(get(run, T.instance, "worker-ami-builder").inputs.userData) as string);
    assert.equal(userData.ssh_deletekeys, true);
    const pinned = revealed(run, "worker-ami-wait-ssh", "connection").hostKey;
    assert.equal(userData.ssh_keys.ed25519_public, `${pinned} ${BUILDER_HOST_KEY_COMMENT}`);
    assert.equal(openSshPublicKey(userData.ssh_keys.ed25519_private), pinned, "the private key in the user data is the pinned key's other half");
    for (const name of STEP_ORDER) assert.equal(revealed(run, name, "connection").hostKey, pinned, name);
    const dev = devStack() as any;
    assert.equal(revealed(run, "ci-server-config-toml-read", "connection").hostKey, dev.ciServer.hostKey, "the CI server's connection pins ciServer.hostKey");
    assert.notEqual(pinned, dev.ciServer.hostKey);
  });

  it("the stack's amiId is the built image", () => {
    assert.equal(run.outputs.amiId, get(run, T.amiFromInstance, "worker-ami-ami").state.id);
  });
});
