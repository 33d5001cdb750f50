// The Docker Autoscaler's CI-server resources under the offline engine: the worker key command
// really runs (its script under /bin/sh on a temp volume), so the test can look for the private
// key it generated in everything Pulumi would keep (inputs, state, outputs) and find it nowhere.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { autoscalerCiServer, runnerConfigVolume } from "../../components/autoscalerCiServer";
import { editCompose } from "../../core/ciServer/compose/composeFile";
import { readResultLine } from "../../core/remote/readResult";
import { scriptBody, scriptHeader } from "../../core/remote/shell";
import { STATE_DIR } from "../../core/remote/scripts";
import { OfflineEngine, OFFLINE_WORKER_PUBLIC_KEY, unwrapSecrets } from "../../offline/mockEngine";
import { PROJECT } from "../../offline/runOffline";
import { placeholderSshKey } from "../../offline/placeholders";
import { fixture } from "../helpers/fixtures";
import { T } from "../helpers/offlineWorld";

const COMPOSE = { appDir: "/home/ec2-user/nop/docker/ci", command: "docker compose" as const };
const FLEETING = "gitlab-runner-autoscaling:ci:FleetingPlugin";
const KEY = "gitlab-runner-autoscaling:ci:WorkerSshKey";

interface Run {
  engine: OfflineEngine;
  outputs: Record<string, unknown>;
  executed: string[];
}

async function run(volumeHost: string, stateDir: string, execute: boolean): Promise<Run> {
  const engine = new OfflineEngine({
    serverFiles: {},
    providerSecret: "unused",
    account: "123456789012",
    execute: execute ? async (cmd) => {
      executed.push(cmd.name);
      const header = scriptHeader(cmd.create)[0] ?? "";
      if (header.startsWith("gitlab-runner-autoscaling: worker SSH key ")) {
        // The program's own script, on a temp volume and state dir instead of the server's.
        const body = scriptBody(cmd.create)!.split(`'${STATE_DIR}/`).join(`'${stateDir}/`);
        const r = spawnSync("/bin/sh", ["-c", body], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(r.stderr);
        return { stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr };
      }
      if (cmd.name.endsWith("-read")) return { stdout: readResultLine(editCompose(fixture("collaborage/ci-docker-compose.yml"), { envFile: { service: "gitlab-runner", file: "./common.env" } }).text), stderr: "" };
      if (cmd.name.endsWith("-write")) return { stdout: "wrote: docker-compose.yml", stderr: "" };
      return { stdout: "installed: aws:1.0.0 at /etc/gitlab-runner/fleeting-plugins/registry.gitlab.com/gitlab-org/fleeting/plugins/aws/1.0.0/plugin", stderr: "" };
    } : undefined,
  });
  const executed: string[] = [];
  pulumi.runtime.setMocks(engine, PROJECT, "dev", false);
  pulumi.runtime.setAllConfig({}, []);
  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(engine.transformation);
    const before = new pulumi.ComponentResource("test:ci:ProxySteps", "proxy-steps", {});
    const r = autoscalerCiServer("autoscaler", {
      connection: { host: "192.0.2.10", user: "ec2-user", privateKey: pulumi.secret(placeholderSshKey("autoscaler test")) },
      compose: COMPOSE,
      runnerConfigPath: `${volumeHost}/config.toml`,
      plugin: "aws:1.0.0",
      proxy: true,
      tags: { Project: "test" },
      after: [before],
    });
    return { keyName: r.keyName, keyPath: r.keyPath, ready: r.ready.map((x) => (x as any).__name as string) };
  });
  await pulumi.runtime.disconnect();
  return { engine, outputs: (outputs ?? {}) as Record<string, unknown>, executed };
}

