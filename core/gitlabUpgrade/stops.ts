// GitLab's required upgrade stops ("Upgrade paths", docs.gitlab.com/update/upgrade_paths/), each
// with the latest patch GitLab lists for it. A jump past a stop without landing on it can break
// background migrations, so every path lands on each stop in turn.
//
// Sources: the docs' table of stops (16.3.9, 16.7.10, 16.11.10, 17.1.8, 17.3.7, 17.5.5, 17.8.7,
// 17.11.7 with their patches); from 17.5 on every x.2, x.5, x.8 and x.11 is a stop (the docs'
// predictable schedule). 17.1 is conditional in the docs (large ci_pipeline_messages tables,
// gitlab-org/gitlab#503891) but GitLab's Upgrade Path tool lists it: it costs one restart, a
// skipped conditional stop can cost a day-long migration. The 16.0/16.1/16.2 conditional stops
// (large users, npm packages, pipeline variables tables) are not taken, as the tool does not.
// For 18.x and later this program knows no patch: the operator names it (upgrade.stopVersions).
import { compareVersions, minorBefore, parseVersion, sameMinor, type Version } from "./version";

/** Stops up to 17.11 with the patch to land on. */
const LISTED = [
  "12.0.12", "12.1.17", "12.10.14", "13.0.14", "13.1.11", "13.8.8", "13.12.15",
  "14.0.12", "14.3.6", "14.9.5", "14.10.5", "15.0.5", "15.4.6", "15.11.13",
  "16.3.9", "16.7.10", "16.11.10", "17.1.8", "17.3.7", "17.5.5", "17.8.7", "17.11.7",
].map(parseVersion);

/** From 18 on, every x.2, x.5, x.8 and x.11, with no known patch. */
function scheduled(upToMajor: number): Version[] {
  const stops: Version[] = [];
  for (let major = 18; major <= upToMajor; major++) {
    for (const minor of [2, 5, 8, 11]) stops.push({ major, minor });
  }
  return stops;
}

/**
 * Every required stop up to `upToMajor`, in order; `overrides` (x.y.z on a stop's minor) give or
 * replace the patch to land on.
 */
export function requiredStops(upToMajor: number, overrides: readonly Version[] = []): Version[] {
  return [...LISTED, ...scheduled(upToMajor)]
    .map((stop) => overrides.find((o) => sameMinor(o, stop)) ?? stop)
    .sort(compareVersions);
}

/** Whether `v` (x.y.z) lies on a required stop's minor: upgrade.stopVersions may name only those. */
export const isStopMinor = (v: Version): boolean => requiredStops(v.major).some((s) => sameMinor(s, v));

/**
 * The stops a move from `from` to `to` must land on: those whose minor lies between the two, and
 * the stop on `from`'s own minor when `from` is below its patch (a stop means its latest patch).
 */
export function stopsBetween(from: Version, to: Version, overrides: readonly Version[] = []): Version[] {
  const notReached = (s: Version) => minorBefore(from, s) || (sameMinor(from, s) && s.patch !== undefined && (from.patch ?? 0) < s.patch);
  return requiredStops(to.major, overrides).filter((s) => notReached(s) && minorBefore(s, to));
}
