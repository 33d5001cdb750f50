// What the preflight concludes from the server's docker-compose.yml, before any hop runs: the
// running version, which planned hops will run, and every reason to refuse (PostgreSQL, edition,
// a server older than the plan's floor, no place for the backup), each naming its setting.
import { bindSource, imageOf, serviceData } from "../ciServer/compose/composeFile";
import { downgradeProblem } from "../ciServer/compose/upgradePath";
import { plannedHops, PLAN_FLOOR } from "./path";
import { followingRunnerImage, gitlabImageOf, imageEdition, type Edition } from "./images";
import { postgresImageMajor, requiredPostgresMajor } from "./postgres";
import { compareVersions, imageVersion, minorBefore, versionText, type Version } from "./version";

export const GITLAB_SERVICE = "gitlab";
export const RUNNER_SERVICE = "gitlab-runner";
/** Collaborage's PostgreSQL service (GITLAB_OMNIBUS_CONFIG's db_host). */
export const DB_SERVICE = "gitlab-db";
/** Where GitLab's data and PostgreSQL's data sit in their containers. */
export const GITLAB_DATA = "/var/opt/gitlab";
export const POSTGRES_DATA = "/var/lib/postgresql/data";

export interface UpgradeTarget {
  readonly gitlabImage: string;
  /** An explicit tag, "follow", or undefined (the runner stays). */
  readonly runnerImage?: string;
  readonly stopVersions: readonly Version[];
  readonly allowEditionChange: boolean;
  readonly backup: boolean;
}

export interface Hop {
  readonly version: Version;
  readonly image: string;
  /** false: the server already runs this version or a later one. */
  readonly runs: boolean;
}

export interface UpgradeVerdict {
  readonly from: Version;
  readonly fromImage: string;
  readonly hops: Hop[];
  /** The runner image the last hop writes, when it changes. */
  readonly runnerImage?: string;
  readonly gitlabDataHostDir?: string;
  readonly dbDataHostDir?: string;
  readonly dbContainer?: string;
  readonly problems: string[];
  readonly warnings: string[];
}

const KEY = "upgrade.gitlabImage";

export function upgradeVerdict(composeText: string, t: UpgradeTarget): UpgradeVerdict {
  const problems: string[] = [];
  const warnings: string[] = [];
  const target = imageVersion(t.gitlabImage)!;
  const fromImage = imageOf(composeText, GITLAB_SERVICE) ?? "";
  const from = imageVersion(fromImage);
  if (!from) {
    return { from: { major: 0, minor: 0, patch: 0 }, fromImage, hops: [], problems: [`services.${GITLAB_SERVICE}.image in docker-compose.yml has no version tag (${JSON.stringify(fromImage)}); the upgrade path starts from it`], warnings };
  }
  const edition: Edition = imageEdition(t.gitlabImage) ?? "ce";
  const serverEdition = imageEdition(fromImage);
  if (serverEdition && serverEdition !== edition && !t.allowEditionChange) {
    problems.push(`${KEY}: the server runs gitlab-${serverEdition} (${fromImage}) and the target is gitlab-${edition} (${t.gitlabImage}); ` +
      `choose the same edition, or set upgrade.allowEditionChange true to move to gitlab-${edition} (GitLab supports CE to EE, not EE back to CE)`);
  }
  const gitlabDown = downgradeProblem("GitLab", fromImage, t.gitlabImage);
  if (gitlabDown) problems.push(`${KEY}: ${gitlabDown}`);
  if (minorBefore(from, PLAN_FLOOR) && minorBefore(PLAN_FLOOR, target)) {
    problems.push(`${KEY}: the server runs GitLab ${versionText(from)}, older than ${PLAN_FLOOR.major}.${PLAN_FLOOR.minor}, where this program's planned hops start; ` +
      `set upgrade.gitlabImage to a stop below it first (run pulumi up once per stop), then to ${t.gitlabImage}`);
  }
  const planned = plannedHops(target, t.stopVersions);
  const hops = planned.hops.map((v) => ({ version: v, image: gitlabImageOf(edition, v), runs: compareVersions(v, from) > 0 }));

  // PostgreSQL in its own container: its image's major must be what the target needs.
  const db = serviceData(composeText, DB_SERVICE);
  const needed = requiredPostgresMajor(target);
  const dbImage = db && typeof db.image === "string" ? db.image : undefined;
  const dbMajor = dbImage ? postgresImageMajor(dbImage) : undefined;
  if (!db) {
    warnings.push(`docker-compose.yml has no ${DB_SERVICE} service: PostgreSQL's version is not checked and no database dump is taken (gitlab-backup's own dump still is)`);
  } else if (needed !== undefined && dbMajor === undefined) {
    warnings.push(`services.${DB_SERVICE}.image ${JSON.stringify(dbImage ?? null)} names no PostgreSQL version: check by hand that it is ${needed} or later (GitLab ${target.major} needs it)`);
  } else if (needed !== undefined && dbMajor !== undefined && dbMajor < needed) {
    const lastOnThisDb = [17, 16, 15, 14, 13].find((m) => (requiredPostgresMajor({ major: m, minor: 0 }) ?? 0) <= dbMajor);
    problems.push(`${KEY}: GitLab ${target.major} needs PostgreSQL ${needed} or later, and the server's ${DB_SERVICE} runs ${dbImage} (PostgreSQL ${dbMajor}). ` +
      `This program never upgrades PostgreSQL: dump ${DB_SERVICE}, move it to a postgres:${needed} container and restore (docs.gitlab.com/install/requirements), then run pulumi up again` +
      (lastOnThisDb !== undefined && lastOnThisDb < target.major ? `; or choose a GitLab ${lastOnThisDb}.x target, which PostgreSQL ${dbMajor} supports` : ""));
  }

  const gitlab = serviceData(composeText, GITLAB_SERVICE) ?? {};
  const gitlabDataHostDir = bindSource(gitlab, GITLAB_DATA);
  const dbDataHostDir = db ? bindSource(db, POSTGRES_DATA) : undefined;
  if (t.backup && hops.some((h) => h.runs) && !gitlabDataHostDir) {
    problems.push(`upgrade.backup: services.${GITLAB_SERVICE} mounts no host directory at ${GITLAB_DATA}, so the backup has no place to land; ` +
      `set upgrade.backup false if you snapshot GitLab's volume yourself`);
  }

  const currentRunner = imageOf(composeText, RUNNER_SERVICE);
  const runnerImage = t.runnerImage === "follow" ? followingRunnerImage(currentRunner, target) : t.runnerImage;
  const runnerDown = currentRunner && runnerImage && downgradeProblem("GitLab Runner", currentRunner, runnerImage);
  if (runnerDown) problems.push(`upgrade.runnerImage${t.runnerImage === "follow" ? " (follow)" : ""}: ${runnerDown}`);
  return {
    from, fromImage, hops,
    ...(runnerImage && runnerImage !== currentRunner && { runnerImage }),
    ...(gitlabDataHostDir && { gitlabDataHostDir }),
    ...(dbDataHostDir && { dbDataHostDir }),
    ...(db && { dbContainer: DB_SERVICE }),
    problems, warnings,
  };
}
