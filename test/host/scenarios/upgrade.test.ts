// Issue #4, scenario 2: the runbook's GitLab upgrade on a Collaborage 1.1.0 host (docker-compose
// v1 only), driven by the real program: images bumped, gitlab and gitlab-runner recreated once,
// then a wait for GitLab's health; and a GitLab that never becomes healthy. Since issue 19 the
// upgrade is a path of one hop (12.6.8): its read, preflight, first gate and backup run first, then
// the hop's read and write (recreate, health wait) and its gate.
import { strict as assert } from "node:assert";
import { editCompose } from "../../../core/ciServer/compose/composeFile";
import { apply, ciRoutes, CI_PATHS, destroy, hostStackConfig, STATE_DIR, type ApplyResult, type StackConfig } from "../programRun";
import { useSandbox } from "../sandbox";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck, composeUps, listDir } from "./checks";
import { contentOf, expectedCiFiles, fixtureBytes } from "./expected";
import { gitlabRunning, isUpgrade, HEALTH_PROBE } from "./gitlabServer";

const V110 = "ci-docker-compose.v1.1.0.yml";
const GITLAB_IMAGE = "gitlab/gitlab-ce:12.6.8-ce.0";
const RUNNER_IMAGE = "gitlab/gitlab-runner:ubuntu-v12.6.0";
const upgrade = (c: StackConfig) => {
  c.upgrade = { gitlabImage: GITLAB_IMAGE, runnerImage: RUNNER_IMAGE, readyTimeoutSeconds: 3, migrationsTimeoutSeconds: 3 };
  // The runbook's runner 12.6 bundles a docker-machine without the IMDSv2 flags (settings refuse the pair).
  c.workers.imdsV2 = false;
};
/** The upgrade's commands in the order they run: the path's first steps, then the one hop. */
const UPGRADE_STEPS = ["gitlab-upgrade-read", "gitlab-upgrade-preflight", "gitlab-upgrade-gate-start", "gitlab-upgrade-backup",
  "gitlab-upgrade-to-12.6.8-read", "gitlab-upgrade-to-12.6.8-write", "gitlab-upgrade-to-12.6.8-gate"];
const HOP_WRITE = "gitlab-upgrade-to-12.6.8-write";
/** GitLab healthy for the steps before the hop; `atHop` from the hop's write on. */
const healthAtHop = (atHop: string[]) => async (name: string, sb: { setHealth(l: string[]): void }) => {
  if (name === HOP_WRITE) sb.setHealth(atHop);
};

/** The v1.1.0 compose file with only the upgrade applied (the pure core on the fixture). */
const upgradedOnly = () => editCompose(fixtureBytes(V110).toString("utf8"), {
  images: [{ service: "gitlab", image: GITLAB_IMAGE }, { service: "gitlab-runner", image: RUNNER_IMAGE }],
}).text;

