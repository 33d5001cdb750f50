// The remote steps of a GitLab upgrade along its path: the preflight (snapshot window, disk), the
// backup before the first hop, and the gate after each hop. Pure: parameters in, script text out;
// the shell is in core/remote/sh/upgrade/ and lib/snapshot_window.sh. Exit codes: scripts.ts's EXIT.
//
// What each gate check runs inside the GitLab container, and the GitLab versions it exists for
// (docs.gitlab.com/update/background_migrations/, "Check for pending … migrations"; the rake task
// is lib/tasks/gitlab/background_migrations.rake in gitlab-org/gitlab):
// - batched-rake: `gitlab-rake gitlab:background_migrations:status`, one line per batched migration
//   "<status> | <job class>,<table>,<column>,<job arguments>" (statuses paused, active, finished,
//   failed, finalizing, finalized); unfinished = neither finished nor finalized; a failed one stops
//   the upgrade at once (docs.gitlab.com/update/background_migrations_troubleshooting/).
// - batched-runner: `Gitlab::Database::BackgroundMigration::BatchedMigration.queued.count` through
//   `gitlab-rails runner` (GitLab 14.x, before the rake task).
// - sidekiq-remaining: `Gitlab::BackgroundMigration.remaining` (Sidekiq-based migrations, 12.9 to 15.0).
// - sidekiq-jobs: `Gitlab::Database::BackgroundMigrationJob.pending.count` (14.0 to 15.0).
// Which checks a hop's gate uses is the caller's choice (the version path).
import { asRoot, checkName, checkSeconds, shHeader, shLines, shPathValue, shPreamble, type ScriptOptions } from "./shell";
import { shSections } from "./shFiles";
import { checkWindowGuard, windowParams, type SnapshotWindowGuard } from "./snapshotWindow";

export type { SnapshotWindowGuard } from "./snapshotWindow";

export type MigrationCheck = "batched-rake" | "batched-runner" | "sidekiq-remaining" | "sidekiq-jobs";
export const MIGRATION_CHECKS: readonly MigrationCheck[] = ["batched-rake", "batched-runner", "sidekiq-remaining", "sidekiq-jobs"];

export interface GateParams {
  readonly container: string;        // "gitlab"
  /** The version this gate follows, "16.3.9"; "" = whatever GitLab runs now (the gate before the first hop). */
  readonly version: string;
  readonly checks: readonly MigrationCheck[];   // [] = health and version only
  readonly timeoutSeconds: number;
  readonly pollSeconds: number;
  /** For messages, e.g. "after the hop to 16.3.9". */
  readonly label: string;
  /** One line said on timeout/failure, e.g. "Run pulumi up again when they have finished: it resumes at this gate." */
  readonly resumeHint: string;
}

export interface BackupParams {
  readonly gitlabContainer: string;      // "gitlab"
  /** The PostgreSQL container (Collaborage: "gitlab-db"); undefined = none in compose, no dump. */
  readonly dbContainer?: string;
  /** Host directory mounted at /var/opt/gitlab in the gitlab container (Collaborage: /data/gitlab/data). gitlab-backup writes <it>/backups/<name>_gitlab_backup.tar. */
  readonly gitlabDataHostDir: string;
  /** Parent directory; the script makes <backupDir>/<UTC yyyymmddThhmmssZ>-gitlab-<fromVersion>/ */
  readonly backupDir: string;
  readonly fromVersion: string;          // "16.0.6"
  readonly timeoutSeconds: number;       // bound on gitlab-backup create (and on pg_dump)
}

export interface PreflightParams {
  readonly window?: SnapshotWindowGuard;
  /** Disk check for the backup: free space at backupDir (nearest existing parent) >= du of gitlabDataHostDir (without its backups/) + 2 x du of dbDataHostDir. */
  readonly disk?: { readonly backupDir: string; readonly gitlabDataHostDir: string; readonly dbDataHostDir?: string };
}

const VERSION = /^[0-9]+\.[0-9]+\.[0-9]+$/;

function checkVersion(v: string, what: string): string {
  if (!VERSION.test(v)) throw new Error(`${what} must be a GitLab version x.y.z such as 16.3.9: ${JSON.stringify(v)}`);
  return v;
}

/** One line of plain text for a message (label, hint): no newline, and not empty. */
function checkLine(s: string, what: string): string {
  if (s.trim() === "" || /[\n\r\0]/.test(s)) throw new Error(`${what} must be one non-empty line: ${JSON.stringify(s)}`);
  return s;
}

/** A directory for the preamble: absolute, no trailing slash, no "." or ".." part. */
function checkDir(p: string, what: string): string {
  shPathValue(p, what);
  if (p !== "/" && (p.endsWith("/") || p.split("/").slice(1).some((s) => s === "" || s === "." || s === ".."))) {
    throw new Error(`${what} must be a plain absolute directory (no trailing /, //, . or ..): ${JSON.stringify(p)}`);
  }
  return p;
}

// ---- gate ---------------------------------------------------------------------------------------

