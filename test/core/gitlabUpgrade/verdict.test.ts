import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { editCompose } from "../../../core/ciServer/compose/composeFile";
import { upgradeVerdict, type UpgradeTarget } from "../../../core/gitlabUpgrade/verdict";
import { versionText } from "../../../core/gitlabUpgrade/version";

const FIX = path.resolve(__dirname, "../../fixtures/collaborage");
const V210 = fs.readFileSync(path.join(FIX, "ci-docker-compose.yml"), "utf8");
const V200 = fs.readFileSync(path.join(FIX, "ci-docker-compose.v2.0.0.yml"), "utf8");
const V110 = fs.readFileSync(path.join(FIX, "ci-docker-compose.v1.1.0.yml"), "utf8");
const target = (gitlabImage: string, more: Partial<UpgradeTarget> = {}): UpgradeTarget =>
  ({ gitlabImage, stopVersions: [], allowEditionChange: false, backup: true, ...more });
const at = (text: string, image: string) => editCompose(text, { images: [{ service: "gitlab", image }] }).text;

describe("GitLab upgrade verdict (the preflight's reading of docker-compose.yml)", () => {
  it("2.1.0 to 17.11.7: every hop runs, the backup finds GitLab's and PostgreSQL's data, no problem", () => {
    const v = upgradeVerdict(V210, target("gitlab/gitlab-ce:17.11.7-ce.0"));
    assert.deepEqual(v.problems, []);
    assert.deepEqual(v.warnings, []);
    assert.equal(versionText(v.from), "16.0.6");
    assert.deepEqual(v.hops.map((h) => [h.image, h.runs]), [
      "16.3.9", "16.7.10", "16.11.10", "17.1.8", "17.3.7", "17.5.5", "17.8.7", "17.11.7",
    ].map((x) => [`gitlab/gitlab-ce:${x}-ce.0`, true]));
    assert.equal(v.gitlabDataHostDir, "/data/gitlab/data");
    assert.equal(v.dbDataHostDir, "/data/gitlab-db");
    assert.equal(v.dbContainer, "gitlab-db");
    assert.equal(v.runnerImage, undefined, "no runner change asked for");
  });

  it("a server already on the way: the hops it passed do not run", () => {
    const v = upgradeVerdict(at(V210, "gitlab/gitlab-ce:17.3.7-ce.0"), target("gitlab/gitlab-ce:17.11.7-ce.0"));
    assert.deepEqual(v.hops.filter((h) => h.runs).map((h) => versionText(h.version)), ["17.5.5", "17.8.7", "17.11.7"]);
  });

  it("refuses GitLab 18 on PostgreSQL 14 (2.1.0) and 15 (2.0.0), naming the key, the image and a 17.x way", () => {
    for (const [text, image, major] of [[V210, "postgres:14.9-alpine", 14], [V200, "postgres:15.3-alpine", 15]] as const) {
      const v = upgradeVerdict(text, target("gitlab/gitlab-ce:18.2.8-ce.0", { stopVersions: [] }));
      assert.equal(v.problems.length, 1, v.problems.join("\n"));
      assert.match(v.problems[0], new RegExp(`^upgrade\\.gitlabImage: GitLab 18 needs PostgreSQL 16 or later, and the server's gitlab-db runs ${image.replace(/\./g, "\\.")} \\(PostgreSQL ${major}\\)\\. This program never upgrades PostgreSQL: .*; or choose a GitLab 17\\.x target, which PostgreSQL ${major} supports$`));
    }
  });

  it("refuses Collaborage 1.1 (12.4.2 on PostgreSQL 9.5) to 17.11.7 for two reasons at once", () => {
    const v = upgradeVerdict(V110, target("gitlab/gitlab-ce:17.11.7-ce.0"));
    assert.equal(v.problems.length, 2, v.problems.join("\n"));
    assert.match(v.problems[0], /^upgrade\.gitlabImage: the server runs GitLab 12\.4\.2, older than 16\.0, where this program's planned hops start/);
    assert.match(v.problems[1], /^upgrade\.gitlabImage: GitLab 17 needs PostgreSQL 14 or later, and the server's gitlab-db runs postgres:9\.5\.7-alpine \(PostgreSQL 9\.5\)/);
    // The runbook's own move on 1.1.0 stays possible: no PostgreSQL minimum is known for 12.x.
    assert.deepEqual(upgradeVerdict(V110, target("gitlab/gitlab-ce:12.6.8-ce.0")).problems, []);
  });

  it("refuses CE to EE unless asked for, and then hops in EE", () => {
    const refused = upgradeVerdict(V210, target("gitlab/gitlab-ee:17.11.7-ee.0"));
    assert.deepEqual(refused.problems, ["upgrade.gitlabImage: the server runs gitlab-ce (gitlab/gitlab-ce:16.0.6-ce.0) and the target is gitlab-ee (gitlab/gitlab-ee:17.11.7-ee.0); choose the same edition, or set upgrade.allowEditionChange true to move to gitlab-ee (GitLab supports CE to EE, not EE back to CE)"]);
    const allowed = upgradeVerdict(V210, target("gitlab/gitlab-ee:17.11.7-ee.0", { allowEditionChange: true }));
    assert.deepEqual(allowed.problems, []);
    assert.equal(allowed.hops[0].image, "gitlab/gitlab-ee:16.3.9-ee.0");
  });

  it("refuses a downgrade, and a backup with nowhere to land", () => {
    const down = upgradeVerdict(at(V210, "gitlab/gitlab-ce:17.3.7-ce.0"), target("gitlab/gitlab-ce:17.1.8-ce.0"));
    assert.match(down.problems.join("\n"), /^upgrade\.gitlabImage: gitlab\/gitlab-ce:17\.1\.8-ce\.0 is older than the running gitlab\/gitlab-ce:17\.3\.7-ce\.0: downgrades are not supported/);
    const noMount = V210.replace("      - /data/gitlab/data:/var/opt/gitlab\n", "");
    assert.notEqual(noMount, V210);
    assert.match(upgradeVerdict(noMount, target("gitlab/gitlab-ce:16.3.9-ce.0")).problems.join("\n"), /^upgrade\.backup: services\.gitlab mounts no host directory at \/var\/opt\/gitlab/);
    assert.deepEqual(upgradeVerdict(noMount, target("gitlab/gitlab-ce:16.3.9-ce.0", { backup: false })).problems, []);
  });

  it("follow: the runner of the target's major.minor in the server's flavour", () => {
    assert.equal(upgradeVerdict(V210, target("gitlab/gitlab-ce:17.11.7-ce.0", { runnerImage: "follow" })).runnerImage, "gitlab/gitlab-runner:ubuntu-v17.11.0");
  });

  it("warns, without refusing, when there is no gitlab-db service to check", () => {
    const noDb = V210.replace(/\n {2}gitlab-db:\n(?: {4}.*\n| {6}.*\n)+/, "\n");
    assert.notEqual(noDb, V210);
    const v = upgradeVerdict(noDb.replace(/\n {6}- gitlab-db\n/g, "\n"), target("gitlab/gitlab-ce:16.3.9-ce.0"));
    assert.match(v.warnings.join("\n"), /no gitlab-db service: PostgreSQL's version is not checked/);
    assert.equal(v.dbContainer, undefined);
  });
});
