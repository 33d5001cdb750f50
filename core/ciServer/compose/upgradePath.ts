// Checks of one image move in docker-compose.yml: no downgrade, no jump past a required stop
// (core/gitlabUpgrade/stops.ts), and the runner not a major ahead of GitLab.

import { stopsBetween } from "../../gitlabUpgrade/stops";
import { formatVersion, imageVersion, compareVersions } from "../../gitlabUpgrade/version";

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

type Kind = "GitLab" | "GitLab Runner";

/** "<target> is older than the running <current>: …" when the move is a downgrade (the preflight and each hop say it). */
export function downgradeProblem(kind: Kind, current: string, target: string): string | undefined {
  const from = imageVersion(current);
  const to = imageVersion(target);
  if (!from || !to || compareVersions(to, from) >= 0) return undefined;
  const why = kind === "GitLab" ? "GitLab cannot roll back its database migrations" : "name a runner of GitLab's major.minor or later";
  return `${target} is older than the running ${current}: downgrades are not supported (${why})`;
}

/** Problems with moving an image from `current` to `target` (empty when the move is fine). */
export function upgradeProblems(kind: Kind, current: string, target: string): string[] {
  const down = downgradeProblem(kind, current, target);
  if (down) return [`${kind} ${down}`];
  const from = imageVersion(current);
  const to = imageVersion(target);
  if (kind !== "GitLab" || !from || !to) return [];
  const skipped = stopsBetween(from, to);
  if (skipped.length === 0) return [];
  return [`GitLab ${current} → ${target} skips required upgrade stops; upgrade through ${skipped.map(formatVersion).join(" → ")} first`];
}
