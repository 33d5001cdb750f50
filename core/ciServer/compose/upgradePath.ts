// Checks of one image move in docker-compose.yml: no downgrade, no jump past a required stop
// (core/gitlabUpgrade/stops.ts), and the runner not a major ahead of GitLab.

import { stopsBetween } from "../../gitlabUpgrade/stops";
import { formatVersion, imageVersion, compareVersions, type Version } from "../../gitlabUpgrade/version";

export { compareVersions, formatVersion, imageVersion, parseVersion, type Version } from "../../gitlabUpgrade/version";

/** Required stops whose minor lies strictly between `from`'s and `to`'s (core/gitlabUpgrade/stops.ts). */
export function skippedStops(from: Version, to: Version): Version[] {
  return stopsBetween(from, to);
}

/**
 * A warning when the runner would be a newer major than GitLab: the runner's major.minor should
 * stay in step with GitLab's (docs.gitlab.com/runner/#gitlab-runner-versions); a newer major may
 * call APIs the older GitLab lacks. Not refused: GitLab keeps older APIs for a while.
 */
export function runnerSkewWarning(gitlabImage: string, runnerImage: string): string | undefined {
  const gitlab = imageVersion(gitlabImage);
  const runner = imageVersion(runnerImage);
  if (!gitlab || !runner || runner.major <= gitlab.major) return undefined;
  return `upgrade.runnerImage ${runnerImage} is a newer major than GitLab ${gitlabImage}: keep the runner's major.minor in step with GitLab's (docs.gitlab.com/runner/#gitlab-runner-versions), or upgrade GitLab first`;
}

/** Problems with moving an image from `current` to `target` (empty when the move is fine). */
export function upgradeProblems(kind: "GitLab" | "GitLab Runner", current: string, target: string): string[] {
  const from = imageVersion(current);
  const to = imageVersion(target);
  if (!from || !to) return [];
  if (compareVersions(to, from) < 0) {
    return [`${kind} ${target} is older than the running ${current}: downgrades are not supported (GitLab cannot roll back its database migrations)`];
  }
  if (kind !== "GitLab") return [];
  const skipped = skippedStops(from, to);
  if (skipped.length === 0) return [];
  return [
    `GitLab ${current} → ${target} skips required upgrade stops; upgrade through ${skipped.map(formatVersion).join(" → ")} first ` +
      `(one pulumi up per stop, letting background migrations finish in between)`,
  ];
}
