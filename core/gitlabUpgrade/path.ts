// The hops of a GitLab upgrade: each required stop between the running version and the target,
// then the target. Pure, so that the plan, the preflight and the tests agree on one list.
import { stopsBetween } from "./stops";
import { compareVersions, formatVersion, parseVersion, type Version } from "./version";

export interface UpgradePath {
  /** Each version GitLab lands on, in order; the last is the target. */
  readonly hops: Version[];
  /** Stops on the path whose patch this program does not know (set upgrade.stopVersions). */
  readonly missingPatches: Version[];
}

/** From `from` (running) to `to` (target, x.y.z). Empty hops when `to` is not newer than `from`. */
export function upgradePath(from: Version, to: Version, overrides: readonly Version[] = []): UpgradePath {
  if (compareVersions(to, from) <= 0) return { hops: [], missingPatches: [] };
  const stops = stopsBetween(from, to, overrides);
  return { hops: [...stops, to], missingPatches: stops.filter((s) => s.patch === undefined) };
}

/**
 * Where the planned hops start. Pulumi plans resources before any command has read the server, so
 * the hop resources are the path from here, the GitLab of Collaborage 2.x (16.0.6); hops the server
 * has already passed do nothing when they run. A server older than this is refused by the
 * preflight (PostgreSQL 9.5 on Collaborage 1.1 would be refused first anyway).
 */
export const PLAN_FLOOR: Version = parseVersion("16.0.0");

/** The hop resources for a target: the path from PLAN_FLOOR, or the target alone below it. */
export function plannedHops(target: Version, overrides: readonly Version[] = []): UpgradePath {
  if (compareVersions(target, PLAN_FLOOR) <= 0) return { hops: [target], missingPatches: [] };
  return upgradePath(PLAN_FLOOR, target, overrides);
}

export const describePath = (from: Version, p: UpgradePath): string =>
  [from, ...p.hops].map(formatVersion).join(" → ");
