import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import type { OfflineRun } from "../../offline/runOffline";
import { T, devStack, inputDiff, isSecretEnvelope, keyOf, revealPublic, runStack, unwrapSecrets, variant } from "../helpers/offlineWorld";

const byKey = (run: OfflineRun, view: (v: unknown) => unknown) =>
  Object.fromEntries(run.engine.resources.map((r) => [keyOf(r), view(r.inputs)]));

describe("Determinism", () => {
  let first: OfflineRun;
  let second: OfflineRun;
  before(async () => {
    // Fresh runs (not the cached ones), one after the other.
    first = await runStack(devStack());
    second = await runStack(devStack());
  });

  it("two runs with the same settings give the same inputs for every resource (as shown)", () => {
    assert.ok(first.engine.resources.length > 30);
    assert.deepEqual(byKey(second, (v) => revealPublic(v)), byKey(first, (v) => revealPublic(v)));
  });

  it("…and the same secret inputs, and the same stack outputs", () => {
    assert.deepEqual(byKey(second, unwrapSecrets), byKey(first, unwrapSecrets));
    assert.deepEqual(inputDiff(first, second), []);
    assert.deepEqual(second.outputs, first.outputs);
  });

  it("runner.idleTime 1800 → 900 changes only the config.toml read's trigger, the config.toml write's script and stdin, and the worker notice", async () => {
    const changed = await runStack(variant((c) => { c.runner.idleTime = 900; }));
    assert.deepEqual(inputDiff(first, changed), [
      "ci-server-config-toml-read.triggers",
      "ci-server-config-toml-write.create",
      "ci-server-config-toml-write.stdin",
      // Its header lists the workers' settings: the update re-runs it, which says how workers retire.
      "workers-cleanup.create",
    ]);
    const create = (run: OfflineRun) => run.engine.resources.find((r) => r.name === "ci-server-config-toml-write")!.inputs.create as string;
    assert.ok(create(first).includes("\n# IdleTime = 1800\n"));
    assert.ok(create(changed).includes("\n# IdleTime = 900\n"));
    assert.match(String(changed.outputs.summary), /removed after 900 s idle/);
  });

  it("a proxy-password change: secret stdin, the re-reads of the two files holding it, a secret rebuild trigger (the diff sees secrets)", async () => {
    const base = await runStack(variant((c) => { c.proxyCredentials = "user:pw"; }));
    const other = await runStack(variant((c) => { c.proxyCredentials = "user:other-password"; }));
    assert.deepEqual(inputDiff(base, other), [
      "ci-server-config-toml-read.triggers",
      "ci-server-config-toml-write.stdin",
      "ci-server-docker-dropin-read.triggers",
      "ci-server-docker-dropin-write.stdin",
      // A new builder (secret trigger below) gets a new host key: its secret user data, and the
      // public half every builder step's connection pins (public: it is derived one way).
      "worker-ami-apt-proxy.connection",
      "worker-ami-apt-proxy.stdin",
      "worker-ami-builder.userData",
      "worker-ami-check.connection",
      "worker-ami-docker-proxy.connection",
      "worker-ami-docker-proxy.stdin",
      "worker-ami-docker.connection",
      "worker-ami-docker.stdin",
      "worker-ami-profile-proxy.connection",
      "worker-ami-profile-proxy.stdin",
      "worker-ami-wait-ssh.connection",
    ], "the AMI's name and tags hash only masked values");
    // The builder (hence the image) is still rebuilt, through a secret replacement trigger.
    const trigger = async (run: OfflineRun) => {
      const t = run.engine.find(T.instance, "worker-ami-builder")!.replacementTrigger as pulumi.Output<string>;
      assert.ok(await pulumi.isSecret(t), "the rebuild trigger is secret");
      return (t as any).promise();
    };
    assert.notEqual(await trigger(base), await trigger(other));
  });

  // A write re-run without a re-read compares against the OLD read's hash: after the first apply the
  // file holds our own earlier write, so the guarded write would exit 3 on every later `pulumi up`.
  // (Failed against commit 9d804a6, where the trigger hashed only the masked write summary.)
  it("every edit whose write stdin changes is re-read (its read's triggers change), also for a secret-only change", async () => {
    const stack = (password: string) => variant((c) => { c.proxyCredentials = `user:${password}`; c.ami.existingAmi = "ami-0123456789abcdef0"; });
    const before = await runStack(stack("pw"));
    const after = await runStack(stack("other-password"));
    const diff = inputDiff(before, after);
    const staleReads = diff.filter((d) => d.startsWith("ci-server-") && d.endsWith("-write.stdin"))
      .map((d) => d.replace("-write.stdin", ""))
      .filter((edit) => !diff.includes(`${edit}-read.triggers`));
    assert.deepEqual(staleReads, [], `these writes would run against a stale read (their stdin changed, their read's triggers did not): ${staleReads.join(", ")}`);
    // …and a trigger that now depends on the password must not show it as a plain hash.
    for (const edit of ["ci-server-docker-dropin", "ci-server-config-toml"]) {
      assert.ok(isSecretEnvelope(before.engine.resources.find((r) => r.name === `${edit}-read`)!.inputs.triggers), `${edit}-read triggers are secret`);
    }
  });
});
