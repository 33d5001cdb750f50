// Issue 9: docker-machine workers never outlive their configuration. The real program over SSH on
// a Collaborage 2.1.0 sandbox whose gitlab-runner container has docker-machine workers in its state
// directory (the stand-in: test/host/standin.py), some running a job that ends after a few polls
// and one whose job never ends. One sandbox, in this order:
//   up → workers appear → key rotation (old key's workers go) → MachineName rename (old name's
//   workers go) → destroy (the rest of this runner's go; other runners' workers stay).
// In each update the old cleanup's delete runs after the new config.toml is written, as Pulumi
// runs a replaced resource's delete at the end of the update (create-before-delete).
import { strict as assert } from "node:assert";
import { WORKER_EXIT } from "../../../core/ciServer/workers/workerCleanup";
import { RUNNER_CONFIG } from "../layouts";
import { apply, ciRoutes, CANARIES, destroy, hostStackConfig, type ApplyResult, type Deleted, type StackConfig } from "../programRun";
import { useSandbox } from "../sandbox";
import { addWorker, cleanupOf, dmCalls, MACHINE_SECRET, STORAGE, workers } from "./machines";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck } from "./checks";
import { accessKeyIdOf, fixtureBytes } from "./expected";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../../helpers/shellcheck";

// A realistic glrt- token: the runner names workers after the 9 characters after the prefix.
const TOKEN_SECRET_PART = "TOKENCANARY0451";
const TOKEN = `glrt-Wk7Q2mZp9-${TOKEN_SECRET_PART}`;
const SHORT = "wk7q2mzp9";
const worker = (name: string, n: number) => `runner-${SHORT}-${name.replace("%s", `17180000${String(n).padStart(2, "0")}-0a0b0c${String(n).padStart(2, "0")}`)}`;

const OLD_NAME = "gitlab-docker-machine-%s";
const NEW_NAME = "ci-worker-%s";
// Never this runner's: another runner's worker, and one of another MachineName.
const OTHER_RUNNER = "runner-otherrunr-gitlab-docker-machine-1718000000-0a0b0c0d";
const OTHER_NAME = `runner-${SHORT}-nightly-1718000000-0a0b0c0d`;