describe("autoscalerCiServer (mock engine)", function () {
  this.timeout(120_000);
  let tmp: string;
  let r: Run;
  let key: string;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gra-autoscaler-"));
    fs.mkdirSync(path.join(tmp, "config"));
    r = await run(path.join(tmp, "config"), path.join(tmp, "state"), true);
    key = path.join(tmp, "config/ssh/id_ed25519");
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const res = (type: string, name: string) => {
    const x = r.engine.find(type, name);
    assert.ok(x, `no ${type}::${name}; have ${r.engine.resources.map((y) => y.urn).join(", ")}`);
    return x;
  };

  it("the config volume is config.toml's directory, mounted at /etc/gitlab-runner", () => {
    assert.deepEqual(runnerConfigVolume("/data/gitlab-runner/config/config.toml"), { host: "/data/gitlab-runner/config", container: "/etc/gitlab-runner" });
  });

  it("makes the plugin (compose edit, then install) and the key (command, then key pair), each after `after`", () => {
    assert.equal(res(FLEETING, "autoscaler-fleeting").parent, undefined);
    assert.deepEqual(res(FLEETING, "autoscaler-fleeting").dependsOn, ["test:ci:ProxySteps::proxy-steps"]);
    assert.equal(res(T.fileEdit, "autoscaler-fleeting-compose").parent, `${FLEETING}::autoscaler-fleeting`);
    assert.deepEqual(res(T.command, "autoscaler-fleeting-compose-read").dependsOn, ["test:ci:ProxySteps::proxy-steps"]);
    assert.deepEqual(res(T.command, "autoscaler-fleeting-install").dependsOn, [`${T.fileEdit}::autoscaler-fleeting-compose`]);
    assert.deepEqual(res(T.command, "autoscaler-worker-key-generate").dependsOn, ["test:ci:ProxySteps::proxy-steps"]);
    assert.equal(res(T.keyPair, "autoscaler-worker-key-pair").parent, `${KEY}::autoscaler-worker-key`);
    assert.deepEqual(r.outputs.ready, ["autoscaler-fleeting", "autoscaler-worker-key"]);
    assert.deepEqual(r.executed.sort(), ["autoscaler-fleeting-compose-read", "autoscaler-fleeting-compose-write", "autoscaler-fleeting-install", "autoscaler-worker-key-generate"].sort());
  });

  it("the install's create and delete are the core scripts for aws:1.0.0 on the config volume; triggers are hashes", () => {
    const i = unwrapSecrets(res(T.command, "autoscaler-fleeting-install").inputs) as Record<string, any>;
    assert.deepEqual(scriptHeader(i.create), [
      "gitlab-runner-autoscaling: fleeting plugin aws:1.0.0 in container gitlab-runner",
      `FLEETING_PLUGIN_PATH = /etc/gitlab-runner/fleeting-plugins (host ${tmp}/config/fleeting-plugins)`,
    ]);
    assert.match(i.delete, /^# gitlab-runner-autoscaling: remove fleeting plugins at /);
    assert.equal(i.triggers.length, 2);
    for (const t of i.triggers) assert.match(t, /^[0-9a-f]{64}$/);
    const w = unwrapSecrets(res(T.command, "autoscaler-fleeting-compose-write").inputs) as Record<string, any>;
    assert.match(w.stdin, /\n {4}environment:\n {6}FLEETING_PLUGIN_PATH: \/etc\/gitlab-runner\/fleeting-plugins\n/);
  });

  it("the key pair imports exactly the public key the command printed; key_path is the container's view", () => {
    const pub = fs.readFileSync(`${key}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
    assert.equal(unwrapSecrets(res(T.keyPair, "autoscaler-worker-key-pair").inputs.publicKey), pub);
    assert.deepEqual(res(T.keyPair, "autoscaler-worker-key-pair").inputs.tags, { Project: "test" });
    assert.equal(r.outputs.keyPath, "/etc/gitlab-runner/ssh/id_ed25519");
    assert.equal(r.outputs.keyName, "autoscaler-worker-key-pair");
  });

  it("the private key appears nowhere in what Pulumi keeps: inputs, state, outputs", () => {
    const priv = fs.readFileSync(key, "utf8");
    const secretLines = priv.split("\n").filter((l) => l && !l.startsWith("-----"));
    assert.ok(secretLines.length >= 3, "the generated key has a body to look for");
    const kept = JSON.stringify([r.engine.resources.map((x) => [x.inputs, x.state]), r.outputs]);
    for (const l of secretLines) assert.ok(!kept.includes(l), `private key line found in state: ${l.slice(0, 12)}…`);
    assert.ok(!kept.includes("OPENSSH PRIVATE KEY"));
    const gen = unwrapSecrets(res(T.command, "autoscaler-worker-key-generate").state) as Record<string, any>;
    assert.equal(gen.stdout, fs.readFileSync(`${key}.pub`, "utf8").split(" ").slice(0, 2).join(" "));
    assert.equal(gen.stdin, undefined, "nothing goes to the server on stdin");
  });

  it("without a server (plan), the key pair gets the offline placeholder public key", async () => {
    const plan = await run(path.join(tmp, "plan-volume"), path.join(tmp, "plan-state"), false);
    assert.equal(plan.engine.find(T.keyPair, "autoscaler-worker-key-pair")!.inputs.publicKey, OFFLINE_WORKER_PUBLIC_KEY);
    assert.equal(fs.existsSync(path.join(tmp, "plan-volume")), false, "nothing ran");
  });
});