describe("host scenario 2: GitLab upgrade on Collaborage 1.1.0 (docker-compose v1)", function () {
  this.timeout(180_000);

  describe("GitLab becomes healthy after two 'starting'", () => {
    const ci = useSandbox("ci-1.1.0");
    let config: StackConfig;
    let run: ApplyResult;
    let calls: string[];

    before(async () => {
      const sb = ci();
      config = hostStackConfig(sb, upgrade);
      await gitlabRunning(sb, "docker-compose");
      sb.setHealth(["healthy"]);
      run = await apply(config, { routes: ciRoutes(ci()), before: healthAtHop(["starting", "starting", "healthy"]) });
      calls = sb.calls();
    });

    it("runs the upgrade first, then every other CI-server step, and succeeds", () => {
      assert.equal(run.error, undefined, String(run.error));
      const names = run.executed.map((e) => e.name);
      assert.deepEqual(names.slice(0, UPGRADE_STEPS.length), UPGRADE_STEPS, names.join(", "));
      assert.equal(names.filter(isUpgrade).length, UPGRADE_STEPS.length);
      assert.ok(names.includes("ci-server-config-toml-write"));
    });

    it("bumps both images and keeps each old one as a comment above it", () => {
      const text = run.files[CI_PATHS.compose]!.toString("utf8");
      assert.match(text, /\n {4}#image: gitlab\/gitlab-ce:12\.4\.2-ce\.0\n {4}image: gitlab\/gitlab-ce:12\.6\.8-ce\.0\n/);
      assert.match(text, /\n {4}#image: gitlab\/gitlab-runner:ubuntu-v12\.4\.1\n {4}image: gitlab\/gitlab-runner:ubuntu-v12\.6\.0\n/);
      const upgradeWrite = run.commands.find((c) => c.name === HOP_WRITE)!;
      assert.equal(contentOf(upgradeWrite.stdin), upgradedOnly(), "the upgrade write carries the core's edit of the fixture");
      // The later proxy edit builds on the upgraded file; the result is both edits, nothing else.
      assert.equal(text, editCompose(upgradedOnly(), { envFile: { service: "gitlab-runner", file: "./common.env" } }).text);
      const want = expectedCiFiles(config, run.run!, V110);
      for (const p of [CI_PATHS.commonEnv, CI_PATHS.configToml, CI_PATHS.dockerDropIn]) assert.equal(run.files[p]?.toString("utf8"), want[p], p);
    });

    it("recreates gitlab and gitlab-runner once with docker-compose v1, then waits for GitLab's health", () => {
      const upgradeUps = composeUps(calls).filter((c) => / gitlab( |$)/.test(c));
      assert.deepEqual(upgradeUps, ["docker-compose up -d --no-deps gitlab gitlab-runner"]);
      assert.deepEqual(composeUps(calls).filter((c) => c.startsWith("docker compose")), [], "the v2 plugin is not there");
      const upAt = calls.indexOf(upgradeUps[0]);
      const probes = calls.map((c, i) => [c, i] as const).filter(([c]) => c === HEALTH_PROBE).map(([, i]) => i);
      // One probe by the gate before the hop (GitLab as it runs), then the hop's wait (starting,
      // starting, healthy) and the hop's gate (healthy).
      assert.equal(probes.filter((i) => i < upAt).length, 1, "the first gate's probe, before the recreate");
      assert.equal(probes.filter((i) => i > upAt).length, 4, "starting, starting, healthy, then the hop's gate");
      const w = run.executed.find((e) => e.name === HOP_WRITE)!;
      assert.match(w.stdout, /waiting for gitlab to be healthy: starting/);
      assert.deepEqual(calls.filter((c) => /\b(down|restart)\b/.test(c) && !c.startsWith("systemctl ")), []);
    });

    it("destroy restores the proxy edits but keeps the upgrade (it cannot be rolled back)", async () => {
      const sb = ci();
      const done = await destroy(run.commands, ciRoutes(ci()));
      const kept = done.find((d) => d.name === HOP_WRITE)!;
      assert.match(kept.stdout, /kept on destroy/);
      assert.match(done.find((d) => d.name === "gitlab-upgrade-backup")!.stdout, /kept on destroy: the GitLab backups under \/data\/gitlab-upgrade-backups/);
      assert.equal(sb.readFile(CI_PATHS.compose).toString("utf8"), upgradedOnly());
      assert.ok(sb.readFile(CI_PATHS.commonEnv).equals(fixtureBytes("common.env")));
      assert.ok(sb.readFile(CI_PATHS.configToml).equals(fixtureBytes("config.toml")));
      assert.equal(sb.exists(CI_PATHS.dockerDropIn), false);
    });

    it("9: leaks no secret canary; every script passes shellcheck", () => {
      assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed });
      assertScriptsPassShellcheck(run.commands);
    });
  });

  describe("GitLab never becomes healthy", () => {
    const ci = useSandbox("ci-1.1.0");
    let before: Buffer;
    let run: ApplyResult;
    let calls: string[];

    it("fails with a clear error that names the timeout", async () => {
      const sb = ci();
      before = sb.readFile(CI_PATHS.compose);
      await gitlabRunning(sb, "docker-compose");
      sb.setHealth(["healthy"]);
      run = await apply(hostStackConfig(sb, upgrade), { routes: ciRoutes(sb), before: healthAtHop(["starting"]) });
      calls = sb.calls();
      assert.ok(run.error, "the apply must fail");
      assert.match(run.error.message, /gitlab-upgrade-to-12\.6\.8-write failed with exit code 5/);
      assert.match(run.error.message, /did not report healthy within 3 s/);
      assert.match(run.error.message, /restored .*docker-compose\.yml/);
      assert.match(run.error.message, /docker logs gitlab/);
      // Bounded by readyTimeoutSeconds (3) at one probe a second: a handful of probes, not a loop.
      const probes = calls.filter((c) => c === HEALTH_PROBE).length;
      assert.ok(probes >= 2 && probes <= 5, `${probes} health probes`);
    });

    it("leaves the old compose file byte-identical, recreated with the old images", async () => {
      const sb = ci();
      assert.ok(sb.readFile(CI_PATHS.compose).equals(before), "docker-compose.yml is not the original");
      assert.ok(before.equals(fixtureBytes(V110)));
      const ups = composeUps(calls);
      assert.deepEqual(ups, ["docker-compose up -d --no-deps gitlab gitlab-runner", "docker-compose up -d --no-deps gitlab gitlab-runner"],
        "up with the new file, then again after the restore");
      const lastProbe = calls.lastIndexOf(HEALTH_PROBE);
      assert.ok(calls.lastIndexOf(ups[1]) > lastProbe, "the second up comes after giving up");
      // A failed first write leaves no marker that destroy would act on; the backup stays.
      const names = await listDir(sb, `${STATE_DIR}/gitlab-hop-12-6-8`);
      assert.deepEqual(names.filter((n) => ["original", "written", "owner"].includes(n)), []);
      assert.equal(names.filter((n) => n.startsWith("backup-")).length, 1);
    });

    it("runs nothing after the failed upgrade", () => {
      assert.deepEqual(run.attempted, UPGRADE_STEPS.slice(0, -1), "the hop's gate and everything after it never ran");
    });

    it("9: leaks no secret canary", () => {
      assertNoCanaryLeaks(ci(), { executed: run.executed });
    });
  });
});

