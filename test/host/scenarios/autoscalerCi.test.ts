// Issue 10, CI-server side, on a Collaborage 2.1.0 sandbox behind a proxy: FLEETING_PLUGIN_PATH by
// a guarded compose edit that recreates the runner, `gitlab-runner fleeting install` inside the
// runner container (refusals, a download failure behind the proxy, success, no second download,
// survival of a recreate, removal), and the worker SSH key (twice the same, private never printed,
// removed on delete). The scripts are the ones the components hand to remote.Command.
import { strict as assert } from "node:assert";
import type { RemoteEdit } from "../../../core/ciServer/edits";
import { editCompose } from "../../../core/ciServer/compose/composeFile";
import {
  FLEETING_EXIT, fleetingComposeEdit, fleetingInstallScript, fleetingRemoveScript, type FleetingInstallArgs,
} from "../../../core/ciServer/fleeting/fleetingPlugin";
import { expectedState, parseReadResult } from "../../../core/remote/readResult";
import { guardedWriteScript, guardedWriteStdin, readFileScript, restoreScript } from "../../../core/remote/scripts";
import { parseWorkerPublicKey, workerKeyCreateScript, workerKeyDeleteScript } from "../../../core/ciServer/fleeting/workerSshKey";
import { CI_PATHS, CANARY_PROXY_PASSWORD, execWithSnapshots, STATE_DIR } from "../programRun";
import { CI_APP_DIR } from "../layouts";
import { type ExecResult, type Sandbox, useSandbox } from "../sandbox";
import { listDir, waitFor } from "./checks";

const COMPOSE = { appDir: CI_APP_DIR, command: "docker compose" as const };
const VOL = { host: "/data/gitlab-runner/config", container: "/etc/gitlab-runner" };
const PLUGIN_HOST_DIR = "/data/gitlab-runner/config/fleeting-plugins";
const INSTALLED = "/etc/gitlab-runner/fleeting-plugins/registry.gitlab.com/gitlab-org/fleeting/plugins/aws/1.0.0/plugin";
const PROXY = `http://canaryuser:${CANARY_PROXY_PASSWORD}@192.0.2.1:3128`;
const MASKED_PROXY = "http://[secret]@192.0.2.1:3128";
const ARGS: FleetingInstallArgs = { plugin: "aws:1.0.0", container: "gitlab-runner", configVolume: VOL, proxy: true };
const REGISTRY = "/.sandbox/state/fleeting-registry.json";
const DOWNLOADS = "/.sandbox/state/fleeting-downloads.log";
/** The download stand-in's hold (registry knob "hold"): it says it is held, and waits for the release. */
const HELD = "/.sandbox/state/fleeting-held";
const RELEASE = "/.sandbox/state/fleeting-release";
const KEY = "/data/gitlab-runner/config/ssh/id_ed25519";

/** The proxy step the lead's program runs first (core/ciServer/edits composeProxyEdit): env_file common.env on the runner. */
const PROXY_EDIT: RemoteEdit = {
  restoreOnDestroy: true,
  write: {
    key: "compose-proxy", path: CI_PATHS.compose, validate: { compose: COMPOSE },
    after: { kind: "compose-up", compose: COMPOSE, services: ["gitlab-runner"] }, summary: [],
  },
  fingerprint: "",
  render: (cur) => editCompose(cur!, { envFile: { service: "gitlab-runner", file: "./common.env" } }).text,
};
const FLEETING_EDIT = fleetingComposeEdit({ compose: COMPOSE, service: "gitlab-runner", pluginPath: "/etc/gitlab-runner/fleeting-plugins" });

/** What RemoteFileEdit does: read, render, compare-and-swap write with the after-action. */
async function applyEdit(sb: Sandbox, edit: RemoteEdit): Promise<ExecResult> {
  const read = await sb.exec(readFileScript(edit.write.path));
  assert.equal(read.code, 0, read.stderr);
  const cur = parseReadResult(read.stdout);
  const content = edit.render(cur.exists ? cur.content : null);
  return sb.exec(guardedWriteScript(edit.write), { stdin: guardedWriteStdin(expectedState(cur), content), timeoutMs: 180_000 });
}

