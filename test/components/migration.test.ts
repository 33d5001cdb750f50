// The move from docker+machine to docker-autoscaler (and back) in one `pulumi up`, as the engine
// orders it: creates and updates follow dependencies; a replaced resource's old copy and the
// resources the program no longer declares are deleted at the end, each after everything that
// depended on it. These tests pin the facts that order rests on, on the two stacks a switch goes
// between; what the engine does with them is Pulumi's documented behaviour, not simulated here.
import { strict as assert } from "node:assert";
import type { OfflineRun } from "../../offline/runOffline";
import { T, cachedRun, childrenOf, devStack, find, get, keyOf, unwrapSecrets, variant } from "../helpers/offlineWorld";
import { destroyOrder } from "../helpers/destroyOrder";

const GROUP = "aws:autoscaling/group:Group";
const CLEANUP = `${T.command}::workers-cleanup`;

function autoscalerStack() {
  return variant((c) => {
    Object.assign(c.runner, { executor: "docker-autoscaler", maxInstances: 3 });
    c.upgrade = { gitlabImage: "gitlab/gitlab-ce:16.1.8-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v17.11.0" };
  });
}

const triggersOf = (run: OfflineRun) => unwrapSecrets(get(run, T.command, "workers-cleanup").inputs.triggers) as string[];
const policies = (run: OfflineRun) => childrenOf(run, T.credentials, "runner").filter((r) => r.type === T.userPolicy).map((r) => r.name);

describe("Migration docker+machine → docker-autoscaler (mock engine)", () => {
  let machine: OfflineRun;
  let autoscaler: OfflineRun;
  before(async () => {
    machine = await cachedRun(devStack());
    autoscaler = await cachedRun(autoscalerStack());
  });

  it("the switch replaces the worker cleanup: the executor is one of its triggers", () => {
    assert.equal(triggersOf(machine).at(-1), "docker+machine");
    assert.equal(triggersOf(autoscaler).at(-1), "docker-autoscaler");
    assert.deepEqual(triggersOf(machine).slice(0, -2), triggersOf(autoscaler).slice(0, -2), "nothing else about the runner entry changes");
  });

  it("each executor's policy is a resource of its own: the new one is created, the old one deleted at the end", () => {
    assert.deepEqual(policies(machine), ["runner-policy"]);
    assert.deepEqual(policies(autoscaler), ["runner-fleeting-policy"]);
    // The 2376 rule exists only for docker+machine, so the switch deletes it (at the end too).
    assert.ok(find(machine, T.ingress, "network-docker-from-ci"));
    assert.equal(find(autoscaler, T.ingress, "network-docker-from-ci"), undefined);
  });

  it("the old cleanup depends on docker-machine's policy and the 2376 rule: its delete (the workers' removal) runs before they go", () => {
    const order = destroyOrder(machine.engine.resources);
    const at = (k: string) => order.indexOf(k);
    for (const k of [`${T.userPolicy}::runner-policy`, `${T.ingress}::network-docker-from-ci`, `${T.accessKey}::runner-key-1`]) {
      assert.ok(at(k) >= 0, k);
      assert.ok(at(CLEANUP) < at(k), `the workers are removed before ${k} goes`);
    }
  });

  it("config.toml switches only after the group, the fleeting policy, the plugin and the worker key exist", () => {
    const deps = get(autoscaler, T.command, "ci-server-config-toml-read").dependsOn;
    for (const d of [`${T.credentials}::runner`, "gitlab-runner-autoscaling:ci:FleetingPlugin::autoscaler-fleeting", "gitlab-runner-autoscaling:ci:WorkerSshKey::autoscaler-worker-key"]) {
      assert.ok(deps.includes(d), `config.toml waits for ${d}`);
    }
    // The group's real name is an input of the write: the engine records the group as a dependency,
    // so destroy restores config.toml (and restarts the runner) before it deletes the group.
    const group = get(autoscaler, GROUP, "workers-asg").state.name as string;
    assert.match(String(get(autoscaler, T.command, "ci-server-config-toml-write").inputs.create), new RegExp(`name="${group}"`));
    assert.equal(get(autoscaler, GROUP, "workers-asg").inputs.forceDelete, true, "force delete terminates what remains");
  });

  it("the plugin install waits for the CI server's proxy edits (it downloads through the runner's proxy)", () => {
    const plugin = get(autoscaler, "gitlab-runner-autoscaling:ci:FleetingPlugin", "autoscaler-fleeting");
    assert.deepEqual(plugin.dependsOn, [`${T.fileEdit}::ci-server-fleeting-aws-credentials`]);
    const edits = autoscaler.engine.resources.filter((r) => r.type === T.fileEdit && r.parent === `${T.ciServer}::ci-server`).map(keyOf);
    assert.ok(edits.indexOf(`${T.fileEdit}::ci-server-compose-proxy`) < edits.indexOf(`${T.fileEdit}::ci-server-fleeting-aws-credentials`));
  });
});