describe("host scenario: docker-machine workers never outlive their configuration", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-2.1.0");
  let config: StackConfig;
  let first: ApplyResult;
  let key1: string;

  before(async () => {
    const sb = ci();
    sb.writeFile(RUNNER_CONFIG, fixtureBytes("config.toml").toString("utf8").replace('token = "glrt-REDACTED"', `token = "${TOKEN}"`), { owner: "root", mode: 0o600 });
    config = hostStackConfig(sb, (c) => { c.runner.drainTimeoutSeconds = 3; });
    first = await apply(config, { routes: ciRoutes(ci()) });
    assert.equal(first.error, undefined, String(first.error));
    key1 = accessKeyIdOf(first.run!);
  });

  it("up: the notice runs before config.toml is written and counts this runner's workers (none yet)", () => {
    const names = first.executed.map((e) => e.name);
    assert.ok(names.indexOf("workers-cleanup") < names.indexOf("ci-server-config-toml-read"), names.join(", "));
    const notice = first.executed.find((e) => e.name === "workers-cleanup")!;
    assert.equal(notice.stdout, `0 worker(s) of the only [[runners]] entry (runner-<${SHORT}>-${OLD_NAME}) exist; they keep the settings they were created with and retire after 100 job(s) (MaxBuilds) or 1800 s idle (IdleTime).\n`);
    assert.match(ci().readFile(RUNNER_CONFIG).toString("utf8"), /"amazonec2-tags=runner-manager-name,gitlab-aws-autoscaler,gitlab,true,gitlab-runner-autoscale,true,gitlab-runner-autoscaling-stack,dev"/);
  });

  describe("key rotation (runner.keyGeneration 2)", () => {
    let rotated: ApplyResult;
    let removal: { code: number; stdout: string; stderr: string };

    before(async () => {
      const sb = ci();
      // The runner made three workers with key 1 while it ran, plus the two that are not its own.
      await addWorker(sb, worker(OLD_NAME, 1), key1, 1);
      await addWorker(sb, worker(OLD_NAME, 2), key1);
      await addWorker(sb, OTHER_RUNNER, key1);
      await addWorker(sb, OTHER_NAME, key1);
      config = hostStackConfig(sb, (c) => { c.runner.drainTimeoutSeconds = 3; c.runner.keyGeneration = 2; });
      rotated = await apply(config, { routes: ciRoutes(ci()) }, []);
      assert.equal(rotated.error, undefined, String(rotated.error));
      // The runner already made one worker with the new key before the update ends.
      await addWorker(sb, worker(OLD_NAME, 3), accessKeyIdOf(rotated.run!));
      sb.clearCalls();
      removal = await sb.exec(cleanupOf(first).delete!, { timeoutMs: 60_000 });
    });

    it("the notice of the update counts the workers that keep the old settings", () => {
      const notice = rotated.executed.find((e) => e.name === "workers-cleanup")!;
      assert.match(notice.stdout, /^2 worker\(s\) of the only \[\[runners\]\] entry .* exist; they keep the settings they were created with/);
    });

    it("the old cleanup's delete removes the workers made with the old key, after their job; the new key's worker stays", async () => {
      assert.equal(removal.code, 0, removal.stderr);
      assert.match(removal.stdout, new RegExp(`\\(runner-<${SHORT}>-${OLD_NAME}\\): 3 found, 1 still managed with the current settings\\n`));
      assert.match(removal.stdout, new RegExp(`^removed: ${worker(OLD_NAME, 2)} ${worker(OLD_NAME, 1)}$`, "m"));
      assert.deepEqual(await workers(ci()), [OTHER_NAME, OTHER_RUNNER, worker(OLD_NAME, 3)].sort());
      assert.deepEqual(dmCalls(ci(), "rm"), [worker(OLD_NAME, 2), worker(OLD_NAME, 1)].map((w) => `docker exec gitlab-runner docker-machine rm -y ${w}`));
    });
  });

  describe("MachineName rename", () => {
    let renamed: ApplyResult;
    let removal: { code: number; stdout: string; stderr: string };

    before(async () => {
      const sb = ci();
      config = hostStackConfig(sb, (c) => { c.runner.drainTimeoutSeconds = 3; c.runner.keyGeneration = 2; c.runner.machineName = NEW_NAME; });
      renamed = await apply(config, { routes: ciRoutes(ci()) }, []);
      assert.equal(renamed.error, undefined, String(renamed.error));
      await addWorker(sb, worker(NEW_NAME, 4), accessKeyIdOf(renamed.run!));
      sb.clearCalls();
      // The replaced cleanup's delete: the one of the old MachineName (the first run's).
      assert.notEqual(cleanupOf(renamed).delete, cleanupOf(first).delete);
      removal = await sb.exec(cleanupOf(first).delete!, { timeoutMs: 60_000 });
    });

    it("config.toml names the new MachineName; the old name's workers are removed in the same update, the new one's stay", async () => {
      assert.match(ci().readFile(RUNNER_CONFIG).toString("utf8"), /MachineName = "ci-worker-%s"/);
      assert.equal(removal.code, 0, removal.stderr);
      assert.match(removal.stdout, /: 1 found, 0 still managed with the current settings\n/);
      assert.match(removal.stdout, new RegExp(`^removed: ${worker(OLD_NAME, 3)}$`, "m"));
      assert.deepEqual(await workers(ci()), [OTHER_NAME, OTHER_RUNNER, worker(NEW_NAME, 4)].sort());
    });
  });

  describe("destroy", () => {
    let deleted: Deleted[];
    let last: ApplyResult;

    before(async () => {
      const sb = ci();
      last = await apply(config, { routes: ciRoutes(ci()) }, []);
      assert.equal(last.error, undefined, String(last.error));
      const key = accessKeyIdOf(last.run!);
      await addWorker(sb, worker(NEW_NAME, 5), key, 2);
      await addWorker(sb, worker(NEW_NAME, 6), key, "forever");
      sb.clearCalls();
      deleted = await destroy(last.commands, ciRoutes(ci()));
    });

    it("restores config.toml first, then removes every worker of this runner, then undoes the proxy edits", () => {
      assert.deepEqual(deleted.map((d) => d.name), [
        "ci-server-config-toml-write", "workers-cleanup", "ci-server-docker-dropin-write", "ci-server-docker-daemon-json-write",
        "ci-server-compose-proxy-write", "ci-server-common-env-write",
      ]);
      assert.ok(ci().readFile(RUNNER_CONFIG).toString("utf8").includes('executor = "docker"\n'), "config.toml is back to its original executor");
      const calls = ci().calls();
      const lastRm = calls.map((c, i) => [c, i] as const).filter(([c]) => c.includes("docker-machine rm")).pop()![1];
      const dockerRestart = calls.indexOf("systemctl restart docker");
      assert.ok(dockerRestart > lastRm, "docker restarts (drop-in restore) only after the workers are gone");
    });

    it("waits for the jobs (bounded by runner.drainTimeoutSeconds), removes each worker once idle, and reports it", async () => {
      const out = deleted.find((d) => d.name === "workers-cleanup")!.stdout;
      assert.match(out, new RegExp(`\\(runner-<${SHORT}>-${NEW_NAME}\\): 3 found, 0 still managed with the current settings\\n`));
      assert.match(out, new RegExp(`^waiting for the jobs on: ${worker(NEW_NAME, 5)} ${worker(NEW_NAME, 6)} \\(0 s of at most 3 s\\)$`, "m"));
      assert.match(out, new RegExp(`^jobs still running after 3 s on: ${worker(NEW_NAME, 6)}; removing those workers anyway \\(the jobs fail\\)$`, "m"));
      assert.match(out, new RegExp(`^removed: ${worker(NEW_NAME, 4)} ${worker(NEW_NAME, 5)} ${worker(NEW_NAME, 6)}$`, "m"));
      assert.match(out, new RegExp(`^removed with a job still running: ${worker(NEW_NAME, 6)}$`, "m"));
      // Polls every second from 0 to 3 s: at most 4 looks at the never-ending job.
      const polls = dmCalls(ci(), `ssh ${worker(NEW_NAME, 6)} `);
      assert.equal(polls.length, 4, polls.join("\n"));
      assert.deepEqual(await workers(ci()), [OTHER_NAME, OTHER_RUNNER].sort(), "other runners' and other names' workers stay");
    });

    it("never prints the runner token or a machine's secret key; leaks no canary; the scripts pass shellcheck", () => {
      const texts = [...deleted.map((d) => d.stdout + d.stderr), ...first.executed.map((e) => e.name.endsWith("-read") ? "" : e.stdout + e.stderr), ...ci().calls()];
      for (const t of texts) {
        assert.ok(!t.includes(TOKEN_SECRET_PART), "the token leaked");
        assert.ok(!t.includes(MACHINE_SECRET), "a machine's secret key leaked");
        for (const c of CANARIES) assert.ok(!t.includes(c));
      }
      assertNoCanaryLeaks(ci(), { commands: last.commands, executed: last.executed });
      // Throws on a finding (it skips scripts another test file already checked, so no count here).
      assertScriptsPassShellcheck(last.commands);
      const cleanup = cleanupOf(last);
      for (const script of [cleanup.create, cleanup.delete!]) assertShellcheckClean(script, "workers-cleanup", WRAPPED_EXCLUDES);
    });
  });

  describe("a worker that cannot be removed keeps destroy from going on", () => {
    it("exit 23 names it; the access key (deleted after this command) would not be deleted", async () => {
      const sb = ci();
      const name = worker(OLD_NAME, 7);
      await addWorker(sb, name, "AKIASTANDIN0000000");
      const r = await sb.exec(`sudo -n touch '${STORAGE}/${name}/standin-rm-fails'`);
      assert.equal(r.code, 0, r.stderr);
      const res = await sb.exec(cleanupOf(first).delete!, { timeoutMs: 60_000 });
      assert.equal(res.code, WORKER_EXIT.machineFailed);
      assert.match(res.stderr, new RegExp(`could not remove: ${name} `));
      assert.ok((await workers(sb)).includes(name));
    });
  });
});
