// Issue 19's remote steps, run as remote.Command runs them (ssh, sudo, the stand-in GitLab of
// standin_container.py) on the Collaborage 2.1.0 layout: the gate between hops, the backup before
// the first one, the preflight, and the snapshot window's guard on a guarded write's recreate.
import { strict as assert } from "node:assert";
import { readFileScript, guardedWriteScript, guardedWriteStdin, EXIT, type GuardedWrite } from "../../../core/remote/scripts";
import { parseReadResult } from "../../../core/remote/readResult";
import {
  upgradeBackupScript, upgradeGateScript, upgradePreflightScript, type GateParams, type SnapshotWindowGuard,
} from "../../../core/remote/upgradeScripts";
import { type MigrationRow, type Sandbox, useSandbox } from "../sandbox";
import { CI_APP_DIR } from "../layouts";
import { CI_PATHS } from "../programRun";
import { listDir, listTree } from "./checks";
import { GITLAB_CONFIG, GITLAB_DATA, GITLAB_DB_DATA, GITLAB_SECRETS_JSON, gitlabRunning } from "./gitlabServer";

const BACKUPS = "/var/backups/gitlab-upgrade";
const HINT = "Run pulumi up again when they have finished: it resumes at this gate.";
const WINDOW: SnapshotWindowGuard = {
  start: "23:00", end: "00:30", boundSeconds: 5 * 3600 + 20 * 60,
  settingKey: "ciServer.snapshotWindow", overrideKey: "ciServer.allowInSnapshotWindow",
};

const gate = (over: Partial<GateParams> = {}): GateParams => ({
  container: "gitlab", version: "16.0.6", checks: ["batched-rake"], timeoutSeconds: 600, pollSeconds: 60,
  label: "after the hop to 16.0.6", resumeHint: HINT, ...over,
});
/** The sleeps of the scripts run since the last beforeEach. */
let sleepsBefore = 0;
const newSleeps = (sb: Sandbox) => sb.sleeps().slice(sleepsBefore);
const row = (status: string, cls: string, table: string): MigrationRow => [status, cls, table, "id", "[]"];

