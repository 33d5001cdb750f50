// Issue 9 parts 2 and 3, issue 10 (graceful runner restarts): what each `up` and `destroy` stops
// and restarts on a Collaborage 2.1.0 CI server, from the stand-in dockerd's events. The counts
// of each scenario also go to the bench's figures file (GRA_RESTART_FIGURES), written before the
// assertions so that the bench can measure code that fails them.
import { strict as assert } from "node:assert";
import { guardedWriteStdin } from "../../../core/remote/scripts";
import { sha256Hex } from "../../../core/remote/readResult";
import { apply, ciRoutes, CI_PATHS, destroy, hostStackConfig, readFiles, type ApplyResult, type StackConfig } from "../programRun";
import { countRestarts, GITLAB, recordFigures, RUNNER, type RestartCounts } from "../restartCounts";
import { useSandbox, type Sandbox } from "../sandbox";
import { gitlabRunning } from "./gitlabServer";

/** Runs `what` with fresh events and returns its counts (recorded for the bench under `scenario`). */
async function measured<T>(sb: Sandbox, scenario: string, what: () => Promise<T>): Promise<{ result: T; counts: RestartCounts }> {
  sb.clearEvents();
  const result = await what();
  const counts = countRestarts(sb.events());
  recordFigures(scenario, counts);
  return { result, counts };
}

