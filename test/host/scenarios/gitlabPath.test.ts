// Issue 19's host scenarios: Collaborage 2.1.0's GitLab 16.0.6 moved along the upgrade path to
// 17.11.7 by the real program (Pulumi.upgrade.yaml's upgrade block, the runner following), every
// remote step run over SSH on the sandbox against the stand-in GitLab (standin_container.py):
// a hop whose batched migrations take several polls; the backup present before the first hop; a
// hop whose migrations never finish (bounded, a clear stop); the up after that stop; the snapshot
// window. The path's restart counts go to the bench's figures (`npm run bench`).
import { strict as assert } from "node:assert";
import { apply, ciRoutes, CI_PATHS, hostStackConfig, type ApplyResult, type StackConfig } from "../programRun";
import { countRestarts, recordFigures, type RestartCounts } from "../restartCounts";
import { useSandbox, type MigrationRow, type Sandbox } from "../sandbox";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck, composeUps, listTree, type Entry } from "./checks";
import { gitlabRunning, isUpgrade } from "./gitlabServer";

const HOPS = ["16.3.9", "16.7.10", "16.11.10", "17.1.8", "17.3.7", "17.5.5", "17.8.7", "17.11.7"];
const FIRST_STEPS = ["gitlab-upgrade-read", "gitlab-upgrade-preflight", "gitlab-upgrade-gate-start", "gitlab-upgrade-backup"];
const hopSteps = (hops: readonly string[]) => hops.flatMap((h) => [`gitlab-upgrade-to-${h}-read`, `gitlab-upgrade-to-${h}-write`, `gitlab-upgrade-to-${h}-gate`]);
const BACKUP_DIR = "/data/gitlab-upgrade-backups";
const FIGURES_ROW = "GitLab 16.0.6 → 17.11.7 (8 hops, runner follows)";

const active = (cls: string, table: string): MigrationRow => ["active", cls, table, "id", "[]"];
const finished = (cls: string, table: string): MigrationRow => ["finished", cls, table, "id", "[]"];

/** Pulumi.upgrade.yaml's upgrade block, with bounds short enough for a test. */
const pathConfig = (over: Record<string, unknown> = {}) => (c: StackConfig) => {
  c.upgrade = { gitlabImage: "gitlab/gitlab-ce:17.11.7-ce.0", runnerImage: "follow", readyTimeoutSeconds: 3, migrationsTimeoutSeconds: 20, ...over };
};

/** The restart counts up to the first command after the upgrade (the proxy steps recreate the runner too). */
function upgradeCounter() {
  let counts: RestartCounts | undefined;
  return {
    before: (name: string, sb: Sandbox) => {
      if (!counts && !isUpgrade(name)) counts = countRestarts(sb.events());
    },
    counts: (sb: Sandbox) => counts ?? countRestarts(sb.events()),
  };
}

