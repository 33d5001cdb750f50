// Issue 16, section 2, scenarios 3, 4 and 5 (the key) with the real Pulumi engine, on one stack:
// a runner.idleTime change, a proxy password change (the AMI rebuilt through the builder's
// replacementTrigger, new before old), a runner.keyGeneration bump. Each: what the preview names,
// what up does, what the sandboxes saw, and the offline engine's prediction of both.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { CANARY_PROXY_CREDENTIALS, CI_PATHS, type StackConfig } from "../host/programRun";
import { previewBlock, SECRET_KEYS, sshRuns, type EngineRun, type Operation } from "./engine";
import { seqOf, stepsOf } from "./differential";
import { changesOf, useRealWorld } from "./world";

const STACK = "changes";
const cmd = (n: string) => `command:remote:Command::${n}`;
const changedSteps = (ops: Operation[]) => ops.filter((o) => o.op !== "same").map((o) => `${o.op} ${o.key.slice(o.key.indexOf("::") + 2)}`).sort();
const runsOn = (r: EngineRun, host: RegExp) => sshRuns(r).filter((c) => host.test(String(c.host))).length;
const BUILDER = /^127\.0\.\d+\.\d+:22$/;
const CI = /^127\.0\.0\.1:\d+$/;

describe("real engine (Pulumi CLI v3.276.0): idleTime change, proxy password change, key rotation", function () {
  this.timeout(300_000);
  const w = useRealWorld(STACK);
  const changes = changesOf(w, STACK);
  const change = (next: StackConfig) => changes.change(next);

  before(async function () {
    await changes.start(w.config());
  });

  it("(3) runner.idleTime 1800 → 2400: the preview names the config.toml edit and the worker notice only; up writes config.toml and the runner reloads it", async () => {
    const { preview, up } = await change(w.config((c) => { c.runner.idleTime = 2400; }));
    // preview --diff shows the managed value's header line changed (README quotes this output).
    const write = previewBlock(preview.output, "ci-server-config-toml-write").map((l) => l.trim());
    assert.ok(write.includes("- # IdleTime = 1800") && write.includes("+ # IdleTime = 2400"), write.join("\n"));
    const notice = previewBlock(preview.output, "workers-cleanup").map((l) => l.trim());
    assert.ok(notice.includes("- # MaxBuilds = 100, IdleTime = 1800") && notice.includes("+ # MaxBuilds = 100, IdleTime = 2400"), notice.join("\n"));
    const expected = ["replace ci-server-config-toml-read", "update ci-server-config-toml-write", "update workers-cleanup"];
    assert.deepEqual(changedSteps(preview.operations).filter((s) => !s.startsWith("create-replacement") && !s.startsWith("delete-replaced")), expected);
    assert.deepEqual(changedSteps(up.operations).filter((s) => !s.startsWith("create-replacement") && !s.startsWith("delete-replaced")), expected);
    assert.match(w.ci().readFile(CI_PATHS.configToml).toString("utf8"), /IdleTime = 2400\n/);
    assert.ok(w.ci().events().some((e) => e.event === "runner-reload" && e.ok === true), JSON.stringify(w.ci().events()));
    // The read, the write and the notice ran; nothing else, nothing on the builder.
    assert.equal(runsOn(up, CI), 3);
    assert.equal(runsOn(up, BUILDER), 0);
  });

  it("a write that fails on the server: up reports the command and its output, no state is written for it, the next up runs it again", async () => {
    const sb = w.ci();
    const state = "/var/lib/gitlab-runner-autoscaling/config-toml";
    // The write's state directory is a file now: its `mkdir -p` fails before anything is written.
    assert.equal((await sb.exec(`sudo -n sh -c 'mv ${state} ${state}.aside && : > ${state}'`)).code, 0);
    const next = w.config((c) => { c.runner.idleTime = 2500; c.proxyCredentials = changes.config().proxyCredentials; });
    await w.stack().setConfig(next, SECRET_KEYS);
    await assert.rejects(w.stack().up(), (e: Error) => /ci-server-config-toml-write/.test(e.message) && /Process exited with status 1: running/.test(e.message) && /File exists/.test(e.message));
    assert.match(sb.readFile(CI_PATHS.configToml).toString("utf8"), /IdleTime = 2400\n/, "config.toml untouched");
    assert.equal((await sb.exec(`sudo -n sh -c 'rm ${state} && mv ${state}.aside ${state}'`)).code, 0);
    // The failed write kept its old state: the preview and the next up still update it. The read,
    // replaced before the write failed, is done; its old copy, left in the state to be deleted,
    // goes with the next up (the preview lists that delete in some runs, not in others).
    const pendingDelete = "delete-replaced ci-server-config-toml-read";
    const preview = await w.stack().preview(false);
    assert.deepEqual(changedSteps(preview.operations).filter((x) => x !== pendingDelete), ["update ci-server-config-toml-write"]);
    const retry = await w.stack().up();
    assert.deepEqual(changedSteps(retry.operations).filter((x) => x !== pendingDelete), ["update ci-server-config-toml-write"]);
    const reads = (JSON.parse(fs.readFileSync(w.stack().statePath(), "utf8")).checkpoint.latest.resources as { urn: string; delete?: boolean }[])
      .filter((r) => r.urn.endsWith("::ci-server-config-toml-read"));
    assert.deepEqual(reads.map((r) => !!r.delete), [false], "one read left in the state, none pending delete");
    assert.match(sb.readFile(CI_PATHS.configToml).toString("utf8"), /IdleTime = 2500\n/);
    await changes.sync(next);
  });

  it("(4) a new proxy password: the builder is replaced through its replacementTrigger, the AMI rebuilt, each new copy before the old one goes", async () => {
    const { preview, up } = await change(w.config((c) => { c.proxyCredentials = CANARY_PROXY_CREDENTIALS.replace("7731", "8842"); }));
    for (const k of ["aws:ec2/instance:Instance::worker-ami-builder", "aws:ec2/amiFromInstance:AmiFromInstance::worker-ami-ami", "aws:ec2transitgateway/instanceState:InstanceState::worker-ami-builder-stopped"]) {
      assert.ok(stepsOf(preview.operations, "replace").includes(k), `preview replaces ${k}`);
      const made = up.operations.find((o) => o.key === k && o.op === "create-replacement");
      const gone = up.operations.find((o) => o.key === k && o.op === "delete-replaced");
      assert.ok(made && gone && made.seq < gone.seq, `${k}: new copy before the old one is deleted`);
    }
    // Every provisioning step ran again, on the new builder.
    assert.equal(runsOn(up, BUILDER), 6);
    assert.match(w.builder().readFile("/etc/apt/apt.conf.d/95gitlab-runner-autoscaling-proxy").toString("utf8"), /CANARY-pw-8842/);
  });

  it("(5) runner.keyGeneration 1 → 2: the new key is created, config.toml and the worker notice take it, the old key is deleted last", async () => {
    const { up } = await change(w.config((c) => { c.runner.keyGeneration = 2; c.proxyCredentials = changes.config().proxyCredentials; }));
    const newKey = seqOf(up.operations, "aws:iam/accessKey:AccessKey::runner-key-2", "create");
    const write = seqOf(up.operations, cmd("ci-server-config-toml-write"), "update");
    const oldKey = seqOf(up.operations, "aws:iam/accessKey:AccessKey::runner-key-1", "delete");
    assert.ok(newKey >= 0 && write > newKey && oldKey > write, `create key 2 (${newKey}) < config.toml write (${write}) < delete key 1 (${oldKey})`);
    assert.ok(stepsOf(up.operations, "create-replacement").includes(cmd("workers-cleanup")), "the worker cleanup is replaced: its old delete removes the old key's workers");
    assert.match(w.ci().readFile(CI_PATHS.configToml).toString("utf8"), /amazonec2-access-key=AKIA/);
  });
});
