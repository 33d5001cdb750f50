// Which background-migration checks tell that a GitLab version has finished its migrations
// (docs.gitlab.com/update/background_migrations/). The gate after each hop runs them until none is
// left, bounded by upgrade.migrationsTimeoutSeconds.
//
// - batched-rake: `gitlab-rake gitlab:background_migrations:status` prints "Database: <db>" and one
//   "<status> | job,table,column,args" line per batched migration (lib/tasks/gitlab/
//   background_migrations.rake, display_migration_status; added by gitlab!71605 in 14.x). Used from
//   15.0, the first major in which this program relies on it being there.
// - batched-runner: `gitlab-rails runner 'puts …BatchedMigration.queued.count'`, the docs' check in
//   14.x (batched migrations start in 14.0).
// - sidekiq-remaining: `puts Gitlab::BackgroundMigration.remaining`, the docs' check for the
//   Sidekiq-based (not batched) migrations from 12.9; 15.1 and later use batched ones only, and
//   18.4 removed the method (gitlab-org/gitlab#573394).
// - sidekiq-jobs: `puts Gitlab::Database::BackgroundMigrationJob.pending.count`, added to the docs
//   for 14.0 and later (gitlab-org/gitlab#442725), removed with the former.
import { minorBefore, parseVersion, type Version } from "./version";

import type { MigrationCheck } from "../remote/upgradeScripts";

export type { MigrationCheck };

const atLeast = (v: Version, minor: string) => !minorBefore(v, parseVersion(minor));

/** The checks for a GitLab version; [] before 12.9, where GitLab documents none (health only). */
export function migrationChecks(v: Version): MigrationCheck[] {
  if (!atLeast(v, "12.9")) return [];
  if (!atLeast(v, "14.0")) return ["sidekiq-remaining"];
  if (!atLeast(v, "15.0")) return ["sidekiq-remaining", "sidekiq-jobs", "batched-runner"];
  if (!atLeast(v, "15.1")) return ["sidekiq-remaining", "sidekiq-jobs", "batched-rake"];
  return ["batched-rake"];
}

/** The gate's poll interval: 30 s for real waits, 1 s for the short bounds tests use. */
export const gatePollSeconds = (timeoutSeconds: number): number => (timeoutSeconds >= 300 ? 30 : 1);