describe("host scenario: GitLab along its path, 16.0.6 → 17.11.7 in one up (Collaborage 2.1.0)", function () {
  this.timeout(600_000);

  describe("17.1.8's batched migrations active for three polls; the backup before the first hop", () => {
    const ci = useSandbox("ci-2.1.0");
    let run: ApplyResult;
    let counts: RestartCounts;
    let backupSeen: Entry[] | undefined;
    let backupDirMode: number | undefined;
    let calls: string[];

    before(async () => {
      const sb = ci();
      sb.setDockerd({ runnerJobs: 1 });
      // World-readable originals: the backup's 0600 is then the script's doing, not docker cp's copy of the mode.
      await gitlabRunning(sb, "docker compose", 0o644);
      sb.setHealth(["healthy"]);
      sb.setGitlabMigrations({
        "17.1.8": [
          [active("BackfillPartitionIdCiPipelineMessage", "ci_pipeline_messages"), finished("Done", "users")],
          [active("BackfillPartitionIdCiPipelineMessage", "ci_pipeline_messages")],
          [active("BackfillPartitionIdCiPipelineMessage", "ci_pipeline_messages")],
          [finished("BackfillPartitionIdCiPipelineMessage", "ci_pipeline_messages")],
        ],
      });
      const counter = upgradeCounter();
      run = await apply(hostStackConfig(sb, pathConfig()), {
        routes: ciRoutes(sb),
        before: async (name, s) => {
          counter.before(name, s);
          if (name !== "gitlab-upgrade-to-16.3.9-write") return;
          backupSeen = await listTree(s, BACKUP_DIR);
          backupDirMode = s.stat(BACKUP_DIR).mode & 0o7777;
        },
      });
      calls = sb.calls();
      counts = counter.counts(sb);
      // Recorded before the assertions, so that the bench can measure code that fails them.
      recordFigures(FIGURES_ROW, counts);
    });

    it("succeeds; runs read, preflight, first gate, backup, then each hop's read, write and gate, in order, before anything else", () => {
      assert.equal(run.error, undefined, String(run.error));
      const names = run.executed.map((e) => e.name);
      const want = [...FIRST_STEPS, ...hopSteps(HOPS)];
      assert.deepEqual(names.slice(0, want.length), want);
      assert.deepEqual(names.slice(want.length).filter(isUpgrade), [], "nothing of the upgrade after its last gate");
      assert.ok(names.includes("ci-server-config-toml-write"), "the CI-server steps follow");
    });

    it("ends with GitLab 17.11.7 and the runner of 17.11 in docker-compose.yml; each hop wrote its own image", () => {
      const text = run.files[CI_PATHS.compose]!.toString("utf8");
      assert.match(text, /\n {4}image: gitlab\/gitlab-ce:17\.11\.7-ce\.0\n/);
      assert.match(text, /\n {4}image: gitlab\/gitlab-runner:ubuntu-v17\.11\.0\n/);
      assert.doesNotMatch(text, /\n {4}image: gitlab\/gitlab-ce:16\.0\.6-ce\.0\n/);
      const ups = composeUps(calls);
      assert.deepEqual(ups.filter((c) => / gitlab( |$)/.test(c)), [
        ...HOPS.slice(0, -1).map(() => "docker compose up -d --no-deps gitlab"),
        "docker compose up -d --no-deps gitlab gitlab-runner",
      ], "one recreate per hop; the runner follows at the last one");
    });

    it("the gate after 17.1.8 polls while its migration is active, then passes; the others pass at once", () => {
      const gate = run.executed.find((e) => e.name === "gitlab-upgrade-to-17.1.8-gate")!;
      const lines = gate.stdout.split("\n").filter(Boolean);
      assert.equal(lines.length, 4, gate.stdout);
      for (const l of lines.slice(0, 3)) {
        assert.match(l, /^gate after the hop to 17\.1\.8: 1 batched background migrations unfinished \(active: BackfillPartitionIdCiPipelineMessage on ci_pipeline_messages\) \(\d+ s\)$/);
      }
      assert.match(lines[3], /^gate after the hop to 17\.1\.8: GitLab 17\.1\.8 healthy, background migrations finished \(\d+ s\)$/);
      for (const h of HOPS.filter((v) => v !== "17.1.8")) {
        const out = run.executed.find((e) => e.name === `gitlab-upgrade-to-${h}-gate`)!.stdout.trim();
        assert.match(out, new RegExp(`^gate after the hop to ${h.replace(/\./g, "\\.")}: GitLab ${h.replace(/\./g, "\\.")} healthy, background migrations finished \\(\\d+ s\\)$`));
      }
      assert.match(run.executed.find((e) => e.name === "gitlab-upgrade-gate-start")!.stdout, /^gate before the first hop \(GitLab 16\.0\.6\): GitLab 16\.0\.6 healthy, background migrations finished/);
    });

    it("recreates GitLab 8 times (once per hop) and the runner once, gracefully (SIGQUIT, its job finishes)", () => {
      assert.equal(counts.gitlabRestarts, 8);
      assert.equal(counts.runnerRecreations, 1);
      assert.deepEqual(counts.runnerSignals, ["SIGQUIT"]);
      assert.equal(counts.jobsAborted, 0);
      assert.equal(counts.dockerdRestarts, 0);
      assert.equal(counts.containersStopped, 9, "GitLab 8 times, the runner once; its database, Nexus and the proxy never");
    });

    it("b: before the first hop, one backup directory (0700) holds the backup tar, gitlab-secrets.json, gitlab.rb and the database dump (0600 each)", () => {
      assert.ok(backupSeen, "the first hop's write ran");
      assert.equal(backupDirMode, 0o700);
      const dirs = backupSeen!.filter((e) => !e.name.includes("/"));
      assert.equal(dirs.length, 1, JSON.stringify(backupSeen));
      const d = dirs[0];
      assert.match(d.name, /^\d{8}T\d{6}Z-gitlab-16\.0\.6$/);
      assert.deepEqual([d.type, d.mode, d.owner], ["d", 0o700, "root"]);
      const files = backupSeen!.filter((e) => e.name.startsWith(`${d.name}/`));
      const base = files.map((f) => f.name.slice(d.name.length + 1)).sort();
      assert.equal(base.length, 4, base.join(", "));
      assert.match(base[0], /^\d+_\d{4}_\d{2}_\d{2}_16\.0\.6_gitlab_backup\.tar$/);
      assert.deepEqual(base.slice(1), ["gitlab-db.dump", "gitlab-secrets.json", "gitlab.rb"]);
      for (const f of files) assert.deepEqual([f.type, f.mode, f.owner], ["f", 0o600, "root"], f.name);
      assert.deepEqual(backupSeen!.filter((e) => e.name.includes(".partial-")), []);
      const out = run.executed.find((e) => e.name === "gitlab-upgrade-backup")!.stdout;
      assert.match(out, new RegExp(`backup: ${BACKUP_DIR}/${d.name}\\n?$`));
      assert.match(out, /gitlab-db\.dump: \d+ bytes/);
    });

    it("f: leaks no secret canary; every script passes shellcheck", () => {
      assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed });
      assertScriptsPassShellcheck(run.commands);
    });
  });

  describe("c, d: 16.7.10's migration never finishes (bounded stop), then the up after it", () => {
    const ci = useSandbox("ci-2.1.0");
    const STUCK = active("BackfillProjectNamespaceDetails", "project_namespace_details");
    let stopped: ApplyResult;
    let resumed: ApplyResult;
    let resumeCounts: RestartCounts;
    let backupsAfterStop: string[];

    before(async () => {
      const sb = ci();
      await gitlabRunning(sb);
      sb.setHealth(["healthy"]);
      sb.setGitlabMigrations({ "16.7.10": [[STUCK]] });
      stopped = await apply(hostStackConfig(sb, pathConfig({ migrationsTimeoutSeconds: 3 })), { routes: ciRoutes(sb) });
      backupsAfterStop = (await listTree(sb, BACKUP_DIR)).filter((e) => !e.name.includes("/")).map((e) => e.name);
    });

    it("c: stops at gitlab-upgrade-to-16.7.10-gate with exit 10, naming the running migration and how to resume", () => {
      assert.ok(stopped.error, "the up must fail");
      const m = stopped.error.message;
      assert.match(m, /^gitlab-upgrade-to-16\.7\.10-gate failed with exit code 10: /);
      assert.match(m, /not done within its bound of 3 s: 1 batched background migrations unfinished \(active: BackfillProjectNamespaceDetails on project_namespace_details\)/);
      assert.match(m, /Run pulumi up again once they have finished \(or raise upgrade\.migrationsTimeoutSeconds\): it resumes at this gate/);
    });

    it("c: no later hop ran: the compose file says 16.7.10, nothing was attempted after that gate, no CI-server edit ran", () => {
      const text = ci().readFile(CI_PATHS.compose).toString("utf8");
      assert.match(text, /\n {4}image: gitlab\/gitlab-ce:16\.7\.10-ce\.0\n/);
      assert.match(text, /\n {4}image: gitlab\/gitlab-runner:ubuntu-v16\.1\.0\n/, "the runner follows only at the last hop");
      assert.deepEqual(stopped.attempted, [...FIRST_STEPS, ...hopSteps(HOPS.slice(0, 2))]);
      assert.deepEqual(stopped.attempted.filter((n) => n.startsWith("ci-server-")), []);
      assert.equal(backupsAfterStop.length, 1, backupsAfterStop.join(", "));
    });

    it("d: the up after the migration finished does nothing again for the hops passed, and completes the path to 17.11.7", async () => {
      const sb = ci();
      sb.setGitlabMigrations({ "16.7.10": [[["finished", STUCK[1], STUCK[2], STUCK[3], STUCK[4]]]] });
      sb.clearCalls();
      sb.clearEvents();
      const counter = upgradeCounter();
      // The offline engine keeps no state, so every step runs again (under the real engine the steps
      // before the failed gate are in the state and do not run: test/real covers that).
      resumed = await apply(hostStackConfig(sb, pathConfig({ migrationsTimeoutSeconds: 3 })), { routes: ciRoutes(sb), before: counter.before });
      resumeCounts = counter.counts(sb);
      assert.equal(resumed.error, undefined, String(resumed.error));
      const out = (n: string) => resumed.executed.find((e) => e.name === n)!.stdout;
      // The hops already done: their writes find the file as wanted, their gates pass at once.
      assert.match(out("gitlab-upgrade-to-16.3.9-write"), /^unchanged: \/home\/ec2-user\/nop\/docker\/ci\/docker-compose\.yml/);
      assert.match(out("gitlab-upgrade-to-16.7.10-write"), /^unchanged: /);
      assert.equal(out("gitlab-upgrade-to-16.3.9-gate").trim(), "gate after the hop to 16.3.9: GitLab runs 16.7.10, past 16.3.9: nothing to wait for here");
      assert.match(out("gitlab-upgrade-to-16.7.10-gate"), /^gate after the hop to 16\.7\.10: GitLab 16\.7\.10 healthy, background migrations finished \(\d+ s\)\n?$/);
      assert.match(out("gitlab-upgrade-gate-start"), /^gate before the first hop \(GitLab 16\.7\.10\): GitLab 16\.7\.10 healthy/);
      // GitLab is recreated only for the six hops left; the runner once, at the last.
      const gitlabUps = composeUps(sb.calls()).filter((c) => / gitlab( |$)/.test(c));
      assert.equal(gitlabUps.length, 6, gitlabUps.join("\n"));
      assert.equal(resumeCounts.gitlabRestarts, 6);
      assert.equal(resumeCounts.runnerRecreations, 1);
      const text = sb.readFile(CI_PATHS.compose).toString("utf8");
      assert.match(text, /\n {4}image: gitlab\/gitlab-ce:17\.11\.7-ce\.0\n/);
      assert.match(text, /\n {4}image: gitlab\/gitlab-runner:ubuntu-v17\.11\.0\n/);
    });

    it("d: the offline engine's re-run backs up again, as GitLab 16.7.10, beside the first backup (the real engine would not run it)", async () => {
      const dirs = (await listTree(ci(), BACKUP_DIR)).filter((e) => !e.name.includes("/")).map((e) => e.name).sort();
      assert.equal(dirs.length, 2, dirs.join(", "));
      assert.ok(dirs.includes(backupsAfterStop[0]), "the first backup is kept");
      assert.match(dirs.find((d) => d !== backupsAfterStop[0])!, /-gitlab-16\.7\.10$/);
    });

    it("leaks no secret canary in either up", () => {
      assertNoCanaryLeaks(ci(), { commands: resumed.commands, executed: [...stopped.executed, ...resumed.executed] });
    });
  });

  describe("e: the snapshot window (default 23:00-00:30, server time 22:30)", () => {
    const ci = useSandbox("ci-2.1.0");

    it("refuses the up at the preflight (exit 11) before any hop, naming the window's setting and its override", async () => {
      const sb = ci();
      await gitlabRunning(sb);
      sb.setHealth(["healthy"]);
      sb.setClock("22:30");
      const before = sb.readFile(CI_PATHS.compose);
      const r = await apply(hostStackConfig(sb, pathConfig()), { routes: ciRoutes(sb) });
      assert.ok(r.error, "the up must fail");
      assert.match(r.error.message, /^gitlab-upgrade-preflight failed with exit code 11: upgrade preflight: nothing was changed/);
      assert.match(r.error.message, /server time 22:30: .* would reach the snapshot window 23:00-00:30 \(ciServer\.snapshotWindow\) at 23:00/);
      assert.match(r.error.message, /set ciServer\.allowInSnapshotWindow true for this up/);
      assert.deepEqual(r.attempted, FIRST_STEPS.slice(0, 2));
      assert.ok(sb.readFile(CI_PATHS.compose).equals(before));
      assert.deepEqual(composeUps(sb.calls()), []);
      assert.deepEqual(sb.events().filter((e) => e.event === "stop"), []);
    });

    it("goes on with ciServer.allowInSnapshotWindow true", async () => {
      const sb = ci();
      sb.setClock("22:30");
      const r = await apply(hostStackConfig(sb, (c) => {
        pathConfig()(c);
        c.ciServer.allowInSnapshotWindow = true;
      }), { routes: ciRoutes(sb) });
      assert.equal(r.error, undefined, String(r.error));
      assert.doesNotMatch(r.executed.find((e) => e.name === "gitlab-upgrade-preflight")!.stdout, /snapshot window/);
      assert.match(sb.readFile(CI_PATHS.compose).toString("utf8"), /\n {4}image: gitlab\/gitlab-ce:17\.11\.7-ce\.0\n/);
    });
  });
});
