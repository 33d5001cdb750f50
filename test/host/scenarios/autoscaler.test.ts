// runner.executor docker-autoscaler on a Collaborage 2.1.0 CI server with a proxy: the real program
// (offline engine for AWS) runs its CI-server commands over SSH on a sandbox. First the runbook's
// runner 16.1 is refused before anything is written; then, with the runner image at 17.11, the
// image check passes, the plugin's AWS files and config.toml are written, and destroy undoes it.
import { strict as assert } from "node:assert";
import { tomllibParse } from "../../helpers/tomllib";
import { apply, ciRoutes, CANARY_AWS_SECRET, CI_PATHS, destroy, hostStackConfig, readFiles, type ApplyResult, type StackConfig } from "../programRun";
import { useSandbox } from "../sandbox";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck } from "./checks";
import { accessKeyIdOf, contentOf } from "./expected";

const AWS_CONFIG = "/data/gitlab-runner/config/fleeting-aws-config";
const AWS_CREDENTIALS = "/data/gitlab-runner/config/fleeting-aws-credentials";
const WATCH = [...Object.values(CI_PATHS), AWS_CONFIG, AWS_CREDENTIALS];
const autoscaler = (c: StackConfig) => {
  Object.assign(c.runner, { executor: "docker-autoscaler", maxInstances: 2 });
  c.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 1, idleTime: 3600 }];
};