describe("restart scenarios: a proxy up, a re-run, a config.toml change and destroy on Collaborage 2.1.0", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-2.1.0");
  let config: StackConfig;
  let first: ApplyResult;
  let latest: ApplyResult;
  let c1: RestartCounts;

  before(async () => {
    const sb = ci();
    config = hostStackConfig(sb);
    // Two jobs are running on the runner when `pulumi up` starts.
    sb.setDockerd({ runnerJobs: 2 });
    ({ result: first, counts: c1 } = await measured(sb, "proxy up (first)", () => apply(config, { routes: ciRoutes(sb) })));
  });

  describe("the first proxy up", () => {
    it("succeeds", () => assert.equal(first.error, undefined, String(first.error)));

    it("never stops GitLab, its database, Nexus or the proxy: dockerd restarts once, with live-restore loaded by a reload", () => {
      const ev = ci().events();
      assert.equal(c1.gitlabRestarts, 0);
      assert.deepEqual(ev.filter((e) => e.event === "stop").map((e) => e.name).filter((n) => n !== RUNNER), []);
      const dockerd = ev.filter((e) => e.event.startsWith("dockerd-"));
      assert.deepEqual(dockerd.map((e) => [e.event, e.liveRestore]), [["dockerd-reload", true], ["dockerd-stop", true], ["dockerd-start", true]]);
      assert.equal(c1.dockerdRestarts, 1);
    });

    it("stops the runner only with SIGQUIT, and its two running jobs finish (none aborted)", () => {
      assert.deepEqual(c1.runnerSignals, ["SIGQUIT", "SIGQUIT"], "one graceful stop per recreate (common.env, docker-compose.yml)");
      assert.equal(c1.jobsAborted, 0);
      assert.equal(c1.runnerRecreations, 2);
      const exits = ci().events().filter((e) => e.event === "stop" && e.name === RUNNER).map((e) => e.by);
      // The first stop waits for the two jobs; at the second recreate the fresh runner has none.
      assert.deepEqual(exits, ["graceful-exit", "docker-kill"]);
      const w = first.executed.find((e) => e.name === "ci-server-common-env-write")!;
      assert.match(w.stdout, /stopping gitlab-runner gracefully: SIGQUIT, running jobs may finish \(up to 600 s\)/);
      assert.match(w.stdout, /gitlab-runner stopped after its jobs finished \(\d+ s\)/);
    });

    it("the config.toml write waits for the runner's reload of it and says so", () => {
      const w = first.executed.find((e) => e.name === "ci-server-config-toml-write")!;
      assert.match(w.stdout, /^wrote: .*config\.toml/m);
      assert.match(w.stdout, /^gitlab-runner reloaded \/data\/gitlab-runner\/config\/config\.toml \(\d+ s\)$/m);
      assert.deepEqual(ci().events().filter((e) => e.event === "runner-reload").map((e) => e.ok), [true]);
      assert.ok(ci().calls().some((c) => /^docker logs --since \d+\.\d{9} gitlab-runner$/.test(c)));
    });
  });

  describe("a second up with the same settings", () => {
    it("restarts and recreates nothing", async () => {
      const sb = ci();
      const { result, counts } = await measured(sb, "up again, unchanged", () => apply(config, { routes: ciRoutes(sb) }));
      assert.equal(result.error, undefined, String(result.error));
      assert.deepEqual(counts, { gitlabRestarts: 0, runnerRecreations: 0, dockerdRestarts: 0, containersStopped: 0, jobsAborted: 0, runnerSignals: [] });
      assert.deepEqual(sb.events(), []);
    });
  });

  describe("an up that changes only config.toml (runner.idleTime)", () => {
    it("restarts nothing; the runner reloads the file by itself", async () => {
      const sb = ci();
      config = hostStackConfig(sb, (c) => { c.runner = { ...c.runner, idleTime: 1200 }; });
      const { result, counts } = await measured(sb, "up, config.toml change", () => apply(config, { routes: ciRoutes(sb) }));
      latest = result;
      assert.equal(result.error, undefined, String(result.error));
      assert.deepEqual(counts, { gitlabRestarts: 0, runnerRecreations: 0, dockerdRestarts: 0, containersStopped: 0, jobsAborted: 0, runnerSignals: [] });
      assert.deepEqual(sb.events().map((e) => [e.event, e.ok]), [["runner-reload", true]]);
      assert.match(sb.readFile(CI_PATHS.configToml).toString("utf8"), /IdleTime = 1200/);
    });
  });

  describe("a config.toml the runner rejects", () => {
    it("is put back: exit 5 with the runner's masked log line, the previous file in place", async () => {
      const sb = ci();
      const w = latest.commands.find((c) => c.name === "ci-server-config-toml-write")!;
      const before = sb.readFile(CI_PATHS.configToml);
      // The write takes any bytes; the runner's TOML parser does not.
      const broken = `${before.toString("utf8")}\nidle = = 1\n`;
      sb.clearEvents();
      const r = await sb.exec(w.create, { stdin: guardedWriteStdin(sha256Hex(before), broken), timeoutMs: 60_000 });
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /gitlab-runner did not load the new \/data\/gitlab-runner\/config\/config\.toml and keeps its previous configuration; its log says: ERROR: Failed to load config /);
      assert.match(r.stderr, /restored \/data\/gitlab-runner\/config\/config\.toml and gitlab-runner keeps the configuration it had/);
      assert.ok(sb.readFile(CI_PATHS.configToml).equals(before), "the previous config.toml is back");
      assert.deepEqual(sb.events().map((e) => [e.event, e.ok]), [["runner-reload", false]]);
    });

    it("a value of the wrong type (TOML that parses, but not into the runner's struct): the runner's decoding error, put back", async () => {
      const sb = ci();
      const w = latest.commands.find((c) => c.name === "ci-server-config-toml-write")!;
      const before = sb.readFile(CI_PATHS.configToml);
      const wrongType = before.toString("utf8").replace(/IdleTime = (\d+)/, 'IdleTime = "$1"');
      assert.notEqual(wrongType, before.toString("utf8"));
      sb.clearEvents();
      const r = await sb.exec(w.create, { stdin: guardedWriteStdin(sha256Hex(before), wrongType), timeoutMs: 60_000 });
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /its log says: ERROR: Failed to load config decoding configuration file: toml: line \d+ \(last key "runners\.machine\.IdleTime"\): incompatible types: TOML value has type string; destination has type integer/);
      assert.ok(sb.readFile(CI_PATHS.configToml).equals(before), "the previous config.toml is back");
      assert.deepEqual(sb.events().map((e) => [e.event, e.ok]), [["runner-reload", false]]);
    });
  });

  describe("destroy", () => {
    it("puts daemon.json back by a reload after the drop-in's restart: GitLab keeps running, the runner stops only with SIGQUIT", async () => {
      const sb = ci();
      const { counts } = await measured(sb, "destroy", () => destroy(latest.commands, ciRoutes(sb)));
      assert.equal(counts.gitlabRestarts, 0);
      assert.equal(counts.dockerdRestarts, 1);
      assert.deepEqual(counts.runnerSignals, ["SIGQUIT", "SIGQUIT"]);
      assert.equal(counts.jobsAborted, 0);
      const dockerd = sb.events().filter((e) => e.event.startsWith("dockerd-"));
      assert.deepEqual(dockerd.map((e) => [e.event, e.liveRestore]), [["dockerd-stop", true], ["dockerd-start", true], ["dockerd-reload", false]]);
      // The restored config.toml has the original's old mtime: the restore touches it so that the runner reloads it.
      assert.deepEqual(sb.events().filter((e) => e.event === "runner-reload").map((e) => e.ok), [true]);
      assert.equal(readFiles(sb, [CI_PATHS.dockerDropIn])[CI_PATHS.dockerDropIn], null);
    });
  });
});

