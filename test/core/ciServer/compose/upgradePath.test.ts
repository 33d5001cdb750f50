import { strict as assert } from "node:assert";
import { runnerSkewWarning, upgradeProblems } from "../../../../core/ciServer/compose/upgradePath";
import { stopsBetween } from "../../../../core/gitlabUpgrade/stops";
import { formatVersion, imageVersion, parseVersion } from "../../../../core/gitlabUpgrade/version";

const stops = (from: string, to: string) => stopsBetween(parseVersion(from), parseVersion(to)).map(formatVersion);

describe("GitLab upgrade stops", () => {
  it("reads versions from gitlab-ce and gitlab-runner tags", () => {
    assert.deepEqual(imageVersion("gitlab/gitlab-ce:12.6.8-ce.0"), { major: 12, minor: 6, patch: 8 });
    assert.deepEqual(imageVersion("gitlab/gitlab-runner:ubuntu-v12.4.1"), { major: 12, minor: 4, patch: 1 });
    assert.deepEqual(imageVersion("gitlab/gitlab-runner:v16.1.0"), { major: 16, minor: 1, patch: 0 });
    assert.equal(imageVersion("gitlab/gitlab-ce:latest"), undefined);
  });

  it("lets the runbook's own jump through (12.4.2 → 12.6.8: no stop in between)", () => {
    assert.deepEqual(upgradeProblems("GitLab", "gitlab/gitlab-ce:12.4.2-ce.0", "gitlab/gitlab-ce:12.6.8-ce.0"), []);
  });

  it("names every stop a long jump skips, in order", () => {
    assert.deepEqual(stops("12.4.2", "14.0.12"), ["12.10.14", "13.0.14", "13.1.11", "13.8.8", "13.12.15"]);
    assert.deepEqual(stops("16.0.6", "17.0.1"), ["16.3.9", "16.7.10", "16.11.10"]);
  });

  it("applies the x.2/x.5/x.8/x.11 schedule from 17.5 on", () => {
    assert.deepEqual(stops("17.3.7", "18.3.1"), ["17.5.5", "17.8.7", "17.11.7", "18.2.z (latest patch)"]);
    assert.deepEqual(stops("18.5.3", "18.8.0"), []);
  });

  it("requires the stop's patch level when leaving its minor", () => {
    assert.deepEqual(stops("16.3.0", "16.4.1"), ["16.3.9"]);
    assert.deepEqual(stops("16.3.9", "16.7.0"), []);
  });

  it("rejects a downgrade of GitLab and of the runner", () => {
    assert.match(upgradeProblems("GitLab", "gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ce:12.6.8-ce.0")[0], /older than the running .*downgrades are not supported/);
    assert.match(upgradeProblems("GitLab Runner", "gitlab/gitlab-runner:ubuntu-v16.1.0", "gitlab/gitlab-runner:ubuntu-v12.6.0")[0], /older than the running/);
  });

  it("explains a skipped stop with the stops to go through", () => {
    const [problem] = upgradeProblems("GitLab", "gitlab/gitlab-ce:12.4.2-ce.0", "gitlab/gitlab-ce:13.12.15-ce.0");
    assert.match(problem, /skips required upgrade stops; upgrade through 12\.10\.14 → 13\.0\.14 → 13\.1\.11 → 13\.8\.8 first/);
  });
});

describe("runner and GitLab versions", () => {
  it("warns only when the runner's major is newer than GitLab's", () => {
    assert.match(runnerSkewWarning("gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-runner:ubuntu-v17.0.0") ?? "", /^upgrade\.runnerImage gitlab\/gitlab-runner:ubuntu-v17\.0\.0 is a newer major than GitLab gitlab\/gitlab-ce:16\.0\.6-ce\.0: /);
    assert.equal(runnerSkewWarning("gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-runner:ubuntu-v16.11.0"), undefined);
    assert.equal(runnerSkewWarning("gitlab/gitlab-ce:17.0.1-ce.0", "gitlab/gitlab-runner:ubuntu-v16.1.0"), undefined, "an older runner is GitLab's supported case");
    assert.equal(runnerSkewWarning("gitlab/gitlab-ce:latest", "gitlab/gitlab-runner:ubuntu-v17.0.0"), undefined, "no version: nothing to compare");
  });
});
