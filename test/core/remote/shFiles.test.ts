// The remote scripts' .sh files (core/remote/sh/), checked as the files a reviewer reads: each is
// clean under shellcheck on its own, declares the parameters it reads in its "Preamble:" line, and
// the composed scripts take their text from them (shellcheck.test.ts checks the composed scripts).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterScript, restoreAfterScript, type AfterAction } from "../../../core/remote/afterActions";
import {
  appendBlockBody, dockerInstallBody, dockerProxyCheckBody, guardedWriteBody, installFileBody, readFileBody, restoreBody, waitForSshBody,
} from "../../../core/remote/scripts";
import { imageCheckScript } from "../../../core/ciServer/compose/runnerImageCheck";
import { fleetingInstallBody, fleetingRemoveBody } from "../../../core/ciServer/fleeting/fleetingPlugin";
import { workerKeyCreateBody, workerKeyDeleteBody } from "../../../core/ciServer/fleeting/workerSshKey";
import { workerCleanupBody, workerNoticeBody } from "../../../core/ciServer/workers/workerCleanup";
import { scriptBody } from "../../../core/remote/shell";
import { dockerGroupBody } from "../../../core/workerImage/workerImage";
import { upgradeBackupBody, upgradeGateBody, upgradePreflightBody } from "../../../core/remote/upgradeScripts";
import { SH_DIR, shFile, shFileNames } from "../../../core/remote/shFiles";
import { assertShellcheckClean } from "../../helpers/shellcheck";

const VOLUME = { host: "/data/gitlab-runner/config", container: "/etc/gitlab-runner" };
const FLEETING = { plugin: "aws:1.0.0", container: "gitlab-runner", configVolume: VOLUME, proxy: true };
const WORKERS = { container: "gitlab-runner", configPath: "/data/gitlab-runner/config/config.toml", machineName: "gitlab-docker-machine-%s" };

// SC2154 (referenced but not assigned): a file's parameters are assigned by the preamble it is sent with.
const FILE_EXCLUDES = ["SC2154"];
// A file in lib/, after/ or restore-after/ only defines functions and values for the step that
// includes it: they run when that step calls them (SC2317), and what they set is read there (SC2034).
const LIB_EXCLUDES = [...FILE_EXCLUDES, "SC2034", "SC2317"];

