import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { editCompose, imageOf } from "../../../core/ciServer/compose/composeFile";
import { gitlabHopEdit, hopKey, type GitlabUpgradeSettings } from "../../../core/ciServer/upgradeEdits";
import { parseVersion } from "../../../core/gitlabUpgrade/version";
import { validateSettings } from "../../../settings/validate";
import { devRaw } from "../../helpers/devConfig";

const V210 = fs.readFileSync(path.resolve(__dirname, "../../fixtures/collaborage/ci-docker-compose.yml"), "utf8");
const settings = (upgrade: Record<string, unknown>, ci: Record<string, unknown> = {}) => {
  const raw = devRaw() as any;
  raw.upgrade = { gitlabImage: "gitlab/gitlab-ce:17.11.7-ce.0", readyTimeoutSeconds: 600, migrationsTimeoutSeconds: 900, ...upgrade };
  Object.assign(raw.ciServer, ci);
  return validateSettings(raw) as GitlabUpgradeSettings;
};
const at = (text: string, image: string) => editCompose(text, { images: [{ service: "gitlab", image }] }).text;

describe("a GitLab upgrade hop's edit of docker-compose.yml", () => {
  it("first hop: GitLab's image only, a recreate of gitlab, the health wait, the window bound of every hop left", () => {
    const e = gitlabHopEdit(settings({}), parseVersion("16.3.9"), { last: false, hopsLeft: 8 });
    assert.equal(e.write.key, "gitlab-hop-16-3-9");
    assert.equal(hopKey(parseVersion("17.11.7")), "gitlab-hop-17-11-7");
    assert.deepEqual(e.write.after, {
      kind: "compose-up", compose: { appDir: "/home/ec2-user/nop/docker/ci", command: "auto" }, services: ["gitlab"],
      waitHealthy: { container: "gitlab", timeoutSeconds: 600, pollSeconds: 10 },
      // 8 hops × (600 s health + 900 s gate); no runner change asked for.
      window: { start: "23:00", end: "00:30", boundSeconds: 8 * 1500, settingKey: "ciServer.snapshotWindow", overrideKey: "ciServer.allowInSnapshotWindow" },
    });
    assert.deepEqual(e.write.summary, ["services.gitlab.image = gitlab/gitlab-ce:16.3.9-ce.0 (unless the server already runs 16.3.9 or later)"]);
    assert.equal(e.restoreOnDestroy, false);
    const out = e.render(V210);
    assert.equal(imageOf(out, "gitlab"), "gitlab/gitlab-ce:16.3.9-ce.0");
    assert.equal(out, at(V210, "gitlab/gitlab-ce:16.3.9-ce.0"), "only the image line changes (the old one kept as a comment)");
  });

  it("a hop the server has passed leaves the file as it is", () => {
    const e = gitlabHopEdit(settings({}), parseVersion("16.3.9"), { last: false, hopsLeft: 8 });
    const later = at(V210, "gitlab/gitlab-ce:17.3.7-ce.0");
    assert.equal(e.render(later), later);
    const same = at(V210, "gitlab/gitlab-ce:16.3.9-ce.0");
    assert.equal(e.render(same), same);
  });

  it("refuses a hop that would skip a stop (the server moved back by hand since the plan)", () => {
    const e = gitlabHopEdit(settings({}), parseVersion("17.1.8"), { last: false, hopsLeft: 5 });
    assert.throws(() => e.render(V210), /upgrade: GitLab gitlab\/gitlab-ce:16\.0\.6-ce\.0 → gitlab\/gitlab-ce:17\.1\.8-ce\.0 skips required upgrade stops; upgrade through 16\.3\.9 → 16\.7\.10 → 16\.11\.10 first/);
  });

  it("last hop with runner follow: both images, the runner stopped gracefully first, its stop in the bound", () => {
    const e = gitlabHopEdit(settings({ runnerImage: "follow" }), parseVersion("17.11.7"), { last: true, hopsLeft: 1 });
    assert.deepEqual(e.write.after && e.write.after.kind === "compose-up" && [e.write.after.services, e.write.after.gracefulStop, e.write.after.window?.boundSeconds],
      [["gitlab", "gitlab-runner"], { container: "gitlab-runner", timeoutSeconds: 600 }, 1500 + 600]);
    assert.deepEqual(e.write.summary, [
      "services.gitlab.image = gitlab/gitlab-ce:17.11.7-ce.0 (unless the server already runs 17.11.7 or later)",
      "services.gitlab-runner.image = the runner of 17.11 (follow)",
    ]);
    const out = e.render(at(V210, "gitlab/gitlab-ce:17.8.7-ce.0"));
    assert.equal(imageOf(out, "gitlab"), "gitlab/gitlab-ce:17.11.7-ce.0");
    assert.equal(imageOf(out, "gitlab-runner"), "gitlab/gitlab-runner:ubuntu-v17.11.0");
    assert.deepEqual(e.warnings?.(V210), [], "follow is in step: no skew warning");
  });

  it("an explicit runner a major ahead warns; the override and 'none' drop the window", () => {
    const e = gitlabHopEdit(settings({ gitlabImage: "gitlab/gitlab-ce:16.3.9-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v17.11.0" }), parseVersion("16.3.9"), { last: true, hopsLeft: 1 });
    assert.match(e.warnings?.(V210)[0] ?? "", /^upgrade\.runnerImage gitlab\/gitlab-runner:ubuntu-v17\.11\.0 is a newer major than GitLab gitlab\/gitlab-ce:16\.3\.9-ce\.0/);
    for (const ci of [{ allowInSnapshotWindow: true }, { snapshotWindow: "none" }]) {
      const free = gitlabHopEdit(settings({}, ci), parseVersion("16.3.9"), { last: false, hopsLeft: 8 });
      assert.equal(free.write.after?.kind === "compose-up" && free.write.after.window, undefined, JSON.stringify(ci));
    }
  });
});