async function root(sb: Sandbox, cmd: string): Promise<void> {
  const r = await sb.exec(`sudo -n sh -c '${cmd}'`, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
}

describe("host scenario: the upgrade's gate, backup and preflight (Collaborage 2.1.0, stand-in GitLab 16.0.6)", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-2.1.0");

  before(async () => {
    const sb = ci();
    // GitLab's config files world-readable: the backup's 0600 copies are then its own doing.
    await gitlabRunning(sb, "docker compose", 0o644);
  });
  beforeEach(() => {
    const sb = ci();
    sb.setHealth([]);
    sb.setGitlabMigrations({});
    sb.setGitlab({});
    sb.setClock(undefined);
    sb.clearCalls();
    sleepsBefore = sb.sleeps().length;
  });

  describe("gate", () => {
    it("passes after several polls: unhealthy, then migrations unfinished, then finished; one progress line a poll", async () => {
      const sb = ci();
      sb.setHealth(["starting", "healthy"]);
      sb.setGitlabMigrations({
        "16.0.6": [
          [row("active", "BackfillProjectNamespaceOnIssues", "projects"), row("paused", "CopyColumnUsingBackgroundMigrationJob", "ci_builds"), row("finished", "Done", "users")],
          [row("active", "BackfillProjectNamespaceOnIssues", "projects"), row("finalized", "CopyColumnUsingBackgroundMigrationJob", "ci_builds")],
          [row("finished", "BackfillProjectNamespaceOnIssues", "projects"), row("finalized", "CopyColumnUsingBackgroundMigrationJob", "ci_builds")],
        ],
      });
      const r = await sb.exec(upgradeGateScript(gate()));
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.split("\n").filter(Boolean);
      assert.equal(out.length, 4, r.stdout);
      // The seconds count the sleeps and the checks' own run time.
      const secs = out.map((l) => Number(/\((\d+) s\)$/.exec(l)?.[1]));
      secs.forEach((n, i) => assert.ok(n >= 60 * i && n < 60 * i + 30, `${out[i]}: ${n} s`));
      assert.match(out[0], /^gate after the hop to 16\.0\.6: GitLab 16\.0\.6 is not healthy yet \(starting\) \(\d+ s\)$/);
      assert.match(out[1], /^gate after the hop to 16\.0\.6: 2 batched background migrations unfinished \(active: BackfillProjectNamespaceOnIssues on projects; paused: CopyColumnUsingBackgroundMigrationJob on ci_builds\) \(\d+ s\)$/);
      assert.match(out[2], /^gate after the hop to 16\.0\.6: 1 batched background migrations unfinished \(active: BackfillProjectNamespaceOnIssues on projects\) \(\d+ s\)$/);
      assert.match(out[3], /^gate after the hop to 16\.0\.6: GitLab 16\.0\.6 healthy, background migrations finished \(\d+ s\)$/);
      assert.deepEqual(newSleeps(sb), ["60", "60", "60"]);
      assert.equal(sb.calls().filter((c) => c === "docker exec gitlab gitlab-rake gitlab:background_migrations:status").length, 3);
    });

    it("times out (exit 10) naming the unfinished migrations, the bound and how to resume", async () => {
      const sb = ci();
      sb.setGitlabMigrations({ "16.0.6": [[row("active", "BackfillNamespaceTraversalIdsChildren", "namespaces"), row("paused", "ResolveVulnerabilitiesForRemovedAnalyzers", "vulnerabilities")]] });
      const r = await sb.exec(upgradeGateScript(gate({ timeoutSeconds: 180 })));
      assert.equal(r.code, EXIT.migrationsPending, r.stderr);
      assert.equal(r.stderr,
        "gate after the hop to 16.0.6: not done within its bound of 180 s: 2 batched background migrations unfinished " +
        "(active: BackfillNamespaceTraversalIdsChildren on namespaces; paused: ResolveVulnerabilitiesForRemovedAnalyzers on vulnerabilities). " +
        `${HINT}\n`);
      assert.deepEqual(newSleeps(sb), ["60", "60", "60"]);
    });

    it("stops at once (exit 13) on a failed batched migration, naming it whole and the troubleshooting page", async () => {
      const sb = ci();
      sb.setGitlabMigrations({ "16.0.6": [[row("failed", "BackfillUserDetailsFields", "users"), row("active", "Other", "projects"), row("failed", "BackfillVsCodeSettingsUuid", "vs_code_settings")]] });
      const r = await sb.exec(upgradeGateScript(gate()));
      assert.equal(r.code, EXIT.migrationsFailed, r.stderr);
      assert.match(r.stderr, /^gate after the hop to 16\.0\.6: batched background migrations failed in GitLab 16\.0\.6; waiting will not finish them: main: BackfillUserDetailsFields,users,id,\[\]; main: BackfillVsCodeSettingsUuid,vs_code_settings,id,\[\]\. /);
      assert.match(r.stderr, /https:\/\/docs\.gitlab\.com\/update\/background_migrations_troubleshooting\//);
      assert.ok(r.stderr.endsWith(`${HINT}\n`));
      assert.deepEqual(newSleeps(sb), []);
    });

    it("the Sidekiq-era checks ask gitlab-rails runner for numbers; 0 is done", async () => {
      const sb = ci();
      sb.setGitlabMigrations({ "16.0.6": [[row("active", "A", "t")], [row("finished", "A", "t")]] });
      const r = await sb.exec(upgradeGateScript(gate({ checks: ["sidekiq-remaining", "sidekiq-jobs", "batched-runner"] })));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^gate after the hop to 16\.0\.6: 1 Sidekiq background migrations remaining; 1 background migration jobs pending; 1 batched background migrations queued \(\d+ s\)\n/);
      assert.match(r.stdout, /GitLab 16\.0\.6 healthy, background migrations finished/);
      assert.ok(sb.calls().includes("docker exec gitlab gitlab-rails runner -e production 'puts Gitlab::BackgroundMigration.remaining'"));
    });

    it("(the stand-in) other rails code fails as rails does; the rake task prints as the real one", async () => {
      const sb = ci();
      sb.setGitlabMigrations({ "16.0.6": [[row("finalizing", "BackfillX", "ci_builds")]] });
      const other = await sb.exec("sudo -n docker exec gitlab gitlab-rails runner -e production 'puts Gitlab::Nothing.count'");
      assert.equal(other.code, 1);
      assert.match(other.stderr, /undefined method `Gitlab::Nothing\.count'/);
      const rake = await sb.exec("sudo -n docker exec gitlab gitlab-rake gitlab:background_migrations:status");
      assert.equal(rake.stdout, "Database: main\nfinalizing | BackfillX,ci_builds,id,[]\n");
    });

    it("past this hop: GitLab already runs a later version, nothing to wait for (no migration check runs)", async () => {
      const sb = ci();
      const r = await sb.exec(upgradeGateScript(gate({ version: "15.11.13", label: "after the hop to 15.11.13" })));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "gate after the hop to 15.11.13: GitLab runs 16.0.6, past 15.11.13: nothing to wait for here\n");
      assert.deepEqual(sb.calls(), ["docker exec gitlab cat /opt/gitlab/embedded/service/gitlab-rails/VERSION"]);
    });

    it("an older GitLab than the hop's version: the recreate did not take effect (exit 5), at once", async () => {
      const sb = ci();
      const r = await sb.exec(upgradeGateScript(gate({ version: "16.3.9", label: "after the hop to 16.3.9" })));
      assert.equal(r.code, EXIT.afterActionFailed);
      assert.match(r.stderr, /^gate after the hop to 16\.3\.9: GitLab reports 16\.0\.6, not 16\.3\.9: the hop's recreate did not take effect\./);
    });

    it("without checks: health and version only", async () => {
      const sb = ci();
      const r = await sb.exec(upgradeGateScript(gate({ version: "", checks: [], label: "before the first hop" })));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^gate before the first hop: GitLab 16\.0\.6 healthy \(\d+ s\)\n$/);
    });
  });

  describe("backup", () => {
    const params = { gitlabContainer: "gitlab", dbContainer: "gitlab-db", gitlabDataHostDir: GITLAB_DATA, backupDir: BACKUPS, fromVersion: "16.0.6", timeoutSeconds: 3600 };

    it("makes <dir>/<UTC time>-gitlab-16.0.6/ with the tar, the secrets, gitlab.rb and the dump, root 0600, sizes printed", async () => {
      const sb = ci();
      const r = await sb.exec(upgradeBackupScript(params), { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const dir = /^backup: (\S+)$/m.exec(r.stdout.split("\n").filter(Boolean).pop()!)?.[1];
      assert.ok(dir && new RegExp(`^${BACKUPS}/\\d{8}T\\d{6}Z-gitlab-16\\.0\\.6$`).test(dir), r.stdout);
      assert.match(r.stdout, /Backup \d+_\d{4}_\d\d_\d\d_16\.0\.6 is done\./, "gitlab-backup's own output passes through");
      const tree = await listTree(sb, BACKUPS);
      const name = dir.slice(BACKUPS.length + 1);
      const files = tree.filter((e) => e.type === "f");
      assert.deepEqual(files.map((e) => e.name.replace(/\d+_\d{4}_\d\d_\d\d_/, "<stamp>_")).sort(),
        [`${name}/<stamp>_16.0.6_gitlab_backup.tar`, `${name}/gitlab-db.dump`, `${name}/gitlab-secrets.json`, `${name}/gitlab.rb`].sort());
      for (const f of files) assert.deepEqual([f.owner, f.mode.toString(8)], ["root", "600"], f.name);
      assert.deepEqual(tree.filter((e) => e.type === "d").map((e) => [e.name, e.owner, e.mode.toString(8)]), [[name, "root", "700"]]);
      assert.equal(sb.stat(BACKUPS).mode.toString(8), "700");
      for (const f of files) {
        const base = f.name.slice(name.length + 1);
        assert.match(r.stdout, new RegExp(`^  ${base.replace(/\./g, "\\.")}: ${sb.readFile(`${dir}/${base}`).length} bytes$`, "m"));
      }
      assert.equal(sb.readFile(`${dir}/gitlab-secrets.json`).toString(), GITLAB_SECRETS_JSON);
      assert.match(sb.readFile(`${dir}/gitlab-db.dump`).toString("latin1"), /^PGDMP.*dump of gitlab by gitlab/s);
      assert.deepEqual(await listDir(sb, `${GITLAB_DATA}/backups`), [], "the tar moved out of GitLab's backups/");
      assert.ok(!/canary-secret|POSTGRES_PASSWORD/.test(r.stdout + r.stderr), "no secret in the output");
      assert.ok(sb.calls().includes(`docker exec gitlab-db sh -c 'pg_dump -U "$POSTGRES_USER" -Fc "$POSTGRES_DB"'`));
    });

    for (const [what, knobs, says] of [
      ["gitlab-backup create fails", { backupFails: true }, /^backup failed: gitlab-backup create exited with 1 \(its output is above\)\. /m],
      ["pg_dump fails", { pgDumpFails: true }, /^backup failed: pg_dump in gitlab-db failed \(output above\)\. /m],
    ] as const) {
      it(`${what}: exit 12, saying what failed, and no partial directory is left`, async () => {
        const sb = ci();
        const before = await listDir(sb, BACKUPS);
        sb.setGitlab(knobs);
        const r = await sb.exec(upgradeBackupScript(params), { timeoutMs: 60_000 });
        assert.equal(r.code, EXIT.backupFailed, r.stderr);
        assert.match(r.stderr, says);
        assert.match(r.stderr, /Nothing was kept in \/var\/backups\/gitlab-upgrade and nothing was upgraded\./);
        assert.deepEqual(await listDir(sb, BACKUPS), before);
      });
    }

    it("gitlab-backup create past its bound: exit 12 saying so, and no partial directory is left", async () => {
      const sb = ci();
      const before = await listDir(sb, BACKUPS);
      sb.setGitlab({ backupHangs: true });
      const r = await sb.exec(upgradeBackupScript({ ...params, timeoutSeconds: 1 }), { timeoutMs: 60_000 });
      assert.equal(r.code, EXIT.backupFailed, r.stderr);
      assert.match(r.stderr, /^backup failed: gitlab-backup create did not finish within 1 s\. It may still run inside gitlab; its tar would land in \/data\/gitlab\/data\/backups\. /m);
      assert.deepEqual(await listDir(sb, BACKUPS), before);
    });

    it("a missing gitlab.rb: exit 12 naming the docker cp", async () => {
      const sb = ci();
      await root(sb, `mv ${GITLAB_CONFIG}/gitlab.rb ${GITLAB_CONFIG}/gitlab.rb.away`);
      try {
        const before = await listDir(sb, BACKUPS);
        const r = await sb.exec(upgradeBackupScript({ ...params, dbContainer: undefined }), { timeoutMs: 60_000 });
        assert.equal(r.code, EXIT.backupFailed, r.stderr);
        assert.match(r.stderr, /^backup failed: docker cp of \/etc\/gitlab\/gitlab\.rb from gitlab failed/m);
        assert.deepEqual(await listDir(sb, BACKUPS), before);
      } finally {
        await root(sb, `mv ${GITLAB_CONFIG}/gitlab.rb.away ${GITLAB_CONFIG}/gitlab.rb`);
      }
    });
  });

  describe("preflight", () => {
    it("inside the window, and on too little disk: both problems listed at once (exit 11)", async () => {
      const sb = ci();
      sb.setClock("23:10");
      // /dev/shm is the sandbox's 64 MiB tmpfs: 40 MiB of GitLab data + 2 x 15 MiB of database do not fit.
      await root(sb, `fallocate -l 40M ${GITLAB_DATA}/repos.bin && fallocate -l 15M ${GITLAB_DB_DATA}/base.bin && mkdir -p ${GITLAB_DATA}/backups && fallocate -l 30M ${GITLAB_DATA}/backups/old_gitlab_backup.tar`);
      try {
        const r = await sb.exec(upgradePreflightScript({ window: WINDOW, disk: { backupDir: "/dev/shm/gitlab/backups", gitlabDataHostDir: GITLAB_DATA, dbDataHostDir: GITLAB_DB_DATA } }));
        assert.equal(r.code, EXIT.preflight, r.stderr);
        const lines = r.stderr.split("\n");
        assert.equal(lines[0], "upgrade preflight: nothing was changed, because:");
        assert.equal(lines[1],
          "- Refused: server time 23:10 is inside the snapshot window 23:00-00:30 (ciServer.snapshotWindow), when Collaborage stops GitLab for its EBS snapshot; " +
          "the work after this check may take up to 5 h 20 min. It fits when started between 00:30 and 17:39 (server time); or set ciServer.allowInSnapshotWindow true for this up.");
        assert.match(lines[2], /^- too little disk for the backup: it needs 7\d MiB \(GitLab's data without backups\/: 4\d MiB, 2 x PostgreSQL's data: 3\d MiB\) and 6\d MiB are free at \/dev\/shm\. Free space there, set upgrade\.backupDir to a larger disk, or set upgrade\.backup false /);
        assert.equal(lines.length, 4, r.stderr);
      } finally {
        await root(sb, `rm -rf ${GITLAB_DATA}/repos.bin ${GITLAB_DB_DATA}/base.bin ${GITLAB_DATA}/backups/old_gitlab_backup.tar`);
      }
    });

    it("refuses when the bound runs into the window, naming the latest start that fits", async () => {
      const sb = ci();
      sb.setClock("18:00");
      const r = await sb.exec(upgradePreflightScript({ window: WINDOW }));
      assert.equal(r.code, EXIT.preflight);
      assert.match(r.stderr, /^- Refused: server time 18:00: the work after this check may take up to 5 h 20 min and would reach the snapshot window 23:00-00:30 \(ciServer\.snapshotWindow\) at 23:00\. It fits when started between 00:30 and 17:39 \(server time\); or set ciServer\.allowInSnapshotWindow true for this up\.$/m);
    });

    it("passes and says what it checked", async () => {
      const sb = ci();
      sb.setClock("10:05");
      const r = await sb.exec(upgradePreflightScript({ window: WINDOW, disk: { backupDir: "/var/backups/not/yet", gitlabDataHostDir: GITLAB_DATA, dbDataHostDir: GITLAB_DB_DATA } }));
      assert.equal(r.code, 0, r.stderr);
      const [w, d] = r.stdout.split("\n");
      assert.equal(w, "server time 10:05; snapshot window 23:00-00:30; bound 5 h 20 min: ends by 15:25");
      assert.match(d, /^backup needs \d+ MiB, \d+ MiB free at \/var\/backups$/);
    });
  });

  describe("a guarded write whose recreate has a window", () => {
    const write = (window: SnapshotWindowGuard): GuardedWrite => ({
      key: "compose", path: CI_PATHS.compose, summary: [], validate: { compose: { appDir: CI_APP_DIR, command: "auto" } },
      after: { kind: "compose-up", compose: { appDir: CI_APP_DIR, command: "auto" }, services: ["gitlab"], window },
    });

    it("refuses inside the window (exit 9) and writes nothing", async () => {
      const sb = ci();
      sb.setClock("00:10");
      const read = await sb.exec(readFileScript(CI_PATHS.compose));
      const before = sb.readFile(CI_PATHS.compose).toString();
      const cur = parseReadResult(read.stdout);
      assert.ok(cur.exists && cur.sha256);
      const next = before.replace("gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ce:16.3.9-ce.0");
      assert.notEqual(next, before);
      const r = await sb.exec(guardedWriteScript(write({ ...WINDOW, boundSeconds: 900 })), { stdin: guardedWriteStdin(cur.sha256, next) });
      assert.equal(r.code, EXIT.snapshotWindow, r.stderr);
      assert.match(r.stderr, /^Refused: server time 00:10 is inside the snapshot window 23:00-00:30 \(ciServer\.snapshotWindow\)/);
      assert.match(r.stderr, /Nothing was written: \/home\/ec2-user\/nop\/docker\/ci\/docker-compose\.yml is as it was\.\n$/);
      assert.equal(sb.readFile(CI_PATHS.compose).toString(), before);
      assert.deepEqual(await listDir(sb, "/var/lib/gitlab-runner-autoscaling"), []);
      assert.ok(!sb.calls().some((c) => /\bup\b/.test(c)), sb.calls().join("\n"));
    });
  });
});
