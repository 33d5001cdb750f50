// The images a hop writes into docker-compose.yml: GitLab's of the server's edition at the hop's
// version, and the runner's when it follows GitLab.
import { versionText, type Version } from "./version";

export type Edition = "ce" | "ee";

export function imageEdition(image: string): Edition | undefined {
  const m = /^(?:[^/]+\/)*gitlab-(ce|ee):/.exec(image);
  return m ? (m[1] as Edition) : undefined;
}

/** GitLab's Docker image of a version: gitlab/gitlab-ce:16.3.9-ce.0 (docs.gitlab.com/install/docker). */
export const gitlabImageOf = (edition: Edition, v: Version): string => `gitlab/gitlab-${edition}:${versionText(v)}-${edition}.0`;

/**
 * `upgrade.runnerImage: follow`: the runner of GitLab's major.minor (the runner's major.minor should
 * stay in step with GitLab's, docs.gitlab.com/runner/#gitlab-runner-versions), in the flavour the
 * server runs (ubuntu-, alpine- or none). x.y.0 because every runner minor has it; pin an explicit
 * tag for a later patch.
 */
export function followingRunnerImage(currentRunnerImage: string | undefined, gitlab: Version): string {
  const tag = currentRunnerImage?.includes(":") ? currentRunnerImage.slice(currentRunnerImage.lastIndexOf(":") + 1) : "";
  const flavour = /^([a-z0-9]+-)v\d/.exec(tag)?.[1] ?? "";
  return `gitlab/gitlab-runner:${flavour}v${gitlab.major}.${gitlab.minor}.0`;
}
