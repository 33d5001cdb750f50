// Issue 10, the move from docker+machine to docker-autoscaler in one `pulumi up`, and back: the
// real program over SSH on a Collaborage 2.1.0 sandbox whose runner image was raised to 17.11 by
// hand. The gitlab-runner container has docker-machine workers in its state directory (the
// stand-in, test/host/standin.py): one idle and one running a job that ends after a few polls,
// both of this runner, and one of another runner. One sandbox, in this order:
//   up (docker+machine) → up (docker-autoscaler), then the old cleanup's delete → up
//   (docker+machine again), then the deletes of what that up leaves out → destroy.
// A replaced or removed resource's delete runs at the end of the update (create-before-delete),
// so each delete here runs after the apply that replaced it.
import { strict as assert } from "node:assert";
import { tomllibParse } from "../../helpers/tomllib";
import { RUNNER_CONFIG } from "../layouts";
import { apply, ciRoutes, CI_PATHS, destroy, hostStackConfig, readFiles, type ApplyResult, type Deleted, type StackConfig } from "../programRun";
import { countRestarts, RUNNER, type RestartCounts } from "../restartCounts";
import { useSandbox, type Sandbox } from "../sandbox";
import { addWorker, cleanupOf, dmCalls, workers } from "./machines";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck } from "./checks";
import { accessKeyIdOf, contentOf, fixtureBytes } from "./expected";

const AWS_CONFIG = "/data/gitlab-runner/config/fleeting-aws-config";
const AWS_CREDENTIALS = "/data/gitlab-runner/config/fleeting-aws-credentials";
const PLUGIN_HOST_DIR = "/data/gitlab-runner/config/fleeting-plugins";
const WATCH = [...Object.values(CI_PATHS), AWS_CONFIG, AWS_CREDENTIALS];

// A realistic glrt- token: the runner names workers after the 9 characters after the prefix.
const TOKEN = "glrt-Mg8R3kTq2-TOKENCANARY0452";
const SHORT = "mg8r3ktq2";
const MACHINE_NAME = "gitlab-docker-machine-%s";
const worker = (n: number) => `runner-${SHORT}-${MACHINE_NAME.replace("%s", `17180000${String(n).padStart(2, "0")}-0a0b0c${String(n).padStart(2, "0")}`)}`;
const IDLE = worker(1);
const BUSY = worker(2);
const OTHER_RUNNER = "runner-otherrunr-gitlab-docker-machine-1718000000-0a0b0c0d";
const DRAIN = 5;

const dockerMachine = (c: StackConfig) => { c.runner.drainTimeoutSeconds = DRAIN; };
const autoscaler = (c: StackConfig) => {
  dockerMachine(c);
  Object.assign(c.runner, { executor: "docker-autoscaler", maxInstances: 2 });
  c.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 1, idleTime: 3600 }];
};

const executedOf = (run: ApplyResult, name: string) => {
  const e = run.executed.find((x) => x.name === name);
  assert.ok(e, `${name} ran`);
  return e;
};
/** config.toml without the keys the executor switch owns: what must stay byte-for-byte the operator's. */
function unmanaged(text: string): unknown {
  const doc = tomllibParse(text).value;
  for (const r of doc.runners) {
    delete r.executor;
    delete r.machine;
    delete r.autoscaler;
    delete r.limit;
  }
  delete doc.concurrent;
  return doc;
}
/** The runner's stops in the model's events: how each ended (graceful-exit, docker-kill, …). */
const runnerStops = (sb: Sandbox) => sb.events().filter((e) => e.event === "stop" && e.name === RUNNER).map((e) => String(e.by));

