import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { sshConnection } from "../../components/connection";
import { ProxyAmi } from "../../components/proxyAmi";
import { RemoteFileEdit } from "../../components/remoteFileEdit";
import { RunnerCredentials } from "../../components/runnerCredentials";
import { RunnerNetwork } from "../../components/runnerNetwork";
import { configTomlEdit } from "../../core/ciServer/edits";
import { scriptBody } from "../../core/remote/shell";
import { OfflineEngine } from "../../offline/mockEngine";
import { placeholderSshKey } from "../../offline/placeholders";
import { PROJECT, type OfflineRun } from "../../offline/runOffline";
import {
  PATHS, T, TEST_PROVIDER_SECRET, cachedRun, commands, devStack, fixtureWorld, get, isSecretEnvelope, revealPublic, revealed,
  settingsOf, settle, unwrapSecrets, valueOf, variant,
} from "../helpers/offlineWorld";

/** An engine whose provider does NOT mark the access key's secret: what the component adds itself. */
class PlainProviderEngine extends OfflineEngine {
  async newResource(args: pulumi.runtime.MockResourceArgs) {
    const r = await super.newResource(args);
    if (args.type === T.accessKey) r.state.secret = this.world.providerSecret;
    return r;
  }
}

/** Records each child's resource options (legacy transformations reach a component's children). */
function optionRecorder() {
  const seen = new Map<string, pulumi.CustomResourceOptions>();
  const transformation: pulumi.ResourceTransformation = (t) => {
    seen.set(t.name, t.opts as pulumi.CustomResourceOptions);
    return undefined;
  };
  return { seen, transformations: [transformation] };
}

const settleRpcs = () => (pulumi.runtime as any).waitForRPCs().catch(() => undefined);

