// Issue 8: the runner image upgraded alone on a Collaborage 1.1.0 host (docker-compose v1), driven
// by the real program: only gitlab-runner is recreated, GitLab is neither touched nor waited for.
import { strict as assert } from "node:assert";
import { apply, ciRoutes, CI_PATHS, hostStackConfig, type ApplyResult, type StackConfig } from "../programRun";
import { useSandbox } from "../sandbox";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck, composeUps } from "./checks";
import { HEALTH_PROBE } from "./gitlabServer";

const RUNNER_IMAGE = "gitlab/gitlab-runner:ubuntu-v12.6.0";
const runnerOnly = (c: StackConfig) => {
  c.upgrade = { runnerImage: RUNNER_IMAGE, readyTimeoutSeconds: 3 };
  c.workers.imdsV2 = false;
};

describe("host scenario 2c: the runner image upgraded alone (Collaborage 1.1.0)", function () {
  this.timeout(180_000);
  const ci = useSandbox("ci-1.1.0");
  let run: ApplyResult;
  let calls: string[];

  before(async () => {
    const sb = ci();
    // Never healthy: a wait for GitLab would fail the apply.
    sb.setHealth(["starting"]);
    sb.clearCalls();
    run = await apply(hostStackConfig(sb, runnerOnly), { routes: ciRoutes(sb) });
    calls = sb.calls();
  });

  it("bumps only the runner's image and succeeds without waiting for GitLab", () => {
    assert.equal(run.error, undefined, String(run.error));
    const text = run.files[CI_PATHS.compose]!.toString("utf8");
    assert.match(text, /\n {4}image: gitlab\/gitlab-ce:12\.4\.2-ce\.0\n/);
    assert.doesNotMatch(text, /#image: gitlab\/gitlab-ce/);
    assert.match(text, /\n {4}#image: gitlab\/gitlab-runner:ubuntu-v12\.4\.1\n {4}image: gitlab\/gitlab-runner:ubuntu-v12\.6\.0\n/);
    assert.equal(calls.filter((c) => c === HEALTH_PROBE).length, 0);
  });

  it("recreates gitlab-runner only, never gitlab", () => {
    const ups = composeUps(calls);
    assert.equal(ups[0], "docker-compose up -d --no-deps gitlab-runner", ups.join("\n"));
    assert.deepEqual(ups.filter((c) => / gitlab( |$)/.test(c)), []);
  });

  it("leaks no secret canary; every script passes shellcheck", () => {
    assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed });
    assertScriptsPassShellcheck(run.commands);
  });
});
