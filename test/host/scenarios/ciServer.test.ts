// Issue #4, scenarios 1, 3, 7 and 9 on a Collaborage 2.1.0 CI server (docker compose v2) with a
// proxy: the real program (offline engine) runs its remote commands over SSH on a sandbox, then
// runs again, then is destroyed. One sandbox, in this order.
import { strict as assert } from "node:assert";
import { unwrapSecrets } from "../../../offline/mockEngine";
import { sha256Hex } from "../../../core/remote/readResult";
import {
  apply, ciRoutes, CI_PATHS, destroy, hostStackConfig, readFiles, STATE_DIR,
  type ApplyResult, type Deleted, type StackConfig,
} from "../programRun";
import { useSandbox } from "../sandbox";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck, composeUps, listDir, listTree } from "./checks";
import { contentOf, expectedCiFiles, fixtureBytes } from "./expected";

const WRITE_ORDER = [
  "ci-server-common-env-read", "ci-server-common-env-write",
  "ci-server-compose-proxy-read", "ci-server-compose-proxy-write",
  "ci-server-docker-daemon-json-read", "ci-server-docker-daemon-json-write",
  "ci-server-docker-dropin-read", "ci-server-docker-dropin-write",
  "workers-cleanup",
  "ci-server-config-toml-read", "ci-server-config-toml-write",
];
// The worker notice's look at the runner container (read-only; host scenario workers.test.ts).
const isWorkerQuery = (c: string) => c === "docker inspect -f '{{.State.Running}}' gitlab-runner" || c === "docker exec gitlab-runner docker-machine ls -q";
const KEYS = { commonEnv: "common-env", compose: "compose-proxy", daemonJson: "docker-daemon-json", dropIn: "docker-dropin", configToml: "config-toml" } as const;
const PATH_OF_KEY: Record<string, string> = {
  [KEYS.commonEnv]: CI_PATHS.commonEnv, [KEYS.compose]: CI_PATHS.compose, [KEYS.daemonJson]: CI_PATHS.daemonJson,
  [KEYS.dropIn]: CI_PATHS.dockerDropIn, [KEYS.configToml]: CI_PATHS.configToml,
};
const TIMESTAMPED = /^backup-\d{8}T\d{6}Z(-\d+)?$/;

