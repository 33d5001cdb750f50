// GitLab and GitLab Runner versions as image tags carry them. The one parser of "16.0.6" and of
// tags such as 16.0.6-ce.0 or ubuntu-v17.11.0: the upgrade path, the runner checks and the settings
// all compare versions through it.

export interface Version {
  major: number;
  minor: number;
  /** undefined = "the latest patch of that minor" (the docs write these as x.y.z). */
  patch?: number;
}

export function parseVersion(text: string): Version {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a version: ${text}`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? undefined : Number(m[3]) };
}

/** 16.3.9, or 18.2.z (latest patch) for a stop whose patch is not known. */
export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}${v.patch === undefined ? ".z (latest patch)" : `.${v.patch}`}`;
}

/** x.y.z, for versions that have a patch (hops always do). */
export const versionText = (v: Version): string => `${v.major}.${v.minor}.${v.patch ?? 0}`;

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

export const sameMinor = (a: Version, b: Version): boolean => a.major === b.major && a.minor === b.minor;

/** a's major.minor is before b's (patches ignored). */
export const minorBefore = (a: Version, b: Version): boolean => a.major < b.major || (a.major === b.major && a.minor < b.minor);