describe("host scenario: docker+machine → docker-autoscaler in one up, workers removed after their jobs, and back", function () {
  this.timeout(600_000);
  const ci = useSandbox("ci-2.1.0");
  let original: Record<string, Buffer | null>;
  let compose: Buffer;
  let first: ApplyResult;
  let key1: string;

  before(async () => {
    const sb = ci();
    // The runner image as the operator raised it for docker-autoscaler (17.1 or later), GitLab with it.
    const text = sb.readFile(CI_PATHS.compose).toString("utf8")
      .replace("gitlab/gitlab-runner:ubuntu-v16.1.0", "gitlab/gitlab-runner:ubuntu-v17.11.0")
      .replace("gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ce:17.11.7-ce.0");
    assert.match(text, /ubuntu-v17\.11\.0/);
    sb.writeFile(CI_PATHS.compose, text, { owner: "ec2-user", mode: sb.stat(CI_PATHS.compose).mode });
    compose = Buffer.from(text);
    sb.writeFile(RUNNER_CONFIG, fixtureBytes("config.toml").toString("utf8").replace('token = "glrt-REDACTED"', `token = "${TOKEN}"`), { owner: "root", mode: 0o600 });
    sb.writeFile("/.sandbox/state/fleeting-registry.json",
      JSON.stringify({ reachable: true, versions: { "registry.gitlab.com/gitlab-org/fleeting/plugins/aws": ["1.0.0"] } }));
    original = readFiles(sb, WATCH);
    first = await apply(hostStackConfig(sb, dockerMachine), { routes: ciRoutes(ci()) }, WATCH);
    assert.equal(first.error, undefined, String(first.error));
    key1 = accessKeyIdOf(first.run!);
    assert.equal(tomllibParse(first.files[CI_PATHS.configToml]!.toString("utf8")).value.runners[0].executor, "docker+machine");
    // The runner made these while it ran docker+machine; the other runner's is not its own.
    await addWorker(sb, IDLE, key1);
    await addWorker(sb, BUSY, key1, 2);
    await addWorker(sb, OTHER_RUNNER, key1);
  });

  describe("the up to docker-autoscaler", () => {
    let second: ApplyResult;
    let counts: RestartCounts;
    let stops: string[];
    let upCalls: string[];
    let removal: { code: number; stdout: string; stderr: string };

    before(async () => {
      const sb = ci();
      // Two jobs run on the runner when the up starts, and two more by the time config.toml switches
      // (the plugin path's recreate let the first ones finish). The model restarts from the files.
      sb.setDockerd({ runnerJobs: 2, liveRestore: true });
      sb.clearEvents();
      sb.clearCalls();
      second = await apply(hostStackConfig(sb, autoscaler), {
        routes: ciRoutes(ci()),
        before: (name, s) => { if (name === "ci-server-config-toml-write") s.setDockerd({ runnerJobs: 2, liveRestore: true }); },
      }, WATCH);
      counts = countRestarts(sb.events());
      stops = runnerStops(sb);
      upCalls = sb.calls();
      // The first run's cleanup was replaced (its executor changed): its delete runs at the end of the update.
      sb.clearCalls();
      removal = await sb.exec(cleanupOf(first).delete!, { timeoutMs: 60_000 });
    });

    it("succeeds; the plugin is installed before config.toml is written, config.toml is the last step", () => {
      assert.equal(second.error, undefined, String(second.error));
      const names = second.executed.map((e) => e.name);
      assert.ok(names.indexOf("autoscaler-fleeting-install") >= 0, names.join(", "));
      assert.ok(names.indexOf("autoscaler-fleeting-install") < names.indexOf("ci-server-config-toml-write"), names.join(", "));
      assert.ok(names.indexOf("ci-server-fleeting-aws-credentials-write") < names.indexOf("ci-server-config-toml-write"), names.join(", "));
      assert.deepEqual(names.slice(-2), ["ci-server-config-toml-read", "ci-server-config-toml-write"]);
      assert.ok(upCalls.some((c) => c.startsWith("docker exec gitlab-runner gitlab-runner fleeting") && / install\b/.test(c)), upCalls.join("\n"));
    });

    it("config.toml: docker-autoscaler, no [runners.machine], everything else the operator's as it was", () => {
      const text = second.files[CI_PATHS.configToml]!.toString("utf8");
      assert.equal(text, contentOf(second.commands.find((c) => c.name === "ci-server-config-toml-write")!.stdin));
      const runner = tomllibParse(text).value.runners[0];
      assert.equal(runner.executor, "docker-autoscaler");
      assert.equal(runner.machine, undefined);
      assert.equal(runner.autoscaler.max_instances, 2);
      assert.doesNotMatch(text, /\[runners\.machine\]/);
      assert.deepEqual(unmanaged(text), unmanaged(original[CI_PATHS.configToml]!.toString("utf8")));
      assert.equal(ci().stat(CI_PATHS.configToml).mode, 0o600);
    });

    it("the runner is restarted only gracefully: SIGQUIT, never SIGTERM/SIGKILL, its jobs finish; GitLab keeps running", () => {
      // One graceful stop for the plugin path's recreate (docker-compose.yml), one for config.toml.
      assert.deepEqual(counts.runnerSignals, ["SIGQUIT", "SIGQUIT"]);
      assert.deepEqual(stops, ["graceful-exit", "graceful-exit"], "each stop waited for the running jobs");
      assert.equal(counts.jobsAborted, 0);
      assert.equal(counts.gitlabRestarts, 0);
      assert.equal(counts.dockerdRestarts, 0);
      const w = executedOf(second, "ci-server-config-toml-write");
      assert.match(w.stdout, /^wrote: \/data\/gitlab-runner\/config\/config\.toml/m);
      assert.match(w.stdout, /^stopping gitlab-runner gracefully: SIGQUIT, running jobs may finish \(up to \d+ s\)$/m);
      assert.match(w.stdout, /^gitlab-runner stopped after its jobs finished \([1-9]\d* s\)$/m);
      assert.ok(upCalls.includes("docker kill --signal=QUIT gitlab-runner"), upCalls.join("\n"));
      assert.ok(!upCalls.some((c) => /^docker (stop|restart|kill --signal=(TERM|KILL))/.test(c)), upCalls.join("\n"));
    });

    it("the old cleanup's delete waits for the busy worker, removes this runner's workers; the other runner's stays", async () => {
      assert.equal(removal.code, 0, removal.stderr);
      assert.match(removal.stdout, new RegExp(`^workers of the only \\[\\[runners\\]\\] entry \\(runner-<${SHORT}>-${MACHINE_NAME}\\): 2 found, 0 still managed with the current settings$`, "m"));
      assert.match(removal.stdout, new RegExp(`^waiting for the jobs on: ${BUSY} \\(0 s of at most ${DRAIN} s\\)$`, "m"));
      assert.match(removal.stdout, new RegExp(`^removed: ${IDLE} ${BUSY}$`, "m"));
      assert.doesNotMatch(removal.stdout, /removed with a job still running/);
      assert.deepEqual(await workers(ci()), [OTHER_RUNNER]);
      assert.deepEqual(dmCalls(ci(), "rm"), [IDLE, BUSY].map((w) => `docker exec gitlab-runner docker-machine rm -y ${w}`));
      // The busy worker's job was looked at until it ended, never removed while it ran.
      assert.ok(dmCalls(ci(), `ssh ${BUSY} `).length >= 2);
    });

    it("leaks no secret canary; every script passes shellcheck", () => {
      assertNoCanaryLeaks(ci(), { commands: second.commands, executed: second.executed });
      for (const t of [removal.stdout, removal.stderr, ...second.executed.map((e) => e.name.endsWith("-read") ? "" : e.stdout + e.stderr)]) {
        assert.ok(!t.includes(TOKEN.slice(5)), "the token leaked");
      }
      assertScriptsPassShellcheck(second.commands);
    });

    describe("the up back to docker+machine", () => {
      let third: ApplyResult;
      let back: RestartCounts;
      let backStops: string[];
      let backCalls: string[];
      let key3: string;
      let removal2: { code: number; stdout: string; stderr: string };
      let gone: Deleted[];
      let goneCounts: RestartCounts;

      before(async () => {
        const sb = ci();
        sb.setDockerd({ runnerJobs: 2, liveRestore: true });
        sb.clearEvents();
        sb.clearCalls();
        third = await apply(hostStackConfig(sb, dockerMachine), { routes: ciRoutes(ci()) }, WATCH);
        back = countRestarts(sb.events());
        backStops = runnerStops(sb);
        backCalls = sb.calls();
        assert.equal(third.error, undefined, String(third.error));
        key3 = accessKeyIdOf(third.run!);
        // The runner made a worker with the current settings before the update ends.
        await addWorker(sb, worker(3), key3);
        sb.clearCalls();
        sb.clearEvents();
        // The autoscaler-mode cleanup was replaced (executor): its delete, then the deletes of what the
        // docker+machine program no longer has (the plugin, its files, the worker key), newest first.
        removal2 = await sb.exec(cleanupOf(second).delete!, { timeoutMs: 60_000 });
        const kept = new Set(third.commands.map((c) => c.name));
        gone = await destroy(second.commands.filter((c) => !kept.has(c.name)), ciRoutes(ci()));
        goneCounts = countRestarts(sb.events());
      });

      it("config.toml: docker+machine with [runners.machine] again, no [runners.autoscaler]; the operator's keys as they were", () => {
        const text = third.files[CI_PATHS.configToml]!.toString("utf8");
        assert.equal(text, contentOf(third.commands.find((c) => c.name === "ci-server-config-toml-write")!.stdin));
        const runner = tomllibParse(text).value.runners[0];
        assert.equal(runner.executor, "docker+machine");
        assert.equal(runner.machine.MachineName, MACHINE_NAME);
        // The move back removes [runners.autoscaler], as the move there removed [runners.machine].
        assert.equal(runner.autoscaler, undefined);
        assert.doesNotMatch(text, /\[runners\.autoscaler/);
        assert.ok(runner.machine.MachineOptions.includes(`amazonec2-access-key=${key3}`));
        assert.deepEqual(unmanaged(text), unmanaged(original[CI_PATHS.configToml]!.toString("utf8")));
      });

      it("leaving docker-autoscaler restarts the runner gracefully (its taskscaler stops only on shutdown), GitLab keeps running", () => {
        assert.deepEqual(back.runnerSignals, ["SIGQUIT"]);
        assert.deepEqual(backStops, ["graceful-exit"]);
        assert.equal(back.jobsAborted, 0);
        assert.equal(back.gitlabRestarts, 0);
        const w = executedOf(third, "ci-server-config-toml-write");
        assert.match(w.stdout, /^stopping gitlab-runner gracefully: SIGQUIT, running jobs may finish \(up to \d+ s\)$/m);
        assert.match(w.stdout, /^gitlab-runner stopped after its jobs finished \([1-9]\d* s\)$/m);
        assert.ok(backCalls.includes("docker kill --signal=QUIT gitlab-runner"), backCalls.join("\n"));
      });

      it("the autoscaler-mode cleanup's delete keeps the worker config.toml manages now; nothing removed", async () => {
        assert.equal(removal2.code, 0, removal2.stderr);
        assert.equal(removal2.stdout, `workers of the only [[runners]] entry (runner-<${SHORT}>-${MACHINE_NAME}): 1 found, 1 still managed with the current settings\nno worker to remove\n`);
        assert.deepEqual(dmCalls(ci(), "rm"), []);
        assert.deepEqual(await workers(ci()), [OTHER_RUNNER, worker(3)].sort());
      });

      it("the deletes at the end of the update remove the plugin and its AWS files, and FLEETING_PLUGIN_PATH", () => {
        const sb = ci();
        assert.deepEqual(gone.map((d) => d.name), ["autoscaler-fleeting-install", "autoscaler-fleeting-compose-write", "autoscaler-worker-key-generate",
          "ci-server-fleeting-aws-credentials-write", "ci-server-fleeting-aws-config-write"]);
        // The compose restore recreates the runner: gracefully, as every recreate.
        assert.deepEqual(goneCounts.runnerSignals, ["SIGQUIT"]);
        assert.equal(goneCounts.jobsAborted, 0);
        assert.equal(goneCounts.gitlabRestarts, 0);
        const now = readFiles(sb, WATCH);
        assert.equal(now[AWS_CONFIG], null);
        assert.equal(now[AWS_CREDENTIALS], null);
        assert.equal(sb.exists(PLUGIN_HOST_DIR), false);
        assert.deepEqual(now[CI_PATHS.compose], first.files[CI_PATHS.compose], "docker-compose.yml as the docker+machine up left it");
      });

      it("leaks no secret canary; every script passes shellcheck", () => {
        assertNoCanaryLeaks(ci(), { commands: third.commands, executed: third.executed });
        assertScriptsPassShellcheck(third.commands);
      });

      describe("destroy", () => {
        let done: Deleted[];
        let counts: RestartCounts;
        before(async () => {
          ci().setDockerd({ runnerJobs: 1, liveRestore: true });
          ci().clearEvents();
          done = await destroy(third, ciRoutes(ci()));
          counts = countRestarts(ci().events());
        });

        it("keeps GitLab running and stops the runner only gracefully", () => {
          assert.equal(counts.gitlabRestarts, 0);
          assert.equal(counts.jobsAborted, 0);
          // The common.env and docker-compose.yml restores each recreate it.
          assert.deepEqual(counts.runnerSignals, ["SIGQUIT", "SIGQUIT"]);
        });

        it("puts config.toml and docker-compose.yml back as they were before the first up; no plugin file is left", () => {
          assert.ok(done.length > 0);
          const after = readFiles(ci(), WATCH);
          assert.deepEqual(after[CI_PATHS.configToml], original[CI_PATHS.configToml]);
          assert.deepEqual(after[CI_PATHS.compose], compose, "the hand-edited compose file, without the program's edits");
          assert.equal(after[AWS_CONFIG], null);
          assert.equal(after[AWS_CREDENTIALS], null);
          assert.equal(ci().exists(PLUGIN_HOST_DIR), false);
        });

        it("leaves no docker-machine worker of this runner; the other runner's stays", async () => {
          const cleanup = done.find((d) => d.name === "workers-cleanup")!;
          assert.match(cleanup.stdout, new RegExp(`^removed: ${worker(3)}$`, "m"));
          assert.deepEqual(await workers(ci()), [OTHER_RUNNER]);
        });
      });
    });
  });
});
