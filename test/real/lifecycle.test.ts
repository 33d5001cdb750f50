// Issue 16, section 2, scenarios 1, 2, 6 and 7 with the real Pulumi engine: a new stack's
// `preview --diff`, `up`, the same `up` again, `refresh`, the state file's secrets, `destroy`. The
// program is the real one (runbook(loadSettings()), as index.ts); the CI server and the AMI builder
// are sandboxes reached over real SSH; AWS is the stub plugin. Each step is checked by what the
// engine reported, by what the sandboxes saw, and against the offline engine's prediction.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { OfflineRun } from "../../offline/runOffline";
import { CI_PATHS, readFiles, type StackConfig } from "../host/programRun";
import type { Sandbox } from "../host/sandbox";
import { previewProperty, sshRuns, type EngineRun } from "./engine";
import { divergences, offlineRunner, predictDestroy, predictUp, stepsOf } from "./differential";
import { canaries, useRealWorld } from "./world";

/** SSH logins the sandbox's sshd accepted (each remote command is one; the test's own exec shares one master). */
const logins = (sb: Sandbox) => sb.sshdLog().split("\n").filter((l) => l.includes("Accepted publickey")).length;
const STACK = "lifecycle";

describe("real engine (Pulumi CLI v3.276.0): preview --diff, up, the same up again, refresh, secrets in state, destroy", function () {
  this.timeout(300_000);
  const w = useRealWorld(STACK);
  let config: StackConfig;
  let before: Record<string, Buffer | null>;
  let offline: OfflineRun;
  let up: EngineRun;

  it("(1) preview --diff of a new stack: every resource a create, nothing runs; each write shows its title and first managed values, config.toml's only once the AMI and key exist", async () => {
    config = w.config();
    before = readFiles(w.ci(), Object.values(CI_PATHS));
    const loginsBefore = logins(w.ci()) + logins(w.builder());
    const preview = await w.stack().preview(true);
    const predicted = await predictUp(undefined, offlineRunner(config, STACK));
    offline = predicted.after;
    assert.deepEqual(divergences(predicted, preview.operations), []);
    assert.equal(preview.summary.create, offline.engine.resources.length);
    assert.deepEqual(sshRuns(preview), [], "a preview runs no remote command");
    assert.equal(logins(w.ci()) + logins(w.builder()), loginsBefore, "no SSH login during the preview");
    // The CLI shows a multi-line string's first three lines, then "...": a write's title and its
    // first two managed values (README quotes this output).
    assert.equal(previewProperty(preview.output, "ci-server-common-env-write", "create"),
      '"# gitlab-runner-autoscaling: guarded write of /home/ec2-user/nop/docker/ci/common.env (state common-env)\\n' +
      '# NO_PROXY=localhost,127.0.0.1,192.0.2.0/24,169.254.169.254\\n# no_proxy=localhost,127.0.0.1,192.0.2.0/24,169.254.169.254\\n..."');
    assert.equal(previewProperty(preview.output, "ci-server-docker-dropin-write", "create"),
      '"# gitlab-runner-autoscaling: guarded write of /etc/systemd/system/docker.service.d/gitlab-runner-autoscaling-proxy.conf (state docker-dropin)\\n' +
      '# Environment=\\"HTTP_PROXY=http://[secret]@192.0.2.1:3128\\"\\n# Environment=\\"HTTPS_PROXY=http://[secret]@192.0.2.1:3128\\"\\n..."');
    // config.toml's managed values name the AMI and the access key, which a new stack does not have yet.
    assert.equal(previewProperty(preview.output, "ci-server-config-toml-write", "create"), "[unknown]");
    assert.equal(previewProperty(preview.output, "workers-cleanup", "create"), "[unknown]");
    for (const name of ["ci-server-config-toml-write", "ci-server-common-env-write"]) assert.equal(previewProperty(preview.output, name, "stdin"), "[secret]");
    for (const c of canaries(w)) assert.ok(!preview.output.includes(c), "no secret in the preview");
  });

  it("(2) up creates what the preview showed, in the predicted order, and writes the CI server's files", async () => {
    up = await w.stack().up();
    const predicted = await predictUp(undefined, offlineRunner(config, STACK));
    assert.deepEqual(divergences(predicted, up.operations), []);
    assert.equal(stepsOf(up.operations, "create").length, offline.engine.resources.length);
    assert.match(w.ci().readFile(CI_PATHS.configToml).toString("utf8"), /IdleTime = 1800/);
    assert.ok(sshRuns(up).some((c) => c.host === "127.0.0.1:22" || /^127\.0\.\d+\.\d+:22$/.test(String(c.host))), "the AMI steps ran on the builder");
  });

  it("(2) the same up again: the engine reports no change and no remote command runs", async () => {
    const loginsBefore = logins(w.ci()) + logins(w.builder());
    const filesBefore = readFiles(w.ci(), Object.values(CI_PATHS));
    w.ci().clearCalls();
    const again = await w.stack().up();
    const predicted = await predictUp(offline, offlineRunner(config, STACK));
    assert.deepEqual(divergences(predicted, again.operations), []);
    assert.deepEqual(again.summary, { same: offline.engine.resources.length });
    assert.deepEqual(sshRuns(again), []);
    assert.equal(logins(w.ci()) + logins(w.builder()), loginsBefore, "no SSH login");
    assert.deepEqual(w.ci().calls(), []);
    assert.deepEqual(readFiles(w.ci(), Object.values(CI_PATHS)), filesBefore);
  });

  it("(6) refresh changes nothing and runs nothing", async () => {
    const loginsBefore = logins(w.ci()) + logins(w.builder());
    const refresh = await w.stack().refresh();
    assert.deepEqual(refresh.summary, { same: offline.engine.resources.length });
    assert.deepEqual(sshRuns(refresh), []);
    assert.equal(logins(w.ci()) + logins(w.builder()), loginsBefore);
    const again = await w.stack().preview(false);
    assert.deepEqual(again.summary, { same: offline.engine.resources.length }, "after the refresh the stack is still unchanged");
  });

  it("(7) the state file and the stack file hold no secret in plain text; the secrets are there, encrypted", () => {
    const state = fs.readFileSync(w.stack().statePath(), "utf8");
    const stackFile = fs.readFileSync(w.stack().stackFile(), "utf8");
    for (const c of canaries(w)) {
      assert.ok(!state.includes(c), `state file holds ${c.slice(0, 12)}…`);
      assert.ok(!stackFile.includes(c), `stack file holds ${c.slice(0, 12)}…`);
    }
    // The canaries did reach the stack: encrypted values, one per secret output or input.
    assert.ok((state.match(/"ciphertext"/g) ?? []).length >= 10, "secret values are stored as ciphertext");
    assert.match(stackFile, /sshPrivateKey:\n\s+secure: /);
    assert.match(stackFile, /proxyCredentials:\n\s+secure: /);
  });

  it("(6) destroy restores the CI server's files byte for byte, deleting in the order the offline engine asserts", async () => {
    const destroy = await w.stack().destroy();
    assert.deepEqual(divergences(predictDestroy(offline), destroy.operations), []);
    assert.equal(stepsOf(destroy.operations, "delete").length, offline.engine.resources.length);
    const after = readFiles(w.ci(), Object.values(CI_PATHS));
    for (const p of Object.values(CI_PATHS)) assert.deepEqual(after[p], before[p], `${p} is as before the first up`);
  });
});
