// The Docker Autoscaler needs GitLab Runner 17.1 or later (the executor's GA). The running image
// is only known from the CI server's docker-compose.yml, so without an upgrade (whose target the
// settings check) the program reads that file first and refuses an older image before any other
// resource exists. Pure: compose text in, verdict out.
import { imageOf } from "./composeFile";
import { AUTOSCALER_MIN_RUNNER } from "../configToml/autoscalerConvert";
import { GITLAB_SERVICE, RUNNER_SERVICE } from "../edits";
import { asUser, shLines, shPreamble } from "../../remote/shell";
import { shSections } from "../../remote/shFiles";
import { imageVersion, type Version } from "../../gitlabUpgrade/version";

export interface ImageVerdict {
  /** Refusals; empty when the runner image can run the autoscaler. */
  problems: string[];
  /** Things to say but not refuse (a runner newer than GitLab). */
  warnings: string[];
  /** One line for the log when all is well. */
  ok: string;
}

const MIN = `${AUTOSCALER_MIN_RUNNER.major}.${AUTOSCALER_MIN_RUNNER.minor}`;

export const supportsAutoscaler = (v: Version) =>
  v.major > AUTOSCALER_MIN_RUNNER.major || (v.major === AUTOSCALER_MIN_RUNNER.major && v.minor >= AUTOSCALER_MIN_RUNNER.minor);

/**
 * GitLab documents runner/GitLab compatibility only with major.minor in step: a runner newer than
 * GitLab may lack nothing, or may miss features; say so (GitLab Runner docs, "GitLab Runner versions").
 */
export function skewWarning(runnerImage: string, gitlabImage: string | undefined): string | undefined {
  const r = imageVersion(runnerImage);
  const g = gitlabImage === undefined ? undefined : imageVersion(gitlabImage);
  if (!r || !g || r.major < g.major || (r.major === g.major && r.minor <= g.minor)) return undefined;
  return `GitLab Runner ${r.major}.${r.minor} (${runnerImage}) is newer than GitLab ${g.major}.${g.minor} (${gitlabImage}): ` +
    "GitLab documents compatibility only with major.minor in step; upgrade GitLab too when you can (upgrade.gitlabImage)";
}

/** The verdict on the images in the server's docker-compose.yml (text as read). */
export function composeImageVerdict(composeText: string): ImageVerdict {
  const runner = imageOf(composeText, RUNNER_SERVICE) ?? "";
  let gitlab: string | undefined;
  try {
    gitlab = imageOf(composeText, GITLAB_SERVICE);
  } catch {
    gitlab = undefined; // a compose file without the gitlab service: no skew to report
  }
  const v = imageVersion(runner);
  const problems = v && supportsAutoscaler(v)
    ? []
    : [
      `runner.executor docker-autoscaler needs GitLab Runner ${MIN} or later; docker-compose.yml runs ` +
        `${runner ? `${RUNNER_SERVICE} image ${runner}` : `${RUNNER_SERVICE} without an image`}${v ? "" : " (no version in its tag)"}. ` +
        `Set upgrade.runnerImage to gitlab/gitlab-runner:ubuntu-v${MIN}.0 or later (with upgrade.gitlabImage), or go back to runner.executor docker+machine`,
    ];
  const skew = skewWarning(runner, gitlab);
  return { problems, warnings: skew ? [skew] : [], ok: `${RUNNER_SERVICE} image ${runner}: docker-autoscaler available (${MIN} or later)` };
}

/** The gate's remote command: it only reports the verdict, which the program reached before. */
export function imageCheckScript(ok: string): string {
  return asUser(shLines(["set -eu"], shPreamble({ verdict: ok }), shSections("runner-image-check.sh")));
}
