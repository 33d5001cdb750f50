// offline/operations.ts: the operations and their order the offline engine predicts for an up or a
// destroy. Each case is one the real engine was run on (test/real/), with the engine's answer.
import { strict as assert } from "node:assert";
import { predictDestroy, predictUp, stepsBetween, type Prediction } from "../../offline/operations";
import type { OfflineRun } from "../../offline/runOffline";
import { devStack, fixtureWorld, runStack, variant, type StackConfig } from "../helpers/offlineWorld";

const runner = (config: StackConfig) => (renewed: string[]) => runStack(config, { ...fixtureWorld(), renewed });
const changed = (p: Prediction) => p.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.key.slice(s.key.indexOf("::") + 2)}`).sort();
const ordered = (p: Prediction, a: string, b: string) => p.order.some(([x, y]) => x === a && y === b);

describe("offline/operations: predicted steps and order (checked against the real engine in test/real/)", () => {
  let base: OfflineRun;
  const proxied = () => variant((c) => { c.proxyCredentials = "canaryuser:CANARY-pw-7731"; });
  before(async () => {
    base = (await predictUp(undefined, runner(proxied()))).after;
  });

  it("a new stack: every resource a create, each after what it waits for", async () => {
    const p = await predictUp(undefined, runner(proxied()));
    assert.ok(p.steps.every((s) => s.op === "create"));
    assert.equal(p.steps.length, base.engine.resources.length);
    assert.ok(ordered(p, "command:remote:Command::ci-server-config-toml-read", "command:remote:Command::ci-server-config-toml-write"));
  });

  it("the same settings again: every resource the same", async () => {
    const p = await predictUp(base, runner(proxied()));
    assert.deepEqual(changed(p), []);
  });

  it("runner.idleTime: the config.toml read is replaced (its trigger), the write and the worker notice updated", async () => {
    const p = await predictUp(base, runner(variant((c) => { c.runner.idleTime = 2400; }, proxied())));
    assert.deepEqual(changed(p), ["replace ci-server-config-toml-read", "update ci-server-config-toml-write", "update workers-cleanup"]);
    assert.deepEqual(p.steps.find((s) => s.key.endsWith("::ci-server-config-toml-read"))!.replaces, ["triggers"]);
    // The replaced read's old copy goes at the end, after every provider step.
    assert.ok(ordered(p, "command:remote:Command::ci-server-config-toml-write", "command:remote:Command::ci-server-config-toml-read#delete"));
  });

  it("a proxy password change fires the builder's replacementTrigger; its new ids replace the image and the stop, and re-run every step", async () => {
    const p = await predictUp(base, runner(variant((c) => { c.proxyCredentials = "canaryuser:CANARY-pw-8842"; }, proxied())));
    const builder = p.steps.find((s) => s.key === "aws:ec2/instance:Instance::worker-ami-builder")!;
    assert.equal(builder.op, "replace");
    assert.deepEqual(builder.replaces, ["replacementTrigger"]);
    // Only the new builder's id makes these new (the AMI's name is the masked hash: unchanged).
    assert.deepEqual(p.steps.find((s) => s.key === "aws:ec2/amiFromInstance:AmiFromInstance::worker-ami-ami")!.replaces, ["sourceInstanceId"]);
    assert.deepEqual(p.steps.find((s) => s.key === "aws:ec2transitgateway/instanceState:InstanceState::worker-ami-builder-stopped")!.replaces, ["instanceId"]);
    for (const step of ["wait-ssh", "apt-proxy", "profile-proxy", "docker", "docker-proxy", "check"]) {
      assert.equal(p.steps.find((s) => s.key === `command:remote:Command::worker-ami-${step}`)!.op, "update", step);
    }
    // The edits whose content holds the password re-read their file (their trigger is its secret hash).
    assert.deepEqual(p.renewed.sort(), ["aws:ec2/amiFromInstance:AmiFromInstance::worker-ami-ami", "aws:ec2/instance:Instance::worker-ami-builder",
      "aws:ec2transitgateway/instanceState:InstanceState::worker-ami-builder-stopped",
      "command:remote:Command::ci-server-config-toml-read", "command:remote:Command::ci-server-docker-dropin-read"]);
    // The next up, carrying the renewals, changes nothing: the new copies are the stack's now.
    const next = await predictUp(p.after, runner(variant((c) => { c.proxyCredentials = "canaryuser:CANARY-pw-8842"; }, proxied())), p.renewed);
    assert.deepEqual(changed(next), []);
  });

  it("runner.keyGeneration: a new key (another name) is created, the old one deleted after every provider step", async () => {
    const p = await predictUp(base, runner(variant((c) => { c.runner.keyGeneration = 2; }, proxied())));
    assert.ok(changed(p).includes("create runner-key-2"));
    assert.ok(changed(p).includes("delete runner-key-1"));
    assert.ok(changed(p).includes("replace workers-cleanup"));
    assert.ok(ordered(p, "command:remote:Command::ci-server-config-toml-write", "aws:iam/accessKey:AccessKey::runner-key-1#delete"));
    assert.ok(ordered(p, "command:remote:Command::workers-cleanup#delete", "aws:iam/accessKey:AccessKey::runner-key-1#delete"));
  });

  it("destroy: a resource before what it depends on, a child before its parent", () => {
    const p = predictDestroy(base);
    assert.ok(p.steps.every((s) => s.op === "delete"));
    assert.ok(ordered(p, "command:remote:Command::ci-server-config-toml-write#delete", "command:remote:Command::ci-server-config-toml-read#delete"));
    assert.ok(ordered(p, "command:remote:Command::workers-cleanup#delete", "gitlab-runner-autoscaling:ci:WorkerCleanup::workers#delete"));
  });

  it("a cascade of replacements that never settles is an error, not a prediction", async () => {
    const cmd = (name: string, trigger: string) => ({ type: "command:remote:Command", name, urn: `command:remote:Command::${name}`, dependsOn: [], inputs: { create: "true", triggers: [trigger] }, state: {} });
    const names = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const before = { engine: { resources: names.map((n) => cmd(n, "a")) } } as unknown as OfflineRun;
    // Each run replaces one more resource than the renewals so far: a new replacement every round.
    const run = async (renewed: string[]) => ({ engine: { resources: names.map((n, i) => cmd(n, i <= renewed.length ? "b" : "a")) } }) as unknown as OfflineRun;
    await assert.rejects(predictUp(before, run), /^Error: predictUp: replacements still cascading after 12 runs: command:remote:Command::c11$/);
  });

  it("an ignored change is no change; a null replacementTrigger never fires", async () => {
    const run = await runStack(devStack());
    const [a] = run.engine.resources.filter((r) => r.type === "aws:ec2/instance:Instance");
    const b = { ...a, inputs: { ...a.inputs, instanceType: "t3.large" }, ignoreChanges: ["instanceType"] };
    assert.deepEqual((await stepsBetween([a], [b]))[0].op, "same");
    const c = { ...a, inputs: { ...a.inputs, instanceType: "t3.large" }, replacementTrigger: null };
    assert.deepEqual((await stepsBetween([{ ...a, replacementTrigger: "x" }], [c]))[0].op, "update");
  });
});
