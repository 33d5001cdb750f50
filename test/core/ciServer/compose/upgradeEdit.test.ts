// The upgrade edit with one image or both: what it writes, restarts and waits for, and its guards.
import { strict as assert } from "node:assert";
import { composeProxyEdit, configTomlEdit, upgradeEdit } from "../../../../core/ciServer/edits";
import { validateSettings } from "../../../../settings/validate";
import { devRaw } from "../../../helpers/devConfig";
import { fixture } from "../../../helpers/fixtures";

/** Collaborage 1.1.0: GitLab 12.4.2, runner ubuntu-v12.4.1. */
const COMPOSE_11 = fixture("collaborage/ci-docker-compose.v1.1.0.yml");

function edit(upgrade: Record<string, unknown>) {
  const raw = devRaw() as any;
  raw.upgrade = upgrade;
  raw.workers.imdsV2 = false;
  const s = validateSettings(raw);
  return upgradeEdit({ ...s, upgrade: s.upgrade! });
}

const imageLines = (text: string) => text.split("\n").filter((l) => /^\s+#?image: gitlab\//.test(l)).map((l) => l.trim());

describe("upgradeEdit", () => {
  it("both images: recreates gitlab and gitlab-runner, then waits for GitLab", () => {
    const e = edit({ gitlabImage: "gitlab/gitlab-ce:12.6.8-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v12.6.0" });
    assert.deepEqual(e.write.summary, ["services.gitlab.image = gitlab/gitlab-ce:12.6.8-ce.0", "services.gitlab-runner.image = gitlab/gitlab-runner:ubuntu-v12.6.0"]);
    assert.deepEqual(e.write.after && e.write.after.kind === "compose-up" && [e.write.after.services, e.write.after.waitHealthy?.container], [["gitlab", "gitlab-runner"], "gitlab"]);
    assert.deepEqual(imageLines(e.render(COMPOSE_11)), [
      "#image: gitlab/gitlab-ce:12.4.2-ce.0", "image: gitlab/gitlab-ce:12.6.8-ce.0",
      "#image: gitlab/gitlab-runner:ubuntu-v12.4.1", "image: gitlab/gitlab-runner:ubuntu-v12.6.0",
    ]);
    assert.deepEqual(e.warnings!(COMPOSE_11), []);
  });

  it("GitLab alone (a security patch): only gitlab is recreated and waited for; the runner line is untouched", () => {
    const e = edit({ gitlabImage: "gitlab/gitlab-ce:12.4.8-ce.0" });
    assert.deepEqual(e.write.summary, ["services.gitlab.image = gitlab/gitlab-ce:12.4.8-ce.0"]);
    assert.ok(e.write.after?.kind === "compose-up");
    assert.deepEqual(e.write.after.services, ["gitlab"]);
    assert.equal(e.write.after.waitHealthy?.container, "gitlab");
    assert.deepEqual(imageLines(e.render(COMPOSE_11)), ["#image: gitlab/gitlab-ce:12.4.2-ce.0", "image: gitlab/gitlab-ce:12.4.8-ce.0", "image: gitlab/gitlab-runner:ubuntu-v12.4.1"]);
  });

  it("the runner alone: only gitlab-runner is recreated, no wait for GitLab", () => {
    const e = edit({ runnerImage: "gitlab/gitlab-runner:ubuntu-v12.6.0" });
    assert.deepEqual(e.write.summary, ["services.gitlab-runner.image = gitlab/gitlab-runner:ubuntu-v12.6.0"]);
    assert.ok(e.write.after?.kind === "compose-up");
    assert.deepEqual(e.write.after.services, ["gitlab-runner"]);
    assert.equal(e.write.after.waitHealthy, undefined);
    assert.deepEqual(imageLines(e.render(COMPOSE_11)), ["image: gitlab/gitlab-ce:12.4.2-ce.0", "#image: gitlab/gitlab-runner:ubuntu-v12.4.1", "image: gitlab/gitlab-runner:ubuntu-v12.6.0"]);
  });

  it("keeps the guards with one image: a GitLab jump past a required stop, a runner downgrade", () => {
    assert.throws(() => edit({ gitlabImage: "gitlab/gitlab-ce:13.1.11-ce.0" }).render(COMPOSE_11), /^Error: upgrade: GitLab gitlab\/gitlab-ce:12\.4\.2-ce\.0 → gitlab\/gitlab-ce:13\.1\.11-ce\.0 skips required upgrade stops; upgrade through 12\.10\.14 → 13\.0\.14 first/);
    assert.throws(() => edit({ runnerImage: "gitlab/gitlab-runner:ubuntu-v12.0.0" }).render(COMPOSE_11), /upgrade: GitLab Runner gitlab\/gitlab-runner:ubuntu-v12\.0\.0 is older than the running gitlab\/gitlab-runner:ubuntu-v12\.4\.1/);
  });

  it("warns (does not refuse) when the runner alone would be a newer major than the GitLab on the server", () => {
    const e = edit({ runnerImage: "gitlab/gitlab-runner:ubuntu-v13.0.0" });
    assert.doesNotThrow(() => e.render(COMPOSE_11));
    assert.deepEqual(e.warnings!(COMPOSE_11), [
      "upgrade.runnerImage gitlab/gitlab-runner:ubuntu-v13.0.0 is a newer major than GitLab gitlab/gitlab-ce:12.4.2-ce.0: keep the runner's major.minor in step with GitLab's (docs.gitlab.com/runner/#gitlab-runner-versions), or upgrade GitLab first",
    ]);
    assert.deepEqual(edit({ runnerImage: "gitlab/gitlab-runner:ubuntu-v12.10.0" }).warnings!(COMPOSE_11), [], "same major: no warning");
  });
});

describe("a missing server file names the key that places it", () => {
  const s = validateSettings(devRaw());
  it("docker-compose.yml: ciServer.appDir, with the command", () => {
    assert.throws(() => composeProxyEdit(s).render(null), (e: Error) => e.message ===
      "/home/ec2-user/nop/docker/ci/docker-compose.yml does not exist on the CI server; set ciServer.appDir to the directory of docker-compose.yml and common.env: pulumi config set --path ciServer.appDir <path>");
    assert.throws(() => edit({ runnerImage: "gitlab/gitlab-runner:ubuntu-v12.6.0" }).render(null), /set ciServer\.appDir to/);
  });
  it("config.toml: ciServer.runnerConfigPath only", () => {
    const e = configTomlEdit({ settings: s, amiId: "ami-0123456789abcdef0", securityGroupName: "workers", accessKey: { id: "AKIAEXAMPLE", secret: "x" } });
    assert.throws(() => e.render(null), (err: Error) => err.message ===
      "/data/gitlab-runner/config/config.toml does not exist on the CI server; set ciServer.runnerConfigPath to the runner's config.toml on the host: pulumi config set --path ciServer.runnerConfigPath <path>");
  });
});
