import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { composeImageVerdict, imageCheckScript, skewWarning, supportsAutoscaler } from "../../../../core/ciServer/compose/runnerImageCheck";
import { scriptBody } from "../../../../core/remote/shell";
import { dockerGroupBody, dockerGroupScript } from "../../../../core/workerImage/workerImage";
import { fixture } from "../../../helpers/fixtures";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../../../helpers/shellcheck";

const COMPOSE = fixture("collaborage/ci-docker-compose.yml");
const withImages = (runner: string, gitlab = "gitlab/gitlab-ce:16.0.6-ce.0") =>
  COMPOSE.replace("gitlab/gitlab-runner:ubuntu-v16.1.0", runner).replace("gitlab/gitlab-ce:16.0.6-ce.0", gitlab);

describe("core/ciServer/compose/runnerImageCheck", () => {
  it("17.1 is the first runner that runs docker-autoscaler", () => {
    assert.deepEqual([[16, 11], [17, 0], [17, 1], [17, 11], [18, 0]].map(([major, minor]) => supportsAutoscaler({ major, minor, patch: 0 })), [false, false, true, true, true]);
  });

  it("Collaborage 2.1.0 (runner 16.1): refused with the exact message, and the skew with GitLab 16.0 is reported", () => {
    assert.deepEqual(composeImageVerdict(COMPOSE), {
      problems: [
        "runner.executor docker-autoscaler needs GitLab Runner 17.1 or later; docker-compose.yml runs gitlab-runner image gitlab/gitlab-runner:ubuntu-v16.1.0. " +
          "Set upgrade.runnerImage to gitlab/gitlab-runner:ubuntu-v17.1.0 or later (with upgrade.gitlabImage), or go back to runner.executor docker+machine",
      ],
      warnings: [
        "GitLab Runner 16.1 (gitlab/gitlab-runner:ubuntu-v16.1.0) is newer than GitLab 16.0 (gitlab/gitlab-ce:16.0.6-ce.0): " +
          "GitLab documents compatibility only with major.minor in step; upgrade GitLab too when you can (upgrade.gitlabImage)",
      ],
      ok: "gitlab-runner image gitlab/gitlab-runner:ubuntu-v16.1.0: docker-autoscaler available (17.1 or later)",
    });
  });

  it("runner 17.1 with GitLab 17.3: no problem, no warning", () => {
    const v = composeImageVerdict(withImages("gitlab/gitlab-runner:alpine-v17.1.0", "gitlab/gitlab-ee:17.3.7-ee.0"));
    assert.deepEqual([v.problems, v.warnings], [[], []]);
    assert.equal(v.ok, "gitlab-runner image gitlab/gitlab-runner:alpine-v17.1.0: docker-autoscaler available (17.1 or later)");
  });

  it("an untagged or unversioned runner image is refused: its version cannot be known", () => {
    for (const image of ["gitlab/gitlab-runner:latest", "gitlab/gitlab-runner"]) {
      assert.match(composeImageVerdict(withImages(image)).problems[0], new RegExp(`runs gitlab-runner image ${image.replace(/[.:/]/g, "\\$&")} \\(no version in its tag\\)`));
    }
  });

  it("skew: only a runner major.minor above GitLab's is reported", () => {
    assert.equal(skewWarning("gitlab/gitlab-runner:ubuntu-v17.3.1", "gitlab/gitlab-ce:17.3.0-ce.0"), undefined);
    assert.equal(skewWarning("gitlab/gitlab-runner:ubuntu-v17.2.0", "gitlab/gitlab-ce:17.3.0-ce.0"), undefined);
    assert.match(skewWarning("gitlab/gitlab-runner:ubuntu-v18.0.0", "gitlab/gitlab-ce:17.11.0-ce.0") ?? "", /^GitLab Runner 18\.0 .* is newer than GitLab 17\.11 /);
    assert.equal(skewWarning("gitlab/gitlab-runner:ubuntu-v18.0.0", undefined), undefined);
  });

  it("the gate's script prints the verdict, quoted; shellcheck clean; it runs", () => {
    const script = imageCheckScript("gitlab-runner image it's: docker-autoscaler available (17.1 or later)");
    assertShellcheckClean(scriptBody(script)!, "image check body");
    assertShellcheckClean(script, "image check", WRAPPED_EXCLUDES);
    // $(…) would only draw SC2016 notes above (literal text in single quotes): it is run instead.
    for (const ok of ["gitlab-runner image it's: docker-autoscaler available (17.1 or later)", "odd $(touch /tmp/gra-canary) `x` \\n %s"]) {
      const r = spawnSync("sh", ["-c", imageCheckScript(ok)], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${ok}\n`);
    }
  });

  it("the AMI's docker-group step: shellcheck clean, user quoted and checked", () => {
    assertShellcheckClean(dockerGroupBody("ubuntu"), "docker group body");
    assertShellcheckClean(dockerGroupScript("ubuntu"), "docker group", WRAPPED_EXCLUDES);
    assert.ok(dockerGroupBody("ec2-user").includes("user='ec2-user'\n"));
    assert.throws(() => dockerGroupBody("a b"), /user must match/);
  });

  it("the AMI's docker-group step runs: adds the user to the group, refuses a host without the group or the user", () => {
    // getent, id and usermod are stand-ins on PATH: usermod logs its arguments instead of editing /etc/group.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-docker-group-"));
    try {
      const log = path.join(dir, "log");
      const stub = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      stub("getent", '[ -z "$NO_GROUP" ]');
      stub("id", '[ "$1" = -nG ] && echo "ubuntu docker" || [ -z "$NO_USER" ]');
      stub("usermod", `echo "usermod $*" >> '${log}'`);
      const runAs = (env: Record<string, string> = {}) =>
        spawnSync("sh", ["-c", dockerGroupBody("ubuntu")], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env } });
      const ok = runAs();
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(ok.stdout, "ubuntu is in the docker group: ubuntu docker\n");
      assert.equal(fs.readFileSync(log, "utf8"), "usermod -aG docker ubuntu\n");
      fs.rmSync(log);
      const noGroup = runAs({ NO_GROUP: "1" });
      assert.equal(noGroup.status, 2);
      assert.equal(noGroup.stderr, "no docker group: is Docker installed?\n");
      const noUser = runAs({ NO_USER: "1" });
      assert.equal(noUser.status, 2);
      assert.equal(noUser.stderr, "no user ubuntu on the image\n");
      assert.equal(fs.existsSync(log), false, "usermod is not run when a check fails");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