describe("host scenario: docker-autoscaler on Collaborage 2.1.0 with a proxy", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-2.1.0");
  let original: Record<string, Buffer | null>;

  before(() => {
    original = readFiles(ci(), WATCH);
    // The fleeting plugin's registry, as the runner container's stand-in reaches it (standin_container.py).
    ci().writeFile("/.sandbox/state/fleeting-registry.json",
      JSON.stringify({ reachable: true, versions: { "registry.gitlab.com/gitlab-org/fleeting/plugins/aws": ["1.0.0"] } }));
  });

  describe("the runbook's runner 16.1, no upgrade", () => {
    let run: ApplyResult;
    before(async () => {
      run = await apply(hostStackConfig(ci(), autoscaler), { routes: ciRoutes(ci()) }, WATCH);
    });

    it("is refused after reading docker-compose.yml, naming upgrade.runnerImage and 17.1; nothing else ran", () => {
      assert.match(String(run.error), /needs GitLab Runner 17\.1 or later; docker-compose\.yml runs gitlab-runner image gitlab\/gitlab-runner:ubuntu-v16\.1\.0\. Set upgrade\.runnerImage/);
      assert.deepEqual(run.executed.map((e) => e.name), ["runner-image-check-read"]);
    });

    it("leaves every file as it was", () => {
      for (const p of WATCH) assert.deepEqual(run.files[p], original[p], p);
    });
  });

  describe("the runner image at 17.11 (edited by hand), then destroy", () => {
    let config: StackConfig;
    let run: ApplyResult;
    let compose: Buffer;
    before(async () => {
      const sb = ci();
      const text = original[CI_PATHS.compose]!.toString("utf8")
        .replace("gitlab/gitlab-runner:ubuntu-v16.1.0", "gitlab/gitlab-runner:ubuntu-v17.11.0")
        .replace("gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ce:17.11.7-ce.0");
      sb.writeFile(CI_PATHS.compose, text, { owner: "ec2-user", mode: sb.stat(CI_PATHS.compose).mode });
      compose = Buffer.from(text);
      config = hostStackConfig(sb, autoscaler);
      run = await apply(config, { routes: ciRoutes(ci()) }, WATCH);
    });

    it("checks the image, then writes the proxy files, the plugin's AWS files and config.toml, in that order", () => {
      assert.equal(run.error, undefined, String(run.error));
      const names = run.executed.map((e) => e.name);
      // The CI server's edits one after another; the plugin, the worker key and the worker cleanup
      // (independent of one another, so in any order) after them; config.toml last.
      const chain = [
        "runner-image-check-read", "runner-image-check-verdict",
        "ci-server-common-env-read", "ci-server-common-env-write",
        "ci-server-compose-proxy-read", "ci-server-compose-proxy-write",
        "ci-server-docker-daemon-json-read", "ci-server-docker-daemon-json-write",
        "ci-server-docker-dropin-read", "ci-server-docker-dropin-write",
        "ci-server-fleeting-aws-config-read", "ci-server-fleeting-aws-config-write",
        "ci-server-fleeting-aws-credentials-read", "ci-server-fleeting-aws-credentials-write",
      ];
      const side = ["autoscaler-fleeting-compose-read", "autoscaler-fleeting-compose-write", "autoscaler-fleeting-install", "autoscaler-worker-key-generate", "workers-cleanup"];
      assert.deepEqual(names.slice(0, chain.length), chain);
      assert.deepEqual(names.slice(chain.length, -2).sort(), [...side].sort());
      assert.ok(names.indexOf("autoscaler-fleeting-compose-write") < names.indexOf("autoscaler-fleeting-install"), "the plugin path before the install");
      assert.deepEqual(names.slice(-2), ["ci-server-config-toml-read", "ci-server-config-toml-write"]);
      const verdict = run.executed.find((e) => e.name === "runner-image-check-verdict")!;
      assert.equal(verdict.stdout, "gitlab-runner image gitlab/gitlab-runner:ubuntu-v17.11.0: docker-autoscaler available (17.1 or later)\n");
    });

    it("the plugin's AWS files: root-only, as the writes carried them", () => {
      const sb = ci();
      assert.equal(run.files[AWS_CONFIG]?.toString("utf8"), "[default]\nregion = ap-northeast-1\n");
      const creds = run.files[AWS_CREDENTIALS]?.toString("utf8");
      assert.equal(creds, `[default]\naws_access_key_id = ${accessKeyIdOf(run.run!)}\naws_secret_access_key = ${CANARY_AWS_SECRET}\n`);
      assert.equal(creds, contentOf(run.commands.find((c) => c.name === "ci-server-fleeting-aws-credentials-write")!.stdin));
      for (const p of [AWS_CONFIG, AWS_CREDENTIALS]) assert.deepEqual([sb.stat(p).owner, sb.stat(p).mode], ["root", 0o600], p);
    });

    it("config.toml: the write's content, docker-autoscaler with the group and the files, mode kept", () => {
      const text = run.files[CI_PATHS.configToml]!.toString("utf8");
      assert.equal(text, contentOf(run.commands.find((c) => c.name === "ci-server-config-toml-write")!.stdin));
      const runner = tomllibParse(text).value.runners[0];
      assert.equal(runner.executor, "docker-autoscaler");
      assert.match(runner.autoscaler.plugin_config.name, /^workers-asg-[0-9a-f]{7}$/);
      assert.equal(runner.autoscaler.plugin_config.credentials_file, "/etc/gitlab-runner/fleeting-aws-credentials");
      assert.equal(runner.autoscaler.max_instances, 2);
      assert.equal(ci().stat(CI_PATHS.configToml).mode, 0o600);
    });

    it("leaks no secret canary; every script passes shellcheck", () => {
      assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed });
      assert.ok(assertScriptsPassShellcheck(run.commands) > 0);
    });

    it("destroy removes the plugin's files and puts config.toml and the others back", async () => {
      await destroy(run, ciRoutes(ci()));
      const after = readFiles(ci(), WATCH);
      assert.equal(after[AWS_CONFIG], null);
      assert.equal(after[AWS_CREDENTIALS], null);
      assert.deepEqual(after[CI_PATHS.configToml], original[CI_PATHS.configToml]);
      assert.deepEqual(after[CI_PATHS.commonEnv], original[CI_PATHS.commonEnv]);
      assert.deepEqual(after[CI_PATHS.compose], compose, "the hand-edited compose file, without the proxy edit");
    });
  });
});
