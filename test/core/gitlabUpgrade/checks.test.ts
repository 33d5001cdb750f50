import { strict as assert } from "node:assert";
import { migrationChecks, gatePollSeconds } from "../../../core/gitlabUpgrade/gates";
import { followingRunnerImage, gitlabImageOf, imageEdition } from "../../../core/gitlabUpgrade/images";
import { postgresImageMajor, requiredPostgresMajor } from "../../../core/gitlabUpgrade/postgres";
import { formatDuration, parseWindow, startRange } from "../../../core/gitlabUpgrade/window";
import { parseVersion } from "../../../core/gitlabUpgrade/version";

describe("GitLab upgrade: gates, PostgreSQL, images, snapshot window", () => {
  it("picks each version's documented background-migration checks", () => {
    const by = (v: string) => migrationChecks(parseVersion(v));
    assert.deepEqual(by("12.4.2"), []);
    assert.deepEqual(by("12.10.14"), ["sidekiq-remaining"]);
    assert.deepEqual(by("14.3.6"), ["sidekiq-remaining", "sidekiq-jobs", "batched-runner"]);
    assert.deepEqual(by("15.0.5"), ["sidekiq-remaining", "sidekiq-jobs", "batched-rake"]);
    assert.deepEqual(by("15.4.6"), ["batched-rake"]);
    assert.deepEqual(by("17.11.7"), ["batched-rake"]);
    assert.deepEqual([gatePollSeconds(1800), gatePollSeconds(5)], [30, 1]);
  });

  it("knows the PostgreSQL each GitLab major needs, and reads postgres image tags", () => {
    assert.deepEqual([12, 13, 14, 15, 16, 17, 18, 19, 20].map((m) => requiredPostgresMajor({ major: m, minor: 0 })), [undefined, 11, 12, 12, 13, 14, 16, 17, 17]);
    assert.deepEqual(["postgres:14.9-alpine", "postgres:15.3-alpine", "postgres:9.5.7-alpine", "library/postgres:16", "mysql:8"].map(postgresImageMajor), [14, 15, 9.5, 16, undefined]);
  });

  it("writes hop images in the server's edition and the following runner in its flavour", () => {
    assert.equal(gitlabImageOf("ce", parseVersion("16.3.9")), "gitlab/gitlab-ce:16.3.9-ce.0");
    assert.equal(gitlabImageOf("ee", parseVersion("17.11.7")), "gitlab/gitlab-ee:17.11.7-ee.0");
    assert.deepEqual(["gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ee:16.0.6-ee.0", "gitlab/gitlab-runner:v1"].map(imageEdition), ["ce", "ee", undefined]);
    assert.equal(followingRunnerImage("gitlab/gitlab-runner:ubuntu-v16.1.0", parseVersion("17.11.7")), "gitlab/gitlab-runner:ubuntu-v17.11.0");
    assert.equal(followingRunnerImage("gitlab/gitlab-runner:alpine-v16.1.0", parseVersion("17.11.7")), "gitlab/gitlab-runner:alpine-v17.11.0");
    assert.equal(followingRunnerImage("gitlab/gitlab-runner:v16.1.0", parseVersion("17.3.7")), "gitlab/gitlab-runner:v17.3.0");
  });

  it("parses the snapshot window and says when a bounded upgrade may start", () => {
    const w = parseWindow("23:00-00:30")!;
    assert.deepEqual(w, { start: "23:00", end: "00:30" });
    assert.deepEqual(["23:00", "23:00-23:00", "25:00-01:00", "23:00-00:30-01:00", "2300-0030"].map(parseWindow), [undefined, undefined, undefined, undefined, undefined]);
    assert.deepEqual(startRange(w, (5 * 60 + 20) * 60), { from: "00:30", to: "17:39" });
    assert.deepEqual(startRange(parseWindow("01:00-02:00")!, 3600), { from: "02:00", to: "23:59" });
    assert.equal(startRange(w, 23 * 3600), undefined, "longer than the time between two windows");
    assert.deepEqual([59, 60, 3600, 19200, 7260].map(formatDuration), ["1 min", "1 min", "1 h", "5 h 20 min", "2 h 1 min"]);
  });
});
