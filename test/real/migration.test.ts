// Issue 16, section 2, scenario 5 (the executor) with the real Pulumi engine: docker+machine →
// docker-autoscaler in one up, and back, on a Collaborage 2.1.0 sandbox whose runner image the
// operator raised to 17.11 (as test/host/scenarios/migration.test.ts). Each up is previewed first;
// preview and up are compared with the offline engine's prediction (steps and their order).
import { strict as assert } from "node:assert";
import { tomllibParse } from "../helpers/tomllib";
import { fixtureWorld } from "../helpers/offlineWorld";
import { CI_PATHS, type StackConfig } from "../host/programRun";
import { seqOf } from "./differential";
import { changesOf, useRealWorld } from "./world";

const STACK = "migration";
const CLEANUP = "command:remote:Command::workers-cleanup";
const WRITE = "command:remote:Command::ci-server-config-toml-write";
const GROUP = "aws:autoscaling/group:Group::workers-asg";
const executor = (text: string) => tomllibParse(text).value.runners[0].executor;

const dockerMachine = (c: StackConfig) => { c.runner.drainTimeoutSeconds = 5; };
const autoscaler = (c: StackConfig) => {
  dockerMachine(c);
  Object.assign(c.runner, { executor: "docker-autoscaler", maxInstances: 2 });
  c.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 1, idleTime: 3600 }];
};

describe("real engine (Pulumi CLI v3.276.0): docker+machine → docker-autoscaler and back", function () {
  this.timeout(300_000);
  const w = useRealWorld(STACK);
  let compose: string;
  // The offline engine reads the same compose file the sandbox has.
  const changes = changesOf(w, STACK, { serverFiles: { ...fixtureWorld().serverFiles, get [CI_PATHS.compose]() { return compose; } } });

  before(async () => {
    const sb = w.ci();
    compose = sb.readFile(CI_PATHS.compose).toString("utf8")
      .replace("gitlab/gitlab-runner:ubuntu-v16.1.0", "gitlab/gitlab-runner:ubuntu-v17.11.0")
      .replace("gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ce:17.11.7-ce.0");
    assert.match(compose, /ubuntu-v17\.11\.0/);
    sb.writeFile(CI_PATHS.compose, compose, { owner: "ec2-user", mode: sb.stat(CI_PATHS.compose).mode });
    sb.writeFile("/.sandbox/state/fleeting-registry.json",
      JSON.stringify({ reachable: true, versions: { "registry.gitlab.com/gitlab-org/fleeting/plugins/aws": ["1.0.0"] } }));
    await changes.start(w.config(dockerMachine));
    assert.equal(executor(sb.readFile(CI_PATHS.configToml).toString("utf8")), "docker+machine");
  });

  it("to docker-autoscaler: group, plugin and key before config.toml; the old cleanup replaced, its delete (the workers' removal) after config.toml switched", async () => {
    const { preview, up } = await changes.change(w.config(autoscaler));
    assert.ok(preview.operations.some((o) => o.key === GROUP && o.op === "create"));
    assert.equal(executor(w.ci().readFile(CI_PATHS.configToml).toString("utf8")), "docker-autoscaler");
    const group = seqOf(up.operations, GROUP, "create");
    const write = seqOf(up.operations, WRITE, "update");
    const oldCleanup = seqOf(up.operations, CLEANUP, "delete-replaced");
    assert.ok(group >= 0 && group < write && write < oldCleanup, `group ${group} < config.toml ${write} < old cleanup's delete ${oldCleanup}`);
    // docker-machine's policy and the 2376 rule go after the old cleanup's delete needed them.
    for (const k of ["aws:iam/userPolicy:UserPolicy::runner-policy", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::network-docker-from-ci"]) {
      assert.ok(seqOf(up.operations, k, "delete") > oldCleanup, `${k} deleted after the workers' removal`);
    }
  });

  it("back to docker+machine: config.toml switches back, the autoscaler's resources are deleted after it", async () => {
    const { up } = await changes.change(w.config(dockerMachine));
    assert.equal(executor(w.ci().readFile(CI_PATHS.configToml).toString("utf8")), "docker+machine");
    const write = seqOf(up.operations, WRITE, "update");
    assert.ok(write >= 0 && seqOf(up.operations, GROUP, "delete") > write, "the group goes after config.toml stops naming it");
  });
});
