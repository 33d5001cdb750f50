import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { editCompose } from "../../../core/ciServer/compose/composeFile";
import { pathBoundSeconds, upgradePlanLines, type PlanTextInput } from "../../../core/gitlabUpgrade/planText";
import { upgradeVerdict } from "../../../core/gitlabUpgrade/verdict";

const V210 = fs.readFileSync(path.resolve(__dirname, "../../fixtures/collaborage/ci-docker-compose.yml"), "utf8");
const input = (compose: string, gitlabImage: string, more: Partial<PlanTextInput> = {}): PlanTextInput => ({
  verdict: upgradeVerdict(compose, { gitlabImage, runnerImage: "follow", stopVersions: [], allowEditionChange: false, backup: true }),
  readyTimeoutSeconds: 1800, migrationsTimeoutSeconds: 1800, backup: { dir: "/data/gitlab-upgrade-backups", timeoutSeconds: 7200 },
  runnerStopSeconds: 600, window: { start: "23:00", end: "00:30" }, ...more,
});

describe("GitLab upgrade: the plan's text", () => {
  it("16.0.6 → 17.11.7 with the defaults, exactly", () => {
    const p = input(V210, "gitlab/gitlab-ce:17.11.7-ce.0");
    // 30 min gate + 2 h backup + 8 × (30 + 30 min) + 10 min runner stop.
    assert.equal(pathBoundSeconds(p), 1800 + 7200 + 8 * 3600 + 600);
    const hop = (n: number, v: string) => `Hop ${n}: gitlab/gitlab-ce:${v}-ce.0; recreate gitlab, wait up to 30 min for its health, then a gate waits up to 30 min for its background migrations.`;
    assert.deepEqual(upgradePlanLines(p), [
      "GitLab 16.0.6 → 16.3.9 → 16.7.10 → 16.11.10 → 17.1.8 → 17.3.7 → 17.5.5 → 17.8.7 → 17.11.7: 8 hop(s), 8 GitLab restart(s) (each hop recreates the gitlab container once).",
      "Before the first hop: the background migrations of 16.0.6 must be finished (gate, up to 30 min).",
      "Backup before the first hop, kept after the upgrade and after destroy: /data/gitlab-upgrade-backups/<UTC time>-gitlab-16.0.6/ (gitlab-backup tar, gitlab-secrets.json, gitlab.rb, a pg_dump of gitlab-db; up to 2 h).",
      ...["16.3.9", "16.7.10", "16.11.10", "17.1.8", "17.3.7", "17.5.5", "17.8.7", "17.11.7"].map((v, i) => hop(i + 1, v)),
      "The last hop also moves the runner to gitlab/gitlab-runner:ubuntu-v17.11.0 (one graceful runner restart).",
      "Bounded waits in all: up to 10 h 40 min. Start between 00:30 and 12:19 server time (snapshot window 23:00-00:30).",
      "A failure stops at its hop or gate; the next pulumi up resumes there, from the version the server then runs.",
    ]);
  });

  it("a server already at the target: no hop, no backup, and only the first gate's bound", () => {
    const at = editCompose(V210, { images: [{ service: "gitlab", image: "gitlab/gitlab-ce:17.11.7-ce.0" }, { service: "gitlab-runner", image: "gitlab/gitlab-runner:ubuntu-v17.11.0" }] }).text;
    const p = input(at, "gitlab/gitlab-ce:17.11.7-ce.0");
    assert.equal(pathBoundSeconds(p), 1800);
    const lines = upgradePlanLines(p);
    assert.equal(lines[0], "GitLab 17.11.7 → (no hop runs: the server is there already): 0 hop(s), 0 GitLab restart(s) (each hop recreates the gitlab container once).");
    assert.equal(lines[2], "No backup: no hop runs.");
    assert.equal(lines[3], "Hop 1: 16.3.9: nothing to do (the server runs 17.11.7).");
    assert.ok(!lines.some((l) => l.includes("moves the runner")), "the runner is there already");
  });

  it("bounds that do not fit between two windows say so; no window, no start range", () => {
    const long = input(V210, "gitlab/gitlab-ce:17.11.7-ce.0", { migrationsTimeoutSeconds: 7200 });
    assert.match(upgradePlanLines(long).at(-2)!, /^Bounded waits in all: up to 24 h 10 min\. This does not fit between two snapshot windows \(23:00-00:30\): lower the bounds\.$/);
    const none = input(V210, "gitlab/gitlab-ce:17.11.7-ce.0", { window: undefined, backup: undefined });
    assert.equal(upgradePlanLines(none).at(-2), "Bounded waits in all: up to 8 h 40 min.");
    assert.equal(upgradePlanLines(none)[2], "No backup (upgrade.backup is false: snapshot GitLab's volume yourself first).");
  });
});