describe("Secrets", () => {
  describe("pulumi.isSecret on component outputs (components instantiated directly)", () => {
    let engine: OfflineEngine;
    beforeEach(() => {
      engine = new PlainProviderEngine(fixtureWorld());
      pulumi.runtime.setMocks(engine, PROJECT, "test");
    });
    afterEach(settleRpcs);

    it("RunnerCredentials: the secret access key is secret even if the provider did not mark it; id, user, policy are not", async () => {
      const rec = optionRecorder();
      const creds = new RunnerCredentials("t", {
        mode: "accessKey", region: "ap-northeast-1", spot: true, workerInstanceProfile: "example-worker-profile", keyGeneration: 1,
      }, { transformations: rec.transformations });
      assert.equal(await pulumi.isSecret(creds.secretAccessKey!), true);
      assert.equal(await valueOf(creds.secretAccessKey!), TEST_PROVIDER_SECRET);
      assert.equal(await pulumi.isSecret(creds.accessKeyId!), false);
      assert.match(await valueOf(creds.accessKeyId!), /^AKIA/);
      assert.equal(await pulumi.isSecret(creds.userName!), false);
      assert.equal(await pulumi.isSecret(creds.policy), false);
      // The real engine encrypts the key's secret in state because of this option (the mock ignores it).
      assert.ok(rec.seen.get("t-key-1")?.additionalSecretOutputs?.includes("secret"));
    });

    it("sshConnection: the private key (and the bastion's) is secret", async () => {
      const c = sshConnection({
        endpoint: { host: "192.0.2.3", user: "ec2-user", port: 22 }, privateKey: placeholderSshKey("x"),
        bastion: { host: "198.51.100.7", user: "ec2-user", port: 22 },
      });
      assert.equal(await pulumi.isSecret(c.privateKey as pulumi.Output<string>), true);
      assert.equal(await pulumi.isSecret((c.proxy as any).privateKey), true);
      assert.equal(await pulumi.isSecret(c.host as pulumi.Output<string>), false);
    });

    it("ProxyAmi with proxy credentials: the AMI id stays plain (usable and visible), the steps' stdin is secret", async () => {
      const s = settingsOf(devStack());
      const ami = new ProxyAmi("t-ami", {
        ami: s.ami, vpcId: s.workers.vpcId, ciSecurityGroupId: s.ciServer.securityGroupId, sshPrivateKey: pulumi.secret(placeholderSshKey("x")),
        proxy: pulumi.secret({ http: "http://u:pw@192.0.2.1:3128", https: "http://u:pw@192.0.2.1:3128", noProxy: "localhost" }),
      });
      assert.equal(await pulumi.isSecret(ami.amiId), false);
      assert.match(await valueOf(ami.amiId), /^ami-/);
      assert.equal(await pulumi.isSecret(ami.baseAmiId), false);
      await settleRpcs();
      const steps = engine.resources.filter((r) => r.type === T.command && r.name !== "t-ami-wait-ssh");
      assert.equal(steps.length, 5);
      for (const r of steps) {
        assert.ok(isSecretEnvelope(r.inputs.stdin), r.name);
        assert.equal(typeof r.inputs.create, "string", r.name);
      }
      const name = engine.resources.find((r) => r.type === T.amiFromInstance)!.inputs.name;
      assert.equal(typeof name, "string", "the image name (with the content hash) is not secret");
    });

    it("RemoteFileEdit: the read's stdout/stderr are marked secret outputs; the result is plain; the secret key only in stdin", async () => {
      const rec = optionRecorder();
      const s = settingsOf(devStack());
      const editOf = configTomlEdit({
        settings: s, amiId: "ami-0123456789abcdef0", securityGroupName: "workers",
        accessKey: { id: "AKIAEXAMPLE", secret: "secret-in-the-edit" },
      });
      const e = new RemoteFileEdit("t-toml", {
        connection: sshConnection({ endpoint: s.ciServer, privateKey: placeholderSshKey("x") }),
        path: PATHS.configToml,
        edit: pulumi.secret(editOf),
      }, { transformations: rec.transformations });
      assert.equal(await pulumi.isSecret(e.result), false);
      const secretOutputs = rec.seen.get("t-toml-read")?.additionalSecretOutputs ?? [];
      assert.ok(secretOutputs.includes("stdout") && secretOutputs.includes("stderr"), String(secretOutputs));
      await settleRpcs();
      const write = engine.resources.find((r) => r.name === "t-toml-write")!;
      assert.equal(typeof write.inputs.create, "string", "a secret edit still shows its masked summary");
      assert.ok(!JSON.stringify(revealPublic(write.inputs)).includes("secret-in-the-edit"));
      assert.ok(String(unwrapSecrets(write.inputs.stdin)).includes("amazonec2-secret-key=secret-in-the-edit"));
    });

    it("RunnerNetwork: the worker group's name (for docker-machine) is plain", async () => {
      const n = new RunnerNetwork("t-net", { ciSecurityGroupId: "sg-0123456789abcdef0", workerSecurityGroupId: "sg-0fedcba9876543210" });
      assert.equal(await pulumi.isSecret(n.workerSecurityGroupName), false);
      assert.equal(await valueOf(n.workerSecurityGroupName), "group-0fedcba9876543210");
    });
  });

  describe("secret-bearing inputs recorded on the dev stack are secret envelopes", () => {
    let run: OfflineRun;
    before(async () => {
      run = await cachedRun(variant((c) => { c.proxyCredentials = "user:pw"; }));
    });

    it("every remote command's connection", () => {
      for (const c of commands(run)) assert.ok(isSecretEnvelope(c.inputs.connection), c.name);
    });

    it("every write's and every builder step's stdin; no command script is secret", () => {
      for (const c of commands(run)) {
        assert.equal(typeof c.inputs.create, "string", `${c.name} create`);
        if (c.inputs.delete !== undefined) assert.equal(typeof c.inputs.delete, "string", `${c.name} delete`);
        if (c.name.endsWith("-write") || (c.name.startsWith("worker-ami-") && c.name !== "worker-ami-wait-ssh")) {
          assert.ok(isSecretEnvelope(c.inputs.stdin), `${c.name} stdin`);
        } else {
          assert.equal(c.inputs.stdin, undefined, `${c.name} has no stdin`);
        }
      }
    });

    // DESIGN.md §Secrets: "Write files 0600". These three files hold the proxy user:password.
    // (Failed against commit 9d804a6, where all three were created 0644.)
    it("files that hold the proxy credentials are created 0600, not world-readable", () => {
      const modes = ["ci-server-docker-dropin-write", "worker-ami-apt-proxy", "worker-ami-docker-proxy"].map((name) => {
        assert.match(String(revealed(run, name, "stdin")), /user:pw@/, `${name} writes the credentials`);
        // Both get the mode in their preamble: the AMI's install as mode, the guarded write as new_mode.
        const body = scriptBody(get(run, T.command, name).inputs.create) ?? "";
        const m = /^(?:new_)?mode='([0-7]{4})'$/m.exec(body);
        return `${name}: ${m?.[1]}`;
      });
      assert.deepEqual(modes, ["ci-server-docker-dropin-write: 0600", "worker-ami-apt-proxy: 0600", "worker-ami-docker-proxy: 0600"]);
    });

    it("the access key's secret in state", async () => {
      const state = (await settle(get(run, T.accessKey, "runner-key-1").state)) as Record<string, unknown>;
      assert.ok(isSecretEnvelope(state.secret));
      assert.equal(unwrapSecrets(state.secret), TEST_PROVIDER_SECRET);
    });
  });

  describe("canary: no secret value is visible anywhere once envelopes are removed", () => {
    const AWS = "CANARY-aws-secret-7731";
    const PROXY_PW = "CANARY-pw-7731";
    const PROXY_USER = "canaryuser";
    const pem = placeholderSshKey("CANARY-ssh-7731");
    // The key's base64 body (the part that is the secret) and its armour.
    const PEM_BODY = pem.split("\n").filter((l) => l && !l.startsWith("-----"));
    const CANARIES = [AWS, PROXY_PW, PROXY_USER, ...PEM_BODY, "PRIVATE KEY"];
    const hits = (text: string) => CANARIES.filter((c) => text.includes(c));

    let run: OfflineRun;
    let states: unknown[];
    before(async () => {
      const config = { ...devStack(), sshPrivateKey: pem, proxyCredentials: `${PROXY_USER}:${PROXY_PW}` };
      run = await cachedRun(config, fixtureWorld({ providerSecret: AWS }));
      states = await Promise.all(run.engine.resources.map((r) => settle(r.state)));
    });

    it("the canaries are well-formed (the PEM body is non-trivial)", () => {
      assert.ok(PEM_BODY.length >= 1 && PEM_BODY.every((l) => l.length >= 40), pem);
    });

    it("every recorded input, with secret envelopes removed: zero hits", () => {
      for (const r of run.engine.resources) assert.deepEqual(hits(JSON.stringify(revealPublic(r.inputs))), [], `${r.type}::${r.name}`);
    });

    it("every recorded state, with secret envelopes removed: zero hits", () => {
      run.engine.resources.forEach((r, i) => assert.deepEqual(hits(JSON.stringify(revealPublic(states[i]))), [], `${r.type}::${r.name}`));
    });

    it("every command script (create and delete): zero hits", () => {
      const scripts = commands(run).flatMap((c) => [c.inputs.create, c.inputs.delete]).filter((s) => s !== undefined);
      assert.equal(scripts.length, 6 + 5 * 3 + 2, "6 builder steps; 5 reads; 5 writes with create and delete; the worker cleanup's create and delete");
      for (const s of scripts) {
        assert.equal(typeof s, "string");
        assert.deepEqual(hits(s), []);
      }
    });

    it("the stack outputs: zero hits", () => {
      assert.deepEqual(hits(JSON.stringify(run.outputs)), []);
    });

    it("the masked values still show where a credential is used", () => {
      const dropIn = get(run, T.command, "ci-server-docker-dropin-write").inputs.create;
      assert.ok(dropIn.includes('# Environment="HTTP_PROXY=http://[secret]@192.0.2.1:3128"'));
      const toml = get(run, T.command, "ci-server-config-toml-write").inputs.create;
      assert.ok(toml.includes("# MachineOptions: amazonec2-secret-key=[secret]\n"));
      assert.ok(toml.includes("# MachineOptions: engine-env=HTTP_PROXY=http://[secret]@192.0.2.1:3128\n"));
    });

    it("the scan can fail: with envelopes opened, the canaries are there", () => {
      assert.ok(String(revealed(run, "ci-server-config-toml-write", "stdin")).includes(`amazonec2-secret-key=${AWS}`));
      assert.ok(String(revealed(run, "ci-server-docker-dropin-write", "stdin")).includes(`http://${PROXY_USER}:${PROXY_PW}@192.0.2.1:3128`));
      assert.equal(revealed(run, "ci-server-config-toml-read", "connection").privateKey, pem);
      const opened = JSON.stringify([...run.engine.resources.map((r) => unwrapSecrets(r.inputs)), ...states.map(unwrapSecrets)]);
      assert.deepEqual(hits(opened), CANARIES);
    });
  });
});