export function upgradeGateBody(p: GateParams): string {
  checkName(p.container, "gate.container");
  if (p.version !== "") checkVersion(p.version, "gate.version");
  for (const c of p.checks) {
    if (!MIGRATION_CHECKS.includes(c)) throw new Error(`gate.checks: unknown check ${JSON.stringify(c)}; expected one of ${MIGRATION_CHECKS.join(", ")}`);
  }
  if (new Set(p.checks).size !== p.checks.length) throw new Error(`gate.checks names a check twice: ${p.checks.join(", ")}`);
  checkSeconds(p.timeoutSeconds, "gate.timeoutSeconds");
  checkSeconds(p.pollSeconds, "gate.pollSeconds");
  return shLines(
    ["set -eu"],
    shPreamble({
      container: p.container,
      version: p.version,
      checks: p.checks.join(" "),
      timeout: p.timeoutSeconds,
      poll: p.pollSeconds,
      label: checkLine(p.label, "gate.label"),
      resume_hint: checkLine(p.resumeHint, "gate.resumeHint"),
    }),
    shSections("lib/die.sh", "lib/last_line.sh", "upgrade/gate.sh"),
  );
}

/**
 * Waits (bounded) until GitLab runs p.version (or is past it: then at once), is healthy and its
 * background migrations (p.checks) have finished. Exit 10 on timeout naming what is pending, 13 on
 * a failed batched migration, 5 when GitLab runs an older version than p.version.
 */
export function upgradeGateScript(p: GateParams, opts: ScriptOptions = {}): string {
  const body = upgradeGateBody(p);
  return shHeader(`gitlab-runner-autoscaling: upgrade gate ${p.label}`, [
    `GitLab ${p.version || "(the version it runs now)"} healthy; background migrations: ${p.checks.length ? p.checks.join(", ") : "not checked"}`,
    `bound ${p.timeoutSeconds} s, polled every ${p.pollSeconds} s`,
  ]) + asRoot(body, opts);
}

// ---- backup -------------------------------------------------------------------------------------

export function upgradeBackupBody(p: BackupParams): string {
  checkName(p.gitlabContainer, "backup.gitlabContainer");
  if (p.dbContainer !== undefined) checkName(p.dbContainer, "backup.dbContainer");
  checkDir(p.gitlabDataHostDir, "backup.gitlabDataHostDir");
  checkDir(p.backupDir, "backup.backupDir");
  if (p.backupDir === "/") throw new Error("backup.backupDir must not be /");
  checkVersion(p.fromVersion, "backup.fromVersion");
  checkSeconds(p.timeoutSeconds, "backup.timeoutSeconds");
  return shLines(
    ["set -eu"],
    shPreamble({
      gitlab_container: p.gitlabContainer,
      db_container: p.dbContainer ?? "",
      data_dir: p.gitlabDataHostDir,
      backup_dir: p.backupDir,
      from_version: p.fromVersion,
      timeout: p.timeoutSeconds,
    }),
    shSections("lib/die.sh", "lib/signal_traps.sh", "upgrade/backup.sh"),
  );
}

/**
 * GitLab's application backup, gitlab-secrets.json, gitlab.rb and (with dbContainer) a pg_dump, in
 * <backupDir>/<UTC time>-gitlab-<fromVersion>/ (root 0700, files 0600); prints each file's size and
 * "backup: <dir>" last. Exit 12 on any failure, which leaves no partial directory.
 */
export function upgradeBackupScript(p: BackupParams, opts: ScriptOptions = {}): string {
  const body = upgradeBackupBody(p);
  return shHeader(`gitlab-runner-autoscaling: backup of GitLab ${p.fromVersion} before its upgrade`, [
    `into ${p.backupDir}/<UTC time>-gitlab-${p.fromVersion}/: gitlab-backup create, gitlab-secrets.json, gitlab.rb${p.dbContainer ? `, pg_dump of ${p.dbContainer}` : ""}`,
    `gitlab-backup create bounded by ${p.timeoutSeconds} s`,
  ]) + asRoot(body, opts);
}

// ---- preflight ----------------------------------------------------------------------------------

export function upgradePreflightBody(p: PreflightParams): string {
  const w = p.window && checkWindowGuard(p.window, "preflight.window");
  const d = p.disk;
  if (d) {
    checkDir(d.backupDir, "preflight.disk.backupDir");
    checkDir(d.gitlabDataHostDir, "preflight.disk.gitlabDataHostDir");
    if (d.dbDataHostDir !== undefined) checkDir(d.dbDataHostDir, "preflight.disk.dbDataHostDir");
  }
  return shLines(
    ["set -eu"],
    shPreamble({
      ...windowParams(w),
      backup_dir: d?.backupDir ?? "",
      data_dir: d?.gitlabDataHostDir ?? "",
      db_dir: d?.dbDataHostDir ?? "",
    }),
    shSections("lib/die.sh", "lib/last_line.sh", "lib/snapshot_window.sh", "upgrade/preflight.sh"),
  );
}

/**
 * Checks, before anything of an upgrade runs, the snapshot window against the upgrade's bound and
 * the disk its backup needs; lists every problem at once (exit 11), else prints what it checked.
 */
export function upgradePreflightScript(p: PreflightParams, opts: ScriptOptions = {}): string {
  const body = upgradePreflightBody(p);
  const said = [
    p.window && p.window.start !== "" ? `snapshot window ${p.window.start}-${p.window.end} (${p.window.settingKey}), bound ${p.window.boundSeconds} s` : "no snapshot window check",
    p.disk ? `disk for the backup at ${p.disk.backupDir}` : "no disk check",
  ];
  return shHeader("gitlab-runner-autoscaling: upgrade preflight", said) + asRoot(body, opts);
}
