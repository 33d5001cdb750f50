// One hop of a GitLab upgrade as a guarded edit of docker-compose.yml: GitLab's image at the hop's
// version (nothing when the server already runs it or a later one), the runner's on the last hop,
// then a recreate of what changed and a bounded wait for GitLab's health. The gate after it
// (components/gitlabUpgrade.ts) waits for the background migrations.
import type { Settings } from "../../settings/types";
import { editCompose, imageOf } from "./compose/composeFile";
import { runnerSkewWarning, upgradeProblems } from "./compose/upgradePath";
import { GITLAB_SERVICE, RUNNER_SERVICE, composePath, need, windowGuard, gracefulStop, compose } from "./edits";
import { followingRunnerImage, gitlabImageOf, imageEdition } from "../gitlabUpgrade/images";
import { hopBoundSeconds } from "../gitlabUpgrade/planText";
import { compareVersions, imageVersion, versionText, type Version } from "../gitlabUpgrade/version";
import type { RemoteEdit } from "../remote/remoteEdit";

export type GitlabUpgradeSettings = Settings & { upgrade: NonNullable<Settings["upgrade"]> & { gitlabImage: string } };

/** State key of a hop's edit: one per hop, so a hop's backups and markers are its own. */
export const hopKey = (hop: Version): string => `gitlab-hop-${versionText(hop).replace(/\./g, "-")}`;

export function gitlabHopEdit(s: GitlabUpgradeSettings, hop: Version, o: { last: boolean; hopsLeft: number }): RemoteEdit {
  const u = s.upgrade;
  const file = composePath(s);
  const target = imageVersion(u.gitlabImage)!;
  const edition = imageEdition(u.gitlabImage) ?? "ce";
  const image = gitlabImageOf(edition, hop);
  const runner = o.last ? u.runnerImage : undefined;
  const services = [GITLAB_SERVICE, ...(runner ? [RUNNER_SERVICE] : [])];
  // This hop and the ones after it, and the runner's graceful stop on the last one.
  const bound = o.hopsLeft * hopBoundSeconds(u) + (u.runnerImage ? s.runner.gracefulStopSeconds : 0);
  return {
    restoreOnDestroy: false,
    write: {
      key: hopKey(hop),
      path: file,
      validate: { compose: compose(s) },
      after: {
        kind: "compose-up",
        compose: compose(s),
        services,
        waitHealthy: { container: GITLAB_SERVICE, timeoutSeconds: u.readyTimeoutSeconds, pollSeconds: u.readyTimeoutSeconds >= 300 ? 10 : 1 },
        ...(runner ? { gracefulStop: gracefulStop(s) } : {}),
        ...windowGuard(s, bound),
      },
      summary: [
        `services.${GITLAB_SERVICE}.image = ${image} (unless the server already runs ${versionText(hop)} or later)`,
        ...(runner ? [`services.${RUNNER_SERVICE}.image = ${runner === "follow" ? `the runner of ${target.major}.${target.minor} (follow)` : runner}`] : []),
      ],
    },
    fingerprint: JSON.stringify({ hop, image, runner }),
    render(current) {
      const text = need(current, file);
      const running = imageOf(text, GITLAB_SERVICE) ?? "";
      const runningVersion = imageVersion(running);
      const images: { service: string; image: string }[] = [];
      if (!runningVersion || compareVersions(hop, runningVersion) > 0) {
        const problems = upgradeProblems("GitLab", running, image);
        if (problems.length) throw new Error(`upgrade: ${problems.join("; ")}`);
        images.push({ service: GITLAB_SERVICE, image });
      }
      if (runner) {
        const currentRunner = imageOf(text, RUNNER_SERVICE);
        const runnerImage = runner === "follow" ? followingRunnerImage(currentRunner, target) : runner;
        const problems = upgradeProblems("GitLab Runner", currentRunner ?? "", runnerImage);
        if (problems.length) throw new Error(`upgrade: ${problems.join("; ")}`);
        if (runnerImage !== currentRunner) images.push({ service: RUNNER_SERVICE, image: runnerImage });
      }
      return images.length ? editCompose(text, { images }).text : text;
    },
    // A runner a major ahead of the target GitLab: said once, by the hop that writes it.
    warnings: () => {
      const w = runner && runner !== "follow" ? runnerSkewWarning(u.gitlabImage, runner) : undefined;
      return w ? [w] : [];
    },
  };
}