describe("core/remote/sh: the script files", () => {
  const names = shFileNames();

  it("holds one file per remote step and the shared functions", () => {
    for (const n of ["read-file.sh", "guarded-write.sh", "restore.sh", "lib/die.sh", "lib/state_of.sh", "lib/compose_select.sh"]) assert.ok(names.includes(n), n);
    for (const n of ["install-file", "append-block", "proxy-env", "docker-install", "docker-proxy-check", "docker-group", "wait-ssh"]) assert.ok(names.includes(`ami/${n}.sh`), n);
  });

  for (const name of names) {
    it(`${name} is clean under shellcheck as a file`, () => {
      const text = fs.readFileSync(path.join(SH_DIR, name), "utf8");
      assert.match(text, /^# shellcheck shell=sh\n/);
      assertShellcheckClean(text, name, /^(lib|after|restore-after)\//.test(name) ? LIB_EXCLUDES : FILE_EXCLUDES);
    });
  }

  it("a step file names every parameter it reads in its Preamble line, and the script sets exactly those", () => {
    const steps: [string, string][] = [
      ["read-file.sh", readFileBody("/etc/x")],
      ["guarded-write.sh", guardedWriteBody({ key: "k", path: "/etc/x", summary: [] })],
      ["restore.sh", restoreBody({ key: "k", path: "/etc/x", summary: [] })],
      ["runner-image-check.sh", scriptBody(imageCheckScript("gitlab-runner image x: ok"))!],
      ["ami/install-file.sh", installFileBody({ path: "/etc/x", mode: "0644" })],
      ["ami/append-block.sh", appendBlockBody({ path: "~/.profile", marker: "m", private: true })],
      ["ami/docker-install.sh", dockerInstallBody({ proxyEnvFromStdin: true })],
      ["ami/docker-proxy-check.sh", dockerProxyCheckBody(true)],
      ["ami/docker-group.sh", dockerGroupBody("ubuntu")],
      ["ami/wait-ssh.sh", waitForSshBody()],
      ["fleeting/install.sh", fleetingInstallBody(FLEETING)],
      ["fleeting/remove.sh", fleetingRemoveBody(FLEETING)],
      ["fleeting/worker-key-create.sh", workerKeyCreateBody({ configVolume: VOLUME })],
      ["fleeting/worker-key-delete.sh", workerKeyDeleteBody({ configVolume: VOLUME })],
      ["workers/cleanup.sh", workerCleanupBody({ ...WORKERS, drainTimeoutSeconds: 600, pollSeconds: 10 })],
      ["workers/notice.sh", workerNoticeBody({ ...WORKERS, maxBuilds: 100, idleTime: 1800 })],
      ["upgrade/gate.sh", upgradeGateBody({ container: "gitlab", version: "16.3.9", checks: ["batched-rake"], timeoutSeconds: 60, pollSeconds: 5, label: "l", resumeHint: "h" })],
      ["upgrade/backup.sh", upgradeBackupBody({ gitlabContainer: "gitlab", dbContainer: "gitlab-db", gitlabDataHostDir: "/d", backupDir: "/b", fromVersion: "16.0.6", timeoutSeconds: 60 })],
      ["upgrade/preflight.sh", upgradePreflightBody({})],
    ];
    for (const [name, body] of steps) {
      const declared = /^# Preamble: ([a-z_0-9 ]+)\.$/m.exec(fs.readFileSync(path.join(SH_DIR, name), "utf8"));
      assert.ok(declared, `${name} has a Preamble line`);
      const want = declared[1] === "none" ? [] : declared[1].split(" ");
      // The preamble comes right after "set -eu" (its shellcheck notes aside): the parameters are set before any file's shell.
      const preamble = body.split("\n").slice(1).filter((l) => !l.startsWith("# shellcheck disable=")).slice(0, want.length);
      assert.deepEqual(preamble.map((l) => (/^[a-z_0-9]+=/.test(l) ? l.slice(0, l.indexOf("=")) : l)), want, name);
      assert.ok(body.endsWith(`# ${name}\n${shFile(name).join("\n")}\n`), `${name}: the script ends with the file's text, after a line naming it`);
    }
  });

  it("each after-action file names in its Preamble line exactly the parameters it is given", () => {
    const compose = { appDir: "/srv/app", command: "auto" as const };
    const actions: AfterAction[] = [
      { kind: "compose-up", compose, services: ["a", "b"], waitHealthy: { container: "gitlab", timeoutSeconds: 9, pollSeconds: 3 }, gracefulStop: { container: "r", timeoutSeconds: 90 } },
      { kind: "dockerd-restart" },
      { kind: "dockerd-reload", timeoutSeconds: 4 },
      { kind: "runner-reload", container: "gitlab-runner", timeoutSeconds: 30, restartLeavingAutoscaler: { compose, service: "gitlab-runner", gracefulStop: { container: "gitlab-runner", timeoutSeconds: 0 } } },
    ];
    for (const a of actions) for (const script of [afterScript(a), restoreAfterScript(a)]) {
      const step = script.files[script.files.length - 1];
      assert.match(step, /^(after|restore-after)\//);
      const declared = /^# Preamble: (.+)\.$/m.exec(fs.readFileSync(path.join(SH_DIR, step), "utf8"))?.[1];
      // A restore-after file may read fewer than its kind's parameters, never one it is not given.
      const given = Object.keys(script.params);
      const names = declared === "none" ? [] : declared!.split(" ");
      if (step.startsWith("after/")) assert.deepEqual(names, given, step);
      else for (const n of names) assert.ok(given.includes(n), `${step}: ${n}`);
      for (const f of script.files) assert.ok(shFileNames().includes(f), f);
    }
  });

  it("a file's leading comment block stays out of the script; its shell stays whole", () => {
    const lines = shFile("lib/die.sh");
    assert.deepEqual(lines, ['die() { code=$1; shift; printf "%s\\n" "$*" >&2; exit "$code"; }']);
    assert.throws(() => shFile("nope.sh"), /no script file core\/remote\/sh\/nope\.sh/);
  });
});
