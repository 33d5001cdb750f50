// WorkerCleanup under the offline engine: what its command runs, what replaces it, and where
// `pulumi destroy` runs its delete: after config.toml is restored, before the access key, the
// policies, the network rules and the proxy edits go.
import { strict as assert } from "node:assert";
import { RUNNER_CONTAINER } from "../../components/workerCleanup";
import { WORKER_STACK_TAG, workerCleanupScript, workerNoticeScript, workerSettingsLines } from "../../core/ciServer/workers/workerCleanup";
import type { OfflineRun } from "../../offline/runOffline";
import {
  T, cachedRun, childrenOf, devStack, get, inputDiff, isSecretEnvelope, keyOf, revealed, runStack, settingsOf, unwrapSecrets, variant,
} from "../helpers/offlineWorld";
import { destroyOrder } from "../helpers/destroyOrder";

const CLEANUP = `${T.command}::workers-cleanup`;

describe("WorkerCleanup on the dev stack", () => {
  let run: OfflineRun;
  before(async () => {
    run = await cachedRun(devStack());
  });

  it("is one remote command, a child of the workers component, on the CI server's connection", () => {
    assert.equal(get(run, T.workerCleanup, "workers").parent, undefined);
    assert.deepEqual(childrenOf(run, T.workerCleanup, "workers").map(keyOf), [CLEANUP]);
    assert.ok(isSecretEnvelope(get(run, T.command, "workers-cleanup").inputs.connection));
    assert.equal(revealed(run, "workers-cleanup", "connection").host, "192.0.2.3");
    assert.equal(revealed(run, "workers-cleanup", "addPreviousOutputInEnv"), false);
  });

  it("create: the notice with the workers' settings as its header; delete: the cleanup with the stack's drain timeout", () => {
    const s = settingsOf(devStack());
    const keyId = String(run.outputs.accessKeyId);
    const scope = { container: RUNNER_CONTAINER, configPath: "/data/gitlab-runner/config/config.toml", runnerName: undefined, machineName: "gitlab-docker-machine-%s" };
    assert.equal(revealed(run, "workers-cleanup", "create"), workerNoticeScript({ ...scope, maxBuilds: 100, idleTime: 1800 }, workerSettingsLines({
      machineName: "gitlab-docker-machine-%s", maxBuilds: 100, idleTime: 1800, amiId: String(run.outputs.amiId), instanceType: "t2.micro",
      subnetId: "subnet-0123456789abcdef0", zone: "a", securityGroupName: "group-0fedcba9876543210", spot: true,
      iamInstanceProfile: "example-worker-profile", accessKeyId: keyId, stack: "dev",
    })));
    assert.equal(revealed(run, "workers-cleanup", "delete"), workerCleanupScript({ ...scope, drainTimeoutSeconds: s.runner.drainTimeoutSeconds, pollSeconds: 10 }));
    assert.deepEqual(unwrapSecrets(get(run, T.command, "workers-cleanup").inputs.triggers),
      [RUNNER_CONTAINER, "/data/gitlab-runner/config/config.toml", "", "gitlab-docker-machine-%s", keyId, "docker+machine"]);
    assert.equal(s.runner.drainTimeoutSeconds, 600);
  });

  it("waits for the docker drop-in edit, the credentials and the network; config.toml waits for it", () => {
    assert.deepEqual(get(run, T.workerCleanup, "workers").dependsOn,
      [`${T.fileEdit}::ci-server-docker-dropin`, `${T.credentials}::runner`, `${T.network}::network`]);
    assert.deepEqual(get(run, T.command, "workers-cleanup").dependsOn, get(run, T.workerCleanup, "workers").dependsOn);
    assert.ok(get(run, T.fileEdit, "ci-server-config-toml").dependsOn.includes(`${T.workerCleanup}::workers`));
  });

  it("destroy: config.toml restored → workers removed → then the key, user policy, rules and proxy edits", () => {
    const order = destroyOrder(run.engine.resources);
    const at = (k: string) => {
      const i = order.indexOf(k);
      assert.ok(i >= 0, `${k} not in ${order.join("\n")}`);
      return i;
    };
    const cleanup = at(CLEANUP);
    assert.ok(at(`${T.command}::ci-server-config-toml-write`) < cleanup, "config.toml is restored before the workers are removed");
    for (const after of [
      `${T.accessKey}::runner-key-1`, `${T.userPolicy}::runner-policy`, `${T.user}::runner-user`,
      ...["nexus-from-workers", "docker-from-ci", "ssh-from-ci"].map((n) => `${T.ingress}::network-${n}`),
      `${T.command}::ci-server-docker-dropin-write`, `${T.command}::ci-server-docker-daemon-json-write`,
      `${T.command}::ci-server-compose-proxy-write`, `${T.command}::ci-server-common-env-write`,
    ]) assert.ok(cleanup < at(after), `the workers are removed before ${after} goes`);
    // The commands with a delete, in the order destroy runs them.
    const withDelete = order.filter((k) => k.startsWith(`${T.command}::ci-server`) && k.endsWith("-write") || k === CLEANUP);
    assert.deepEqual(withDelete, [
      `${T.command}::ci-server-config-toml-write`, CLEANUP, `${T.command}::ci-server-docker-dropin-write`,
      `${T.command}::ci-server-docker-daemon-json-write`, `${T.command}::ci-server-compose-proxy-write`, `${T.command}::ci-server-common-env-write`,
    ]);
  });

  it("instanceProfile mode: the workers are removed before the role policy goes; no key in the triggers", async () => {
    const ip = await cachedRun(variant((c) => { c.runner.credentials = "instanceProfile"; c.runner.managerRoleName = "collaborage-ci-role"; }));
    const order = destroyOrder(ip.engine.resources);
    assert.ok(order.indexOf(CLEANUP) < order.indexOf(`${T.rolePolicy}::runner-manager-policy`));
    assert.ok(order.indexOf(`${T.command}::ci-server-config-toml-write`) < order.indexOf(CLEANUP));
    assert.equal((unwrapSecrets(get(ip, T.command, "workers-cleanup").inputs.triggers) as string[])[4], "");
  });

  it("a new MachineName or access key changes its triggers (a replacement: the old delete removes the old workers)", async () => {
    const renamed = await runStack(variant((c) => { c.runner.machineName = "ci-worker-%s"; }));
    assert.deepEqual(inputDiff(run, renamed).filter((k) => k.startsWith("workers-cleanup.")), ["workers-cleanup.create", "workers-cleanup.delete", "workers-cleanup.triggers"]);
    const rotated = await runStack(variant((c) => { c.runner.keyGeneration = 2; }));
    assert.deepEqual(inputDiff(run, rotated).filter((k) => k.startsWith("workers-cleanup.")), ["workers-cleanup.create", "workers-cleanup.triggers"]);
    // A drain timeout change is an in-place update: the delete is replaced, nothing is removed.
    const drain = await runStack(variant((c) => { c.runner.drainTimeoutSeconds = 1200; }));
    assert.deepEqual(inputDiff(run, drain), ["workers-cleanup.delete"]);
  });

  it("tags every worker with the stack, and says in the summary how running workers retire", () => {
    const stdin = String(revealed(run, "ci-server-config-toml-write", "stdin"));
    assert.ok(stdin.includes(`"amazonec2-tags=runner-manager-name,gitlab-aws-autoscaler,gitlab,true,gitlab-runner-autoscale,true,${WORKER_STACK_TAG},dev"`));
    const summary = String(run.outputs.summary);
    assert.match(summary, /^Running workers keep the settings they were created with: .* they retire after 100 jobs \(MaxBuilds\) or 1800 s idle \(IdleTime\); the up output counts them\.$/m);
    assert.match(summary, /^A change of runner\.machineName, runner\.keyGeneration, runner\.credentials, and pulumi destroy, remove this runner's workers of the old gitlab-docker-machine-%s in the same run, after their jobs end \(at most 600 s\)\.$/m);
  });
});