describe("host scenarios 1, 3, 7: apply, re-apply and destroy on Collaborage 2.1.0 with a proxy", function () {
  this.timeout(180_000);
  const ci = useSandbox("ci-2.1.0");
  let config: StackConfig;
  let original: Record<string, Buffer | null>;
  let originalStats: Record<string, ReturnType<ReturnType<typeof ci>["stat"]>>;
  let first: ApplyResult;
  let firstCalls: string[];

  before(async () => {
    const sb = ci();
    config = hostStackConfig(sb);
    original = readFiles(sb, Object.values(CI_PATHS));
    originalStats = Object.fromEntries([CI_PATHS.compose, CI_PATHS.commonEnv, CI_PATHS.configToml, CI_PATHS.daemonJson].map((p) => [p, sb.stat(p)]));
    sb.clearCalls();
    first = await apply(config, { routes: ciRoutes(ci()) });
    firstCalls = sb.calls();
  });

  describe("scenario 1: full apply", () => {
    it("runs every CI-server step over SSH, each read before its write, and succeeds", () => {
      assert.equal(first.error, undefined, String(first.error));
      assert.deepEqual(first.executed.map((e) => e.name), WRITE_ORDER);
      for (const e of first.executed.filter((x) => x.name.endsWith("-write"))) assert.match(e.stdout, /^wrote: /, e.name);
    });

    it("leaves each file byte-identical to the write's stdin and to the pure core's output on the fixture", () => {
      const want = expectedCiFiles(config, first.run!);
      const stdinOf = (key: string) => contentOf(first.commands.find((c) => c.name === `ci-server-${key}-write`)!.stdin);
      for (const [key, p] of Object.entries(PATH_OF_KEY)) {
        const got = first.files[p]?.toString("utf8");
        assert.equal(got, stdinOf(key), `${p}: not what the program's write carried on stdin`);
        assert.equal(got, want[p], `${p}: not what the core computes from the fixture`);
      }
      // Sanity: the edits did something, and untouched bytes survive (the runner token, clone_url).
      assert.match(want[CI_PATHS.configToml], /token = "glrt-REDACTED"/);
      assert.match(want[CI_PATHS.configToml], /executor = "docker\+machine"/);
      assert.match(want[CI_PATHS.compose], /env_file: \.\/common\.env/);
    });

    it("keeps the original and a timestamped backup of each existing file under the state dir, 0700", async () => {
      const sb = ci();
      const tree = await listTree(sb, STATE_DIR);
      assert.deepEqual(tree.filter((e) => e.type === "d").map((e) => [e.name, e.mode.toString(8)]),
        Object.values(KEYS).sort().map((k) => [k, "700"]));
      assert.equal(sb.stat(STATE_DIR).mode, 0o700);
      for (const [key, p] of Object.entries(PATH_OF_KEY)) {
        const names = await listDir(sb, `${STATE_DIR}/${key}`);
        if (key === KEYS.dropIn) {
          assert.ok(names.includes("original.absent"), `${key}: ${names}`);
          assert.equal(names.filter((n) => n.startsWith("backup-")).length, 0, `${key}: a new file has no backup`);
          continue;
        }
        const backups = names.filter((n) => n.startsWith("backup-"));
        assert.equal(backups.length, 1, `${key}: ${names}`);
        assert.match(backups[0], TIMESTAMPED);
        assert.ok(names.includes("original"), `${key}: ${names}`);
        for (const b of ["original", backups[0]]) {
          assert.ok(sb.readFile(`${STATE_DIR}/${key}/${b}`).equals(original[p]!), `${key}/${b} is not the original bytes`);
        }
      }
    });

    it("keeps owners and modes (config.toml root 0600, compose and common.env ec2-user 0664)", () => {
      const sb = ci();
      for (const [p, before] of Object.entries(originalStats)) {
        const now = sb.stat(p);
        assert.deepEqual({ owner: now.owner, uid: now.uid, gid: now.gid, mode: now.mode.toString(8) },
          { owner: before.owner, uid: before.uid, gid: before.gid, mode: before.mode.toString(8) }, p);
      }
      assert.equal(sb.stat(CI_PATHS.configToml).mode, 0o600);
      assert.equal(sb.stat(CI_PATHS.compose).owner, "ec2-user");
      assert.equal(sb.stat(CI_PATHS.dockerDropIn).owner, "root");
    });

    it("reloads dockerd for live-restore, then restarts it exactly once for the drop-in", () => {
      const systemctl = firstCalls.filter((c) => c.startsWith("systemctl "));
      assert.deepEqual(systemctl, ["systemctl reload docker", "systemctl daemon-reload", "systemctl restart docker"]);
      const recs = ci().callRecords().filter((r) => r.cmd === "systemctl");
      assert.ok(recs.every((r) => r.user === "root"), "systemctl ran as root");
    });

    it("recreates only gitlab-runner (up -d --no-deps gitlab-runner); never gitlab, a plain up, down or restart", () => {
      const ups = composeUps(firstCalls);
      assert.ok(ups.length >= 1, `no compose up at all: ${firstCalls.join("\n")}`);
      for (const u of ups) assert.equal(u, "docker compose up -d --no-deps gitlab-runner");
      // The only kill: SIGQUIT to the runner before each recreate, so that its jobs can finish.
      assert.deepEqual(firstCalls.filter((c) => /\b(down|restart|stop|rm|kill)\b/.test(c) && !c.startsWith("systemctl ") && c !== "docker kill --signal=QUIT gitlab-runner"), []);
      assert.deepEqual(firstCalls.filter((c) => /\bgitlab\b(?!-)/.test(c.replace(/--project-directory \S+/, ""))), [], "GitLab was touched");
    });

    it("9: leaks no secret canary (command lines, outputs, process lists, logs, readable files)", () => {
      assertNoCanaryLeaks(ci(), { commands: first.commands, executed: first.executed });
    });

    it("every create and delete script of the run passes shellcheck -s sh", () => {
      assert.ok(assertScriptsPassShellcheck(first.commands) >= 8);
    });
  });

  describe("scenario 3: a second apply with the same settings", () => {
    let latest: ApplyResult;

    it("gives every remote command the same inputs as the first run, so the engine would run none", async () => {
      const sb = ci();
      sb.clearCalls();
      const byName = new Map(first.executed.map((e) => [e.name, e]));
      // The engine keeps the read's recorded stdout while its inputs are unchanged: replay it.
      const replay = await apply(config, {
        routes: ciRoutes(ci()),
        intercept: (cmd) => {
          const e = byName.get(cmd.name);
          assert.ok(e, `${cmd.name} did not run the first time`);
          return { code: 0, stdout: e.stdout, stderr: e.stderr };
        },
      });
      assert.equal(replay.error, undefined, String(replay.error));
      const inputs = (r: ApplyResult) => new Map(r.run!.engine.resources.map((x) => [`${x.type}::${x.name}`, JSON.stringify(unwrapSecrets(x.inputs))]));
      const a = inputs(first);
      const b = inputs(replay);
      assert.deepEqual([...b.keys()], [...a.keys()]);
      const differ = [...a.keys()].filter((k) => a.get(k) !== b.get(k));
      assert.deepEqual(differ, [], "inputs changed between two runs with the same settings");
      assert.deepEqual(sb.calls(), [], "the replay must not touch the server");
    });

    it("re-running each write script with its same stdin prints unchanged and changes nothing", async () => {
      const sb = ci();
      const files = readFiles(sb, Object.values(CI_PATHS));
      const state = await listTree(sb, STATE_DIR);
      const stateBytes = Object.fromEntries(state.filter((e) => e.type === "f" && !/^[^/]+\/(written|owner)$/.test(e.name))
        .map((e) => [e.name, sb.readFile(`${STATE_DIR}/${e.name}`).toString("base64")]));
      sb.clearCalls();
      for (const c of first.commands.filter((x) => x.name.endsWith("-write"))) {
        const r = await sb.exec(c.create, { stdin: c.stdin });
        assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
        assert.match(r.stdout, /^unchanged: /, c.name);
      }
      assert.deepEqual(readFiles(sb, Object.values(CI_PATHS)), files);
      const after = await listTree(sb, STATE_DIR);
      assert.deepEqual(after.map((e) => e.name), state.map((e) => e.name), "new backups or markers appeared");
      for (const [n, b64] of Object.entries(stateBytes)) assert.equal(sb.readFile(`${STATE_DIR}/${n}`).toString("base64"), b64, n);
      assert.deepEqual(sb.calls(), [], "an unchanged write must not restart or recreate anything");
    });

    it("a fresh apply (every read re-run) finds every file as wanted: all writes unchanged, nothing restarted", async () => {
      const sb = ci();
      const files = readFiles(sb, Object.values(CI_PATHS));
      sb.clearCalls();
      latest = await apply(config, { routes: ciRoutes(ci()) });
      assert.equal(latest.error, undefined, String(latest.error));
      for (const e of latest.executed.filter((x) => x.name.endsWith("-write"))) assert.match(e.stdout, /^unchanged: /, e.name);
      assert.deepEqual(latest.files, files);
      // (The engine would not re-run the unchanged worker notice; run here, it only looks.)
      assert.deepEqual(sb.calls().filter((c) => !isWorkerQuery(c)), []);
      // The writes' content is the same; only the expected state (now the written file) differs.
      for (const c of latest.commands.filter((x) => x.name.endsWith("-write"))) {
        const old = first.commands.find((x) => x.name === c.name)!;
        assert.equal(contentOf(c.stdin), contentOf(old.stdin), c.name);
        assert.equal(c.create, old.create, c.name);
      }
    });

    it("9: leaks no secret canary", () => {
      assertNoCanaryLeaks(ci(), { commands: latest?.commands, executed: latest?.executed });
    });

    describe("scenario 7: destroy", () => {
      let deleted: Deleted[];

      it("the deletes of the superseded (first) writes leave every file alone", async () => {
        const sb = ci();
        const files = readFiles(sb, Object.values(CI_PATHS));
        sb.clearCalls();
        // The worker cleanup is one resource in both runs (same inputs): its delete runs once, below.
        const done = await destroy(first.commands.filter((c) => c.name !== "workers-cleanup"), ciRoutes(ci()));
        for (const d of done.filter((x) => x.name.endsWith("-write"))) {
          assert.match(d.stdout, /nothing to restore: .* written since by a newer pulumi resource/, d.name);
        }
        assert.deepEqual(readFiles(sb, Object.values(CI_PATHS)), files);
        assert.deepEqual(sb.calls(), []);
      });

      it("puts every edited file back to its original bytes, owner and mode, and removes the drop-in", async () => {
        const sb = ci();
        sb.clearCalls();
        deleted = await destroy(latest.commands, ciRoutes(ci()));
        assert.deepEqual(deleted.map((d) => d.name), [...WRITE_ORDER].reverse().filter((n) => n.endsWith("-write") || n === "workers-cleanup"));
        assert.match(deleted.find((d) => d.name === "workers-cleanup")!.stdout, /: 0 found, 0 still managed with the current settings\nno worker to remove\n$/);
        const now = readFiles(sb, Object.values(CI_PATHS));
        for (const p of [CI_PATHS.compose, CI_PATHS.commonEnv, CI_PATHS.configToml, CI_PATHS.daemonJson]) {
          assert.ok(now[p]?.equals(original[p]!), `${p} is not back to its original bytes (sha ${now[p] && sha256Hex(now[p]!)})`);
          const st = sb.stat(p);
          assert.deepEqual([st.owner, st.mode.toString(8)], [originalStats[p].owner, originalStats[p].mode.toString(8)], p);
        }
        assert.equal(now[CI_PATHS.dockerDropIn], null, "the docker drop-in is still there");
        assert.ok(sb.exists("/etc/systemd/system/docker.service.d"), "the operator's drop-in dir stays");
        assert.ok(original[CI_PATHS.compose]!.equals(fixtureBytes("ci-docker-compose.yml")));
      });

      it("restarts dockerd once (live-restore still on), then reloads it without live-restore, and recreates gitlab-runner to drop env_file", () => {
        const calls = ci().calls();
        assert.deepEqual(calls.filter((c) => c.startsWith("systemctl ")), ["systemctl daemon-reload", "systemctl restart docker", "systemctl reload docker"]);
        const ups = composeUps(calls);
        assert.ok(ups.length >= 1);
        for (const u of ups) assert.equal(u, "docker compose up -d --no-deps gitlab-runner");
        // The runner is recreated after docker-compose.yml lost env_file (compose-proxy's delete).
        const composeRestore = deleted.find((d) => d.name === "ci-server-compose-proxy-write")!;
        assert.match(composeRestore.stdout, /restored: .*docker-compose\.yml/);
      });

      it("keeps the timestamped backups and clears the markers", async () => {
        const tree = await listTree(ci(), STATE_DIR);
        const files = tree.filter((e) => e.type === "f").map((e) => e.name);
        assert.deepEqual(files.filter((n) => /\/(original|original\.absent|written|owner)$/.test(n)), []);
        for (const key of [KEYS.commonEnv, KEYS.compose, KEYS.configToml]) {
          assert.ok(files.some((n) => n.startsWith(`${key}/backup-`)), `${key}: backups gone`);
        }
      });

      it("9: leaks no secret canary", () => {
        assertNoCanaryLeaks(ci(), { commands: latest?.commands });
      });
    });
  });
});