const runnerUp = (sb: Sandbox) => sb.exec(`sudo -n sh -c 'cd ${CI_APP_DIR} && docker compose up -d --no-deps gitlab-runner'`, { timeoutMs: 180_000 });
const install = (sb: Sandbox, a: FleetingInstallArgs = ARGS) => execWithSnapshots(sb, fleetingInstallScript(a), undefined, 200, 180_000);
const downloads = (sb: Sandbox) => (sb.exists(DOWNLOADS) ? sb.readFile(DOWNLOADS).toString("utf8").split("\n").filter(Boolean) : []);
const containerState = (sb: Sandbox) => JSON.parse(sb.readFile("/.sandbox/state/containers/gitlab-runner.json").toString("utf8"));
const noCanary = (what: string, text: string) => assert.ok(!text.includes(CANARY_PROXY_PASSWORD), `${what} shows the proxy password`);

describe("host scenarios, issue 10: fleeting plugin and worker SSH key on Collaborage 2.1.0 behind a proxy", function () {
  this.timeout(600_000);
  const ci = useSandbox("ci-2.1.0");

  before(async () => {
    const sb = ci();
    // common.env as init.sh leaves it behind an authenticating proxy (0600: it holds a password).
    sb.writeFile(CI_PATHS.commonEnv, `HTTP_PROXY=${PROXY}\nHTTPS_PROXY=${PROXY}\nhttp_proxy=${PROXY}\nhttps_proxy=${PROXY}\nTZ=Asia/Tokyo`, { owner: "ec2-user", mode: 0o600 });
    const up = await runnerUp(sb);
    assert.equal(up.code, 0, up.stderr);
  });

  describe("FLEETING_PLUGIN_PATH and the install", () => {
    it("before the compose edit the install refuses (exit 22): the plugin would land in /root, lost on recreate", async () => {
      const r = await install(ci());
      assert.equal(r.code, FLEETING_EXIT.pluginPathNotSet, r.stderr);
      assert.match(r.stderr, /container gitlab-runner has FLEETING_PLUGIN_PATH=\(unset\), not \/etc\/gitlab-runner\/fleeting-plugins/);
      assert.equal(r.stdout, "");
    });

    it("the compose edit (after the proxy edit) writes the two lines, validates, and recreates only the runner, which then has both variables", async () => {
      const sb = ci();
      assert.equal((await applyEdit(sb, PROXY_EDIT)).code, 0);
      const before = sb.readFile(CI_PATHS.compose).toString("utf8");
      sb.clearCalls();
      const w = await applyEdit(sb, FLEETING_EDIT);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stdout, /^wrote: \/home\/ec2-user\/nop\/docker\/ci\/docker-compose.yml \(backup: /);
      const at = before.indexOf("    env_file: ./common.env\n", before.indexOf("\n  gitlab-runner:\n"));
      assert.equal(sb.readFile(CI_PATHS.compose).toString("utf8"),
        `${before.slice(0, at)}    env_file: ./common.env\n    environment:\n      FLEETING_PLUGIN_PATH: /etc/gitlab-runner/fleeting-plugins\n${before.slice(at + 27)}`);
      const calls = sb.calls();
      assert.ok(calls.some((c) => /^docker compose -f \S+ --project-directory \S+ config -q$/.test(c)), calls.join("\n"));
      assert.deepEqual(calls.filter((c) => /\bup\b/.test(c)), ["docker compose up -d --no-deps gitlab-runner"]);
      const st = containerState(sb);
      assert.equal(st.env.FLEETING_PLUGIN_PATH, "/etc/gitlab-runner/fleeting-plugins");
      assert.equal(st.env.HTTPS_PROXY, PROXY);
      assert.equal((await applyEdit(sb, FLEETING_EDIT)).stdout.trim(), `unchanged: ${CI_PATHS.compose}`);
    });

    it("a runner older than 17.0 is refused (exit 23) with the upgrade to make", async () => {
      const r = await install(ci());
      assert.equal(r.code, FLEETING_EXIT.runnerTooOld, r.stderr);
      assert.match(r.stderr, /gitlab-runner 16\.1\.0 in container gitlab-runner has no reliable 'fleeting install'.*17\.1 or later/);
    });

    it("a download that fails behind the proxy: exit 24, the plugin, the masked proxy and what to allow; nothing installed", async () => {
      const sb = ci();
      // The operator's upgrade to a runner with the Docker Autoscaler (not this step's business).
      sb.writeFile(CI_PATHS.compose, sb.readFile(CI_PATHS.compose).toString("utf8").replace("ubuntu-v16.1.0", "ubuntu-v17.5.0"), { owner: "ec2-user", mode: 0o664 });
      assert.equal((await runnerUp(sb)).code, 0);
      // The proxy refuses registry.gitlab.com (only another proxy would get through).
      // The download holds until the test has looked at the process list: a look while the install
      // runs whatever the speed of the machine (the 200 ms snapshots may all miss a fast install).
      sb.writeFile(REGISTRY, JSON.stringify({ reachable: true, requireProxy: "http://other-proxy:8080", hold: true, versions: { "registry.gitlab.com/gitlab-org/fleeting/plugins/aws": ["1.0.0", "1.1.0"] } }));
      let ended = false;
      const running = install(sb).finally(() => (ended = true));
      await waitFor("the fleeting install's held download", () => sb.exists(HELD) || ended, 120_000);
      const during = ended ? "" : sb.processSnapshot();
      sb.writeFile(RELEASE, "");
      const r = await running;
      assert.equal(r.code, FLEETING_EXIT.downloadFailed, r.stderr);
      assert.match(r.stderr, /could not install the fleeting plugin aws:1\.0\.0 into \/etc\/gitlab-runner\/fleeting-plugins in container gitlab-runner through proxy http:\/\/\[secret\]@192\.0\.2\.1:3128 \(HTTPS_PROXY of container gitlab-runner\)/);
      assert.match(r.stderr, /OCI artifact registry\.gitlab\.com\/gitlab-org\/fleeting\/plugins\/aws:1\.0\.0/);
      assert.match(r.stderr, /Allow HTTPS \(CONNECT to port 443\) through the proxy to registry\.gitlab\.com and gitlab\.com .* NO_PROXY/);
      assert.ok(r.stderr.includes(`proxyconnect tcp: via ${MASKED_PROXY}`), "gitlab-runner's own error is shown, masked");
      noCanary("stderr", r.stderr);
      noCanary("stdout", r.stdout);
      assert.match(during, /gitlab-runner fleeting -c \S+ install/, `the snapshot, taken while the download was held, shows the running install:\n${during}`);
      assert.ok([during, ...r.snapshots].every((s) => !s.includes(CANARY_PROXY_PASSWORD)), "process lists");
      for (const c of sb.calls()) noCanary("stand-in call log", c);
      assert.equal(sb.exists(PLUGIN_HOST_DIR), false);
      assert.deepEqual(downloads(sb), []);
      assert.deepEqual((await listDir(sb, VOL.host)).filter((n) => n.startsWith(".gra-")), [], "no temp config left");
    });

    it("through the proxy: installed on the config volume (host path), marked as created by this stack", async () => {
      const sb = ci();
      sb.writeFile(REGISTRY, JSON.stringify({ reachable: true, requireProxy: PROXY, versions: { "registry.gitlab.com/gitlab-org/fleeting/plugins/aws": ["1.0.0", "1.1.0"] } }));
      sb.clearCalls();
      const r = await install(sb);
      assert.equal(sb.calls().filter((c) => / fleeting .* install$/.test(c)).length, 1, sb.calls().join("\n"));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split("\n"), [
        `installing fleeting plugin aws:1.0.0 into /etc/gitlab-runner/fleeting-plugins through proxy ${MASKED_PROXY} (HTTPS_PROXY of container gitlab-runner)`,
        `installed: aws:1.0.0 at ${INSTALLED}`,
        "",
      ]);
      assert.deepEqual(downloads(sb), ["registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.0.0"], "the pinned version, not the newest");
      assert.ok(sb.exists(`${PLUGIN_HOST_DIR}/registry.gitlab.com/gitlab-org/fleeting/plugins/aws/1.0.0/plugin`));
      assert.equal(sb.readFile(`${STATE_DIR}/fleeting-plugin/created-dir`).toString("utf8"), `${PLUGIN_HOST_DIR}\n`);
      assert.equal(sb.stat(`${STATE_DIR}/fleeting-plugin`).mode, 0o700);
      assert.deepEqual((await listDir(sb, VOL.host)).filter((n) => n.startsWith(".gra-")), []);
      assert.ok(sb.calls().every((c) => !/config\.toml/.test(c)), "config.toml is never passed to fleeting");
    });

    it("again, and after the runner is recreated: already installed, no second download, no install call", async () => {
      const sb = ci();
      for (const recreate of [false, true]) {
        if (recreate) assert.equal((await runnerUp(sb)).code, 0);
        sb.clearCalls();
        const r = await install(sb);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `already installed: aws:1.0.0 at ${INSTALLED}\n`);
        assert.deepEqual(sb.calls().filter((c) => / fleeting .* install$/.test(c)), []);
      }
      assert.equal(downloads(sb).length, 1);
    });

    it("the delete removes the plugin directory this stack created, once; the compose restore recreates the runner without the variable", async () => {
      const sb = ci();
      const d = await sb.exec(fleetingRemoveScript(ARGS));
      assert.equal(d.code, 0, d.stderr);
      assert.equal(d.stdout, `removed: ${PLUGIN_HOST_DIR}\n`);
      assert.equal(sb.exists(PLUGIN_HOST_DIR), false);
      assert.equal(sb.exists(`${STATE_DIR}/fleeting-plugin`), false);
      assert.equal((await sb.exec(fleetingRemoveScript(ARGS))).stdout, `kept: ${PLUGIN_HOST_DIR} (it existed before this stack installed the plugin)\n`);
      // Undo the test's own image change first: a restore refuses a file changed after its write (exit 7).
      const before = sb.readFile(CI_PATHS.compose).toString("utf8").replace("ubuntu-v17.5.0", "ubuntu-v16.1.0");
      sb.writeFile(CI_PATHS.compose, before, { owner: "ec2-user", mode: 0o664 });
      const restored = await sb.exec(restoreScript(FLEETING_EDIT.write), { timeoutMs: 180_000 });
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(sb.readFile(CI_PATHS.compose).toString("utf8"),
        before.replace("    environment:\n      FLEETING_PLUGIN_PATH: /etc/gitlab-runner/fleeting-plugins\n", ""));
      assert.equal(containerState(sb).env.FLEETING_PLUGIN_PATH, undefined);
    });

    it("a plugin directory that was there before is kept by the delete", async () => {
      const sb = ci();
      assert.equal((await applyEdit(sb, FLEETING_EDIT)).code, 0);
      sb.writeFile(CI_PATHS.compose, sb.readFile(CI_PATHS.compose).toString("utf8").replace("ubuntu-v16.1.0", "ubuntu-v17.5.0"), { owner: "ec2-user", mode: 0o664 });
      assert.equal((await runnerUp(sb)).code, 0);
      await sb.exec(`sudo -n mkdir -p ${PLUGIN_HOST_DIR}`);
      const r = await install(sb);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sb.exists(`${STATE_DIR}/fleeting-plugin/created-dir`), false);
      assert.match((await sb.exec(fleetingRemoveScript(ARGS))).stdout, /^kept: /);
      assert.ok(sb.exists(`${PLUGIN_HOST_DIR}/registry.gitlab.com/gitlab-org/fleeting/plugins/aws/1.0.0/plugin`));
    });
  });

  describe("the worker SSH key", () => {
    const A = { configVolume: VOL };

    it("twice: the same public key and nothing else on stdout; the private key 0600 root in a 0700 dir, never printed", async () => {
      const sb = ci();
      sb.clearCalls();
      const r1 = await execWithSnapshots(sb, workerKeyCreateScript(A), undefined, 50);
      const r2 = await execWithSnapshots(sb, workerKeyCreateScript(A), undefined, 50);
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r1.stderr, "");
      const pub = parseWorkerPublicKey(r1.stdout);
      assert.equal(r2.stdout, r1.stdout);
      const priv = sb.readFile(KEY).toString("utf8");
      const body = priv.split("\n").filter((l) => l && !l.startsWith("-----"));
      assert.ok(body.length >= 3);
      for (const e of [r1, r2]) {
        for (const l of body) {
          assert.ok(!(e.stdout + e.stderr).includes(l), "private key in the output");
          assert.ok(e.snapshots.every((s) => !s.includes(l)), "private key in a process list");
        }
      }
      for (const c of sb.calls()) for (const l of body) assert.ok(!c.includes(l));
      assert.deepEqual({ ...sb.stat(KEY), uid: 0, gid: 0 }, { mode: 0o600, uid: 0, gid: 0, owner: "root" });
      assert.equal(sb.stat("/data/gitlab-runner/config/ssh").mode, 0o700);
      assert.equal(sb.readFile(`${KEY}.pub`).toString("utf8").split(" ").slice(0, 2).join(" "), pub);
    });

    it("delete removes the key, its .pub and the directory it made; a second delete keeps whatever is there", async () => {
      const sb = ci();
      const d = await sb.exec(workerKeyDeleteScript(A));
      assert.equal(d.code, 0, d.stderr);
      assert.equal(d.stdout, `removed: ${KEY}\n`);
      assert.equal(sb.exists("/data/gitlab-runner/config/ssh"), false);
      assert.equal(sb.exists(`${STATE_DIR}/worker-ssh-key`), false);
      assert.equal((await sb.exec(workerKeyDeleteScript(A))).stdout, `kept: ${KEY} (this stack did not create it)\n`);
    });
  });
});
