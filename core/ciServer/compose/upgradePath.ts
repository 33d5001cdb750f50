// GitLab's required upgrade stops ("Plan your upgrade path", docs.gitlab.com/update/upgrade_paths).
// A jump that passes a stop without landing on it can break background migrations, so the
// program refuses it and names the versions to go through.

export interface Version {
  major: number;
  minor: number;
  /** undefined = "the latest patch of that minor" (the docs write these as x.y.z). */
  patch?: number;
}

/** Unconditional stops up to 17.3, as listed by GitLab. From 17.5 on the rule below applies. */
const LISTED_STOPS = [
  "12.0.12", "12.1.17", "12.10.14", "13.0.14", "13.1.11", "13.8.8", "13.12.15",
  "14.0.12", "14.3.6", "14.9.5", "14.10.5", "15.0.5", "15.4.6", "15.11.13",
  "16.3.8", "16.7", "16.11", "17.3",
].map(parseVersion);

/** From 17.5 on, every x.2, x.5, x.8 and x.11 is a stop (GitLab's predictable schedule). */
function scheduledStops(upToMajor: number): Version[] {
  const stops: Version[] = [{ major: 17, minor: 5 }, { major: 17, minor: 8 }, { major: 17, minor: 11 }];
  for (let major = 18; major <= upToMajor; major++) {
    for (const minor of [2, 5, 8, 11]) stops.push({ major, minor });
  }
  return stops;
}

export function parseVersion(text: string): Version {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a version: ${text}`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? undefined : Number(m[3]) };
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}${v.patch === undefined ? ".z (latest patch)" : `.${v.patch}`}`;
}

/** Version of a gitlab/gitlab-ce, gitlab/gitlab-ee or gitlab/gitlab-runner image reference, if its tag has one. */
export function imageVersion(image: string): Version | undefined {
  const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : "";
  // gitlab-ce: 16.0.6-ce.0; gitlab-runner: ubuntu-v16.1.0, alpine-v16.1.0, v16.1.0
  const m = /^(?:[a-z0-9]+-)?v?(\d+)\.(\d+)\.(\d+)(?:-(?:ce|ee)\.\d+)?$/.exec(tag);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || (a.patch ?? Infinity) - (b.patch ?? Infinity);
}

const sameMinor = (a: Version, b: Version) => a.major === b.major && a.minor === b.minor;

/** Required stops strictly between `from` and `to` that `from` has not yet reached. */
export function skippedStops(from: Version, to: Version): Version[] {
  const stops = [...LISTED_STOPS, ...scheduledStops(to.major)];
  return stops.filter((stop) => {
    const reached = sameMinor(from, stop)
      ? stop.patch === undefined || (from.patch ?? 0) >= stop.patch
      : compareVersions(from, stop) > 0;
    const beyond = compareVersions({ ...to, patch: 0 }, { ...stop, patch: 0 }) > 0 && !sameMinor(to, stop);
    return !reached && beyond;
  });
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
