// The PostgreSQL major each GitLab major needs. Collaborage runs PostgreSQL in its own container
// (gitlab-db), which GitLab's packages never upgrade: an upgrade that needs a newer one is refused
// with what to do, never done silently.
//
// Sources (docs.gitlab.com/install/requirements/#postgresql and the removal issues): 13.0 needs 11
// (charts#1985), 14.x 12 (12.7 or later, gitlab!92581), 15.x 12, 16.0 13 (omnibus#7395,
// gitlab!120551), 17.0 14 (omnibus#8341), 18.0 16 (the 17.11 release post; sameersbn/docker-gitlab#3096),
// 19.0 17 (omnibus work items 9757, 9792). Before 13.0 no minimum is enforced here: Collaborage
// 1.1 ran GitLab 12.4 on PostgreSQL 9.5.
import type { Version } from "./version";

const MINIMUM_BY_GITLAB_MAJOR: Readonly<Record<number, number>> = { 13: 11, 14: 12, 15: 12, 16: 13, 17: 14, 18: 16, 19: 17 };

/** The PostgreSQL major a GitLab version needs, if this program knows one. */
export function requiredPostgresMajor(gitlab: Version): number | undefined {
  const known = Object.keys(MINIMUM_BY_GITLAB_MAJOR).map(Number);
  if (gitlab.major < Math.min(...known)) return undefined;
  // A major newer than the table: at least what the newest known one needs.
  return MINIMUM_BY_GITLAB_MAJOR[Math.min(gitlab.major, Math.max(...known))];
}

/** The major of a postgres image tag (postgres:14.9-alpine → 14; postgres:9.5.7-alpine → 9.5). */
export function postgresImageMajor(image: string): number | undefined {
  const m = /^(?:[^/]+\/)*postgres:(\d+)(?:\.(\d+))?/.exec(image);
  if (!m) return undefined;
  const major = Number(m[1]);
  // Before PostgreSQL 10 the major had two parts.
  return major < 10 && m[2] !== undefined ? Number(`${major}.${m[2]}`) : major;
}
