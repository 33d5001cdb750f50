import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import {
  checkPluginRef, FLEETING_EXIT, fleetingComposeEdit, fleetingInstallBody, fleetingInstallScript, fleetingRemoveBody,
  fleetingRemoveScript, pluginArtifact, pluginDir, type FleetingInstallArgs,
} from "../../../../core/ciServer/fleeting/fleetingPlugin";
import { EXIT, guardedWriteScript, restoreScript } from "../../../../core/remote/scripts";
import { scriptBody, scriptHeader } from "../../../../core/remote/shell";
import { fixture } from "../../../helpers/fixtures";
import { shFileLines } from "../../../helpers/shFiles";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../../../helpers/shellcheck";

const VOL = { host: "/data/gitlab-runner/config", container: "/etc/gitlab-runner" };
const ARGS: FleetingInstallArgs = { plugin: "aws:1.0.0", container: "gitlab-runner", configVolume: VOL, proxy: true };
const COMPOSE = { appDir: "/home/ec2-user/nop/docker/ci", command: "docker compose" as const };

describe("core/ciServer/fleeting/fleetingPlugin", () => {
  describe("plugin references", () => {
    it("accepts the documented forms and resolves them to the OCI artifact", () => {
      assert.equal(pluginArtifact("aws"), "registry.gitlab.com/gitlab-org/fleeting/plugins/aws:latest");
      assert.equal(pluginArtifact("aws:1"), "registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1");
      assert.equal(pluginArtifact("aws:1.0.0"), "registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.0.0");
      assert.equal(pluginArtifact("gitlab-org/fleeting/plugins/aws:1.2"), "registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.2");
      assert.equal(pluginArtifact("mirror.example.com:5000/fleeting/aws:1.0.0"), "mirror.example.com:5000/fleeting/aws:1.0.0");
      assert.equal(pluginArtifact("registry.gitlab.com/santhanuv/fleeting-plugin-vmware-vsphere:latest"),
        "registry.gitlab.com/santhanuv/fleeting-plugin-vmware-vsphere:latest");
    });

    it("refuses what could not be a reference (quotes, spaces, shell, empty)", () => {
      for (const bad of ["", "aws 1", "aws:1\"", "aws;rm -rf /", "$(id)", "aws:1\n", "AWS:1", "aws:"]) {
        assert.throws(() => checkPluginRef(bad), /plugin reference must look like aws:1.0.0/, bad);
      }
    });

    it("the plugin directory is fleeting-plugins/ on the config volume, seen from both sides", () => {
      assert.deepEqual(pluginDir(VOL), { host: "/data/gitlab-runner/config/fleeting-plugins", container: "/etc/gitlab-runner/fleeting-plugins" });
      assert.throws(() => pluginDir({ host: "data/x", container: "/etc/gitlab-runner" }), /must be absolute/);
    });
  });

  describe("fleetingComposeEdit", () => {
    const edit = fleetingComposeEdit({ compose: COMPOSE, service: "gitlab-runner", pluginPath: "/etc/gitlab-runner/fleeting-plugins" });

    it("a guarded write of docker-compose.yml, validated by compose config -q, that recreates only the runner and is restored on destroy", () => {
      assert.deepEqual(edit.write, {
        key: "compose-fleeting",
        path: "/home/ec2-user/nop/docker/ci/docker-compose.yml",
        validate: { compose: COMPOSE },
        after: { kind: "compose-up", compose: COMPOSE, services: ["gitlab-runner"] },
        summary: ["services.gitlab-runner.environment.FLEETING_PLUGIN_PATH = /etc/gitlab-runner/fleeting-plugins"],
      });
      assert.equal(edit.restoreOnDestroy, true);
      assert.deepEqual(scriptHeader(guardedWriteScript(edit.write)), [
        "gitlab-runner-autoscaling: guarded write of /home/ec2-user/nop/docker/ci/docker-compose.yml (state compose-fleeting)",
        "services.gitlab-runner.environment.FLEETING_PLUGIN_PATH = /etc/gitlab-runner/fleeting-plugins",
      ]);
      assertShellcheckClean(guardedWriteScript(edit.write), "compose-fleeting write");
      assertShellcheckClean(restoreScript(edit.write), "compose-fleeting restore");
    });

    it("renders the fixture with exactly the two environment lines added; refuses a missing file", () => {
      const orig = fixture("collaborage/ci-docker-compose.yml");
      assert.equal(edit.render(orig), orig.replace("    restart: always\n    volumes:\n      - ~/.docker/",
        "    restart: always\n    environment:\n      FLEETING_PLUGIN_PATH: /etc/gitlab-runner/fleeting-plugins\n    volumes:\n      - ~/.docker/"));
      assert.throws(() => edit.render(null), /docker-compose.yml does not exist on the CI server/);
    });

    it("refuses bad service names and relative plugin paths before any script exists", () => {
      assert.throws(() => fleetingComposeEdit({ compose: COMPOSE, service: "-x", pluginPath: "/p" }), /service must match/);
      assert.throws(() => fleetingComposeEdit({ compose: COMPOSE, service: "gitlab-runner", pluginPath: "p" }), /pluginPath must be absolute/);
    });
  });

  describe("install script", () => {
    it("exact output (proxy on): the preamble, then lib/die.sh, lib/mask.sh, lib/signal_traps.sh and fleeting/install.sh", () => {
      assert.deepEqual(fleetingInstallBody(ARGS).split("\n"), [
        "set -eu",
        "c='gitlab-runner'",
        "plugin='aws:1.0.0'",
        "want='/etc/gitlab-runner/fleeting-plugins'",
        "host_dir='/data/gitlab-runner/config/fleeting-plugins'",
        "host_vol='/data/gitlab-runner/config'",
        "vol='/etc/gitlab-runner'",
        "sd='/var/lib/gitlab-runner-autoscaling/fleeting-plugin'",
        "hint='The plugin is the OCI artifact registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.0.0. Allow HTTPS (CONNECT to port 443) through the proxy to registry.gitlab.com and gitlab.com (the registry'\\''s token service), and keep them out of NO_PROXY in common.env. Then run pulumi up again.'",
        "min_major=17",
        "min_minor=0",
        "expect_proxy=1",
        ...shFileLines("lib/die.sh"),
        ...shFileLines("lib/mask.sh"),
        ...shFileLines("lib/signal_traps.sh"),
        ...shFileLines("fleeting/install.sh"),
        "",
      ]);
    });

    it("without a proxy: the same script but no refusal of a container without HTTPS_PROXY, and another hint", () => {
      const on = fleetingInstallBody(ARGS).split("\n");
      const off = fleetingInstallBody({ ...ARGS, proxy: false }).split("\n");
      assert.deepEqual(off.filter((l) => !on.includes(l)), [
        "hint='The plugin is the OCI artifact registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.0.0. The CI server needs HTTPS to registry.gitlab.com and gitlab.com; if it must use a proxy, set proxy.* in the stack config. Then run pulumi up again.'",
        "expect_proxy=0",
      ]);
      assert.deepEqual(on.filter((l) => !off.includes(l)), [
        "hint='The plugin is the OCI artifact registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.0.0. Allow HTTPS (CONNECT to port 443) through the proxy to registry.gitlab.com and gitlab.com (the registry'\\''s token service), and keep them out of NO_PROXY in common.env. Then run pulumi up again.'",
        "expect_proxy=1",
      ]);
      assert.equal(off.length, on.length);
    });

    it("the wrapped script carries the body and says what it installs; the remove script is exact", () => {
      const s = fleetingInstallScript(ARGS);
      assert.equal(scriptBody(s), fleetingInstallBody(ARGS));
      assert.deepEqual(scriptHeader(s), [
        "gitlab-runner-autoscaling: fleeting plugin aws:1.0.0 in container gitlab-runner",
        "FLEETING_PLUGIN_PATH = /etc/gitlab-runner/fleeting-plugins (host /data/gitlab-runner/config/fleeting-plugins)",
      ]);
      assert.equal(scriptBody(fleetingRemoveScript(ARGS)), fleetingRemoveBody(ARGS));
      assert.deepEqual(fleetingRemoveBody(ARGS).split("\n"), [
        "set -eu",
        "host_dir='/data/gitlab-runner/config/fleeting-plugins'",
        "sd='/var/lib/gitlab-runner-autoscaling/fleeting-plugin'",
        "# fleeting/remove.sh",
        "if [ ! -e \"$sd/created-dir\" ]; then",
        "  echo \"kept: $host_dir (it existed before this stack installed the plugin)\"",
        "  exit 0",
        "fi",
        "[ \"$(cat \"$sd/created-dir\")\" = \"$host_dir\" ] || {",
        "  echo \"kept: $host_dir (this stack created $(cat \"$sd/created-dir\") instead)\"",
        "  exit 0",
        "}",
        "[ ! -L \"$host_dir\" ] || { printf \"%s\\n\" \"$host_dir is a symbolic link; not removed.\" >&2; exit 7; }",
        "rm -rf \"$host_dir\"",
        "rm -f \"$sd/created-dir\"",
        "rmdir \"$sd\" 2>/dev/null || true",
        "echo \"removed: $host_dir\"",
        "",
      ]);
    });

    it("its mask hides proxy credentials with or without a scheme, and leaves other text alone", () => {
      const mask = fleetingInstallBody(ARGS).split("\n").find((l) => l.startsWith("mask() "))!;
      const input = [
        "http://user:p%40ss@proxy.example:3128",
        "user:pw@10.0.0.1:8080",
        "proxyconnect tcp: via https://u:p@h:1/ failed; retry http://a:b@c:2",
        "http://proxy.example:3128",
        "runner: x, plugin: aws:1.0.0, path: /etc/gitlab-runner/fleeting-plugins/p",
        "",
      ].join("\n");
      const r = spawnSync("/bin/sh", ["-c", `${mask}\nmask`], { input, encoding: "utf8" });
      assert.equal(r.stdout, [
        "http://[secret]@proxy.example:3128",
        "[secret]@10.0.0.1:8080",
        "proxyconnect tcp: via https://[secret]@h:1/ failed; retry http://[secret]@c:2",
        "http://proxy.example:3128",
        "runner: x, plugin: aws:1.0.0, path: /etc/gitlab-runner/fleeting-plugins/p",
        "",
      ].join("\n"));
    });

    it("its exit codes do not collide with the guarded write's", () => {
      const ours = Object.entries(FLEETING_EXIT).filter(([k]) => k !== "usage").map(([, v]) => v);
      for (const c of ours) assert.ok(!(Object.values(EXIT) as number[]).includes(c), String(c));
      assert.equal(new Set(ours).size, ours.length);
    });

    it("refuses shallow or unnormalised volume paths (a directory in them is removed on destroy)", () => {
      for (const host of ["/data", "/", "/data/../x/y", "/data//x"]) {
        assert.throws(() => fleetingInstallBody({ ...ARGS, configVolume: { ...VOL, host } }), /configVolume paths must be normalised/, host);
      }
      assert.throws(() => fleetingInstallBody({ ...ARGS, container: "gitlab runner" }), /container must match/);
    });

    for (const proxy of [true, false]) {
      it(`passes shellcheck -s sh, wrapped and body (proxy ${proxy})`, () => {
        const a = { ...ARGS, proxy };
        assertShellcheckClean(fleetingInstallScript(a), "fleeting install (wrapped)", WRAPPED_EXCLUDES);
        assertShellcheckClean(fleetingInstallBody(a), "fleeting install (body)");
        assertShellcheckClean(fleetingRemoveScript(a), "fleeting remove (wrapped)", WRAPPED_EXCLUDES);
        assertShellcheckClean(fleetingRemoveBody(a), "fleeting remove (body)");
      });
    }
  });
});