// An upgrade in a later `pulumi up` than the proxy edit: the real engine runs only the new upgrade
// edit (every other command's inputs are unchanged). Destroy must then not put the pre-proxy bytes
// back, which would also bring back the old image tags over migrated data: it undoes only the
// proxy edit (the env_file line) on the upgraded file.
describe("host scenario 2b: an upgrade after the proxy edits, then destroy", function () {
  this.timeout(180_000);
  const ci = useSandbox("ci-1.1.0");
  const noImds = (c: StackConfig) => { c.workers.imdsV2 = false; };

  it("destroy keeps the later upgrade and removes our env_file", async () => {
    const sb = ci();
    sb.setHealth(["healthy"]);
    const first = await apply(hostStackConfig(sb, noImds), { routes: ciRoutes(ci()) });
    assert.equal(first.error, undefined, String(first.error));
    const earlier = new Map(first.executed.map((e) => [e.name, e]));
    await gitlabRunning(sb, "docker-compose");

    // Second up: only the upgrade's commands are new; the others are answered from the first run.
    const second = await apply(hostStackConfig(sb, upgrade), {
      routes: ciRoutes(ci()),
      intercept: (cmd) => {
        if (isUpgrade(cmd.name)) return undefined;
        const e = earlier.get(cmd.name);
        assert.ok(e, `${cmd.name} was not run the first time`);
        assert.equal(cmd.create, e.create, `${cmd.name}: same script, so the engine would not run it`);
        assert.equal(cmd.stdin, e.stdin, `${cmd.name}: same stdin, so the engine would not run it`);
        return { code: 0, stdout: e.stdout, stderr: "" };
      },
    });
    assert.equal(second.error, undefined, String(second.error));
    const upgraded = sb.readFile(CI_PATHS.compose).toString("utf8");
    assert.match(upgraded, /image: gitlab\/gitlab-ce:12\.6\.8-ce\.0/);
    assert.match(upgraded, /env_file: \.\/common\.env/);

    const before = sb.stat(CI_PATHS.compose);
    sb.clearCalls();
    const done = await destroy(second, ciRoutes(ci()));
    assert.match(done.find((d) => d.name === "ci-server-compose-proxy-write")!.stdout, /undid pulumi's edit of .*docker-compose\.yml, keeping the changes made after it/);
    assert.match(done.find((d) => d.name === HOP_WRITE)!.stdout, /kept on destroy/);
    assert.equal(sb.readFile(CI_PATHS.compose).toString("utf8"), upgradedOnly(), "the upgrade stays, env_file is gone, nothing else changed");
    const after = sb.stat(CI_PATHS.compose);
    assert.deepEqual([after.owner, after.mode], [before.owner, before.mode]);
    assert.ok(sb.readFile(CI_PATHS.commonEnv).equals(fixtureBytes("common.env")));
    assert.ok(sb.readFile(CI_PATHS.configToml).equals(fixtureBytes("config.toml")));
    assert.equal(sb.exists(CI_PATHS.dockerDropIn), false);
    assert.ok(composeUps(sb.calls()).includes("docker-compose up -d --no-deps gitlab-runner"), "the runner is recreated without env_file");
    const state = await listDir(sb, `${STATE_DIR}/compose-proxy`);
    assert.deepEqual(state.filter((n) => !/^(backup|before-restore)-/.test(n)), [], "markers and reverse edits are cleared");
  });
});