describe("restart scenarios: where live-restore cannot apply, dockerd is not restarted", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-2.1.0");

  it("swarm mode: the daemon.json step refuses (exit 5), puts the file back, and nothing after it runs", async () => {
    const sb = ci();
    const original = sb.readFile(CI_PATHS.daemonJson);
    sb.setDockerd({ swarm: "active" });
    const r = await apply(hostStackConfig(sb), { routes: ciRoutes(sb) });
    assert.match(String(r.error), /ci-server-docker-daemon-json-write failed with exit code 5: .*swarm mode, which live-restore does not support; nothing was reloaded or restarted/);
    assert.ok(!r.attempted.includes("ci-server-docker-dropin-write"));
    assert.ok(sb.readFile(CI_PATHS.daemonJson).equals(original));
    assert.equal(readFiles(sb, [CI_PATHS.dockerDropIn])[CI_PATHS.dockerDropIn], null);
    const ev = sb.events();
    assert.deepEqual(ev.filter((e) => e.event === "dockerd-stop" || (e.event === "stop" && e.name === GITLAB)), []);
  });

  it("a --live-restore flag: refused too, since the key in both places would stop dockerd from starting", async () => {
    const sb = ci();
    sb.setDockerd({ liveRestoreFlag: true });
    sb.clearEvents();
    const r = await apply(hostStackConfig(sb), { routes: ciRoutes(sb) });
    assert.match(String(r.error), /dockerd already runs with live-restore on although \/etc\/docker\/daemon\.json did not set it \(a --live-restore flag\?\)/);
    // Only the reload after putting the file back: no stop, nothing else.
    assert.deepEqual(sb.events().filter((e) => e.event.startsWith("dockerd-")).map((e) => e.event), ["dockerd-reload"]);
  });

  it("a drop-in restart with live-restore off (daemon.json reloaded away by hand) is refused, GitLab keeps running", async () => {
    const sb = ci();
    sb.setDockerd({});
    const r = await apply(hostStackConfig(sb), {
      routes: ciRoutes(sb),
      // Someone turns live-restore off between the two steps.
      before: async (name, s) => {
        if (name !== "ci-server-docker-dropin-write") return;
        const text = s.readFile(CI_PATHS.daemonJson).toString("utf8").replace('"live-restore": true', '"live-restore": false');
        s.writeFile(CI_PATHS.daemonJson, text, { owner: "root", mode: 0o644 });
        assert.equal((await s.exec("sudo -n systemctl reload docker")).code, 0);
      },
    });
    assert.match(String(r.error), /ci-server-docker-dropin-write failed with exit code 5: live-restore is not on in dockerd \(false\), so a restart would stop every container .*docker was not restarted/);
    assert.equal(readFiles(sb, [CI_PATHS.dockerDropIn])[CI_PATHS.dockerDropIn], null);
    assert.deepEqual(sb.events().filter((e) => e.event === "dockerd-stop" || (e.event === "stop" && e.name === GITLAB)), []);
  });
});

describe("restart scenarios: the GitLab upgrade and the proxy steps in one up on Collaborage 1.1.0", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-1.1.0");

  it("restarts GitLab once, for its new image, and nothing else of it; the runner only with SIGQUIT", async () => {
    const sb = ci();
    sb.setDockerd({ runnerJobs: 1 });
    // GitLab and its database run as compose made them (the upgrade's gates and backup ask them).
    await gitlabRunning(sb, "docker-compose");
    sb.setHealth(["healthy"]);
    const config = hostStackConfig(sb, (c) => {
      c.upgrade = { gitlabImage: "gitlab/gitlab-ce:12.6.8-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v12.6.0", readyTimeoutSeconds: 3, migrationsTimeoutSeconds: 3 };
      c.workers.imdsV2 = false;
    });
    // The hop's recreate waits through one "starting".
    const atHop = async (name: string, s: Sandbox) => { if (name === "gitlab-upgrade-to-12.6.8-write") s.setHealth(["starting", "healthy"]); };
    const { result, counts } = await measured(sb, "upgrade + proxy up (1.1.0)", () => apply(config, { routes: ciRoutes(sb), before: atHop }));
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(counts.gitlabRestarts, 1);
    assert.deepEqual(sb.events().filter((e) => e.event === "stop" && e.name === GITLAB).map((e) => e.by), ["compose-recreate"]);
    assert.equal(counts.runnerRecreations, 3, "upgrade, common.env, docker-compose.yml");
    assert.deepEqual(counts.runnerSignals, ["SIGQUIT", "SIGQUIT", "SIGQUIT"]);
    assert.equal(counts.jobsAborted, 0);
    assert.equal(counts.dockerdRestarts, 1);
  });
});
