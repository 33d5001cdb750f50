// Issue #4, scenarios 4, 5 and 6: the guards of the guarded write, exercised through the real
// program's commands on Collaborage 2.1.0 sandboxes: a hand edit between read and write, a compose
// file that fails validation, and writes interrupted at their worst moments.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { apply, ciRoutes, CI_PATHS, hostStackConfig, STATE_DIR, type ApplyResult } from "../programRun";
import { CI_APP_DIR } from "../layouts";
import { type ExecResult, type Proc, type Sandbox, useSandbox } from "../sandbox";
import { assertNoCanaryLeaks, composeUps, descendants, kill, listDir, waitFor } from "./checks";
import { contentOf, expectedCiFiles, fixtureBytes } from "./expected";

const CONFIG_DIR = "/data/gitlab-runner/config";
const tmpFiles = async (sb: Sandbox, dir: string) => (await listDir(sb, dir)).filter((n) => n.startsWith(".gra-"));

/** The guarded write's own shell (not sudo's), found by the target it names. */
function scriptShell(sb: Sandbox, target: string): Proc | undefined {
  return sb.processes().find((p) => p.args.startsWith("sh -c ") && p.args.includes(`target='${target}'`));
}

/** Starts a command over ssh like the provider, with stdin under the test's control. */
function startSsh(sb: Sandbox, script: string) {
  const ssh = spawn("/usr/bin/ssh", [...sb.sshArgs(), script], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  ssh.stdout.on("data", (b) => (stdout += b));
  ssh.stderr.on("data", (b) => (stderr += b));
  ssh.stdin.on("error", () => undefined);
  const closed = new Promise<ExecResult>((resolve) =>
    ssh.on("close", (code, signal) => resolve({ code: code ?? (signal ? 255 : -1), stdout, stderr })));
  return { ssh, closed };
}

describe("host scenario 4: a hand edit of config.toml between the read and the write", function () {
  this.timeout(120_000);
  const ci = useSandbox("ci-2.1.0");
  let run: ApplyResult;
  let handEdited: string;

  before(async () => {
    const sb = ci();
    run = await apply(hostStackConfig(sb), {
      routes: ciRoutes(sb),
      before: (name) => {
        if (name !== "ci-server-config-toml-write") return;
        // What the runner does when it rotates its token: it rewrites config.toml.
        handEdited = sb.readFile(CI_PATHS.configToml).toString("utf8").replace('token = "glrt-REDACTED"', 'token = "glrt-ROTATED"');
        assert.match(handEdited, /glrt-ROTATED/);
        sb.writeFile(CI_PATHS.configToml, handEdited, { owner: "root", mode: 0o600 });
      },
    });
  });

  it("the write refuses with exit 3 (compare-and-swap) and says what to do", () => {
    assert.ok(run.error, "the write must fail");
    assert.match(run.error.message, /ci-server-config-toml-write failed with exit code 3/);
    assert.match(run.error.message, /changed on the server since it was read/);
    assert.match(run.error.message, /nothing was written/);
    assert.match(run.error.message, /pulumi up --replace '[^']*ci-server-config-toml-read'/, "names the command to run");
  });

  it("keeps the hand edit byte for byte, root 0600, with no backup, marker or temp file", async () => {
    const sb = ci();
    assert.equal(sb.readFile(CI_PATHS.configToml).toString("utf8"), handEdited);
    assert.deepEqual([sb.stat(CI_PATHS.configToml).owner, sb.stat(CI_PATHS.configToml).mode.toString(8)], ["root", "600"]);
    assert.deepEqual(await listDir(sb, `${STATE_DIR}/config-toml`), []);
    assert.deepEqual(await tmpFiles(sb, CONFIG_DIR), []);
  });

  it("following the advice (read again, merge anew) succeeds and keeps the rotated token", async () => {
    const sb = ci();
    const again = await apply(hostStackConfig(sb), { routes: ciRoutes(sb) });
    assert.equal(again.error, undefined, String(again.error));
    const text = sb.readFile(CI_PATHS.configToml).toString("utf8");
    assert.match(text, /token = "glrt-ROTATED"/);
    assert.match(text, /executor = "docker\+machine"/);
    assert.equal(text, contentOf(again.commands.find((c) => c.name === "ci-server-config-toml-write")!.stdin));
  });

  it("9: leaks no secret canary", () => {
    assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed });
  });
});

describe("host scenario 5: the edited compose file fails validation (common.env deleted meanwhile)", function () {
  this.timeout(120_000);
  const ci = useSandbox("ci-2.1.0");
  let run: ApplyResult;
  let callsAfterDelete: string[] = [];

  before(async () => {
    const sb = ci();
    run = await apply(hostStackConfig(sb), {
      routes: ciRoutes(sb),
      before: async (name) => {
        if (name !== "ci-server-compose-proxy-write") return;
        // The operator removes common.env after the program read and wrote it: the new env_file
        // then names a missing file, which docker compose rejects.
        const r = await sb.exec(`sudo -n rm -f '${CI_PATHS.commonEnv}'`);
        assert.equal(r.code, 0, r.stderr);
        sb.clearCalls();
      },
    });
    callsAfterDelete = sb.calls();
  });

  it("the write fails with exit 4 and shows why compose rejected it", () => {
    assert.ok(run.error, "the write must fail");
    assert.match(run.error.message, /ci-server-compose-proxy-write failed with exit code 4/);
    assert.match(run.error.message, /failed 'compose config -q'/);
    assert.match(run.error.message, /common\.env/, "compose's own message names the missing env file");
    assert.match(run.error.message, /left untouched/);
  });

  it("leaves docker-compose.yml untouched (bytes, owner, mode) and recreates no service", async () => {
    const sb = ci();
    assert.ok(sb.readFile(CI_PATHS.compose).equals(fixtureBytes("ci-docker-compose.yml")));
    assert.deepEqual([sb.stat(CI_PATHS.compose).owner, sb.stat(CI_PATHS.compose).mode.toString(8)], ["ec2-user", "664"]);
    assert.deepEqual(composeUps(callsAfterDelete), [], callsAfterDelete.join("\n"));
    assert.ok(callsAfterDelete.some((c) => / config -q$/.test(c)), "validation ran");
    assert.deepEqual(await listDir(sb, `${STATE_DIR}/compose-proxy`), []);
    assert.deepEqual(await tmpFiles(sb, CI_APP_DIR), []);
    assert.deepEqual(run.attempted.filter((n) => /docker-dropin|config-toml/.test(n)), [], "nothing runs after the failure");
  });

  it("9: leaks no secret canary", () => {
    assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed });
  });
});

describe("host scenario 6: interrupted writes", function () {
  this.timeout(180_000);

  describe("the connection drops while config.toml's new content is still arriving on stdin", () => {
    const ci = useSandbox("ci-2.1.0");
    let run: ApplyResult;
    let wanted: string;
    let old: Buffer;
    const snapshots: string[] = [];

    before(async () => {
      const sb = ci();
      old = sb.readFile(CI_PATHS.configToml);
      run = await apply(hostStackConfig(sb), {
        routes: ciRoutes(sb),
        intercept: async (cmd) => {
          if (cmd.name !== "ci-server-config-toml-write") return undefined;
          wanted = contentOf(cmd.stdin);
          const { ssh, closed } = startSsh(sb, cmd.create);
          ssh.stdin.write(cmd.stdin!.slice(0, Math.floor(cmd.stdin!.length / 2)));
          await waitFor("the write script", () => scriptShell(sb, CI_PATHS.configToml));
          await new Promise((r) => setTimeout(r, 500));
          snapshots.push(sb.processSnapshot()); // a write in progress, its secret stdin half sent
          ssh.kill("SIGKILL"); // pulumi killed, laptop closed, network gone
          const r = await closed;
          await waitFor("the remote script to end", () => !scriptShell(sb, CI_PATHS.configToml));
          return { ...r, code: 255, stderr: `${r.stderr}connection lost (test)` };
        },
      });
    });

    it("the apply reports the failure", () => {
      assert.ok(run.error);
      assert.match(run.error.message, /ci-server-config-toml-write failed/);
    });

    it("config.toml is the old or the new content, never a truncated one", () => {
      const now = ci().readFile(CI_PATHS.configToml);
      const state = now.equals(old) ? "old" : now.toString("utf8") === wanted ? "new" : `partial (${now.length} of ${Buffer.byteLength(wanted)} bytes)`;
      assert.ok(state === "old" || state === "new",
        `config.toml is ${state}: the guarded write took the EOF of a dropped connection for the end of the content and renamed the truncated temp file into place`);
    });

    it("a temp file it leaves is private (0600), and a later apply succeeds with the wanted content", async () => {
      const sb = ci();
      const left = await tmpFiles(sb, CONFIG_DIR);
      for (const n of left) assert.equal(sb.stat(`${CONFIG_DIR}/${n}`).mode, 0o600, `${CONFIG_DIR}/${n}`);
      const next = await apply(hostStackConfig(sb), { routes: ciRoutes(sb) });
      assert.equal(next.error, undefined, String(next.error));
      assert.equal(sb.readFile(CI_PATHS.configToml).toString("utf8"), wanted);
      assert.deepEqual(await tmpFiles(sb, CONFIG_DIR), left, "the later apply leaves no temp file of its own");
    });

    it("9: leaks no secret canary (incl. the process list while the write ran)", () => {
      assert.ok(snapshots.length > 0 && snapshots[0].includes("target='/data/gitlab-runner/config/config.toml'"), "the snapshot shows the running write");
      assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed, snapshots });
    });
  });

  describe("the remote script is SIGKILLed between its temp write and its rename", () => {
    const ci = useSandbox("ci-2.1.0");
    let oldCompose: Buffer;
    let oldToml: Buffer;
    const snapshots: string[] = [];
    const leftovers: { compose: string[]; toml: string[] } = { compose: [], toml: [] };
    let latest: ApplyResult;

    /** SIGKILL the write's shell first (so it cannot go on to rename), then everything under it. */
    function killScript(sb: Sandbox, target: string): void {
      const sh = scriptShell(sb, target);
      assert.ok(sh, "the write script is running");
      const under = descendants(sb.processes(), sh.pid);
      kill(sh.pid);
      for (const p of under) kill(p.pid);
    }

    it("killed while compose validates the temp file: docker-compose.yml keeps its old bytes", async () => {
      const sb = ci();
      oldCompose = sb.readFile(CI_PATHS.compose);
      const run = await apply(hostStackConfig(sb), {
        routes: ciRoutes(sb),
        intercept: async (cmd) => {
          if (cmd.name !== "ci-server-compose-proxy-write") return undefined;
          const { ssh, closed } = startSsh(sb, cmd.create);
          ssh.stdin.end(cmd.stdin);
          // The seam: the new content is complete in the temp file, being validated, not yet renamed.
          // The validating stand-in itself: the login shell's, sudo's and sh's argv hold the whole
          // script, and so its text, before the script has got that far.
          await waitFor("compose config -q on the temp file", () =>
            sb.processes().find((p) => p.args.startsWith("/usr/bin/python3 -I -S /.sandbox/standin.py ") && p.args.includes(" config -q") && p.args.includes(".gra-tmp.")), 30_000, 5);
          snapshots.push(sb.processSnapshot());
          killScript(sb, CI_PATHS.compose);
          return closed;
        },
      });
      assert.ok(run.error, "the killed write fails the apply");
      assert.ok(sb.readFile(CI_PATHS.compose).equals(oldCompose), "docker-compose.yml changed");
      assert.deepEqual(composeUps(sb.calls()).length, 1, "only common.env's recreate ran; none for the killed write");
      leftovers.compose = await tmpFiles(sb, CI_APP_DIR);
    });

    it("killed while its stdin is still arriving: config.toml keeps its old bytes", async () => {
      const sb = ci();
      oldToml = sb.readFile(CI_PATHS.configToml);
      const run = await apply(hostStackConfig(sb), {
        routes: ciRoutes(sb),
        intercept: async (cmd) => {
          if (cmd.name !== "ci-server-config-toml-write") return undefined;
          const { ssh, closed } = startSsh(sb, cmd.create);
          ssh.stdin.write(cmd.stdin!.slice(0, Math.floor(cmd.stdin!.length / 2)));
          await waitFor("the write script", () => scriptShell(sb, CI_PATHS.configToml));
          await new Promise((r) => setTimeout(r, 300));
          snapshots.push(sb.processSnapshot());
          killScript(sb, CI_PATHS.configToml);
          ssh.stdin.end();
          return closed;
        },
      });
      assert.ok(run.error, "the killed write fails the apply");
      assert.match(run.executed.find((e) => e.name === "ci-server-compose-proxy-write")!.stdout, /^wrote: /, "the compose write went through this time");
      assert.ok(sb.readFile(CI_PATHS.configToml).equals(oldToml), "config.toml changed");
      leftovers.toml = await tmpFiles(sb, CONFIG_DIR);
    });

    it("a temp file a SIGKILL leaves is no more readable than its target, and does not break the next apply", async () => {
      const sb = ci();
      // mktemp makes it 0600; just before validation it takes the target's owner and mode (so that
      // the rename keeps them), and a kill after that leaves it with exactly the target's mode.
      for (const [dir, names, target] of [[CI_APP_DIR, leftovers.compose, CI_PATHS.compose], [CONFIG_DIR, leftovers.toml, CI_PATHS.configToml]] as const) {
        for (const n of names) assert.ok([0o600, sb.stat(target).mode].includes(sb.stat(`${dir}/${n}`).mode), `${dir}/${n}`);
      }
      const next = await apply(hostStackConfig(sb), { routes: ciRoutes(sb) });
      latest = next;
      assert.equal(next.error, undefined, String(next.error));
      const want = expectedCiFiles(hostStackConfig(sb), next.run!);
      for (const p of Object.values(CI_PATHS)) assert.equal(sb.readFile(p).toString("utf8"), want[p], p);
      assert.deepEqual(await tmpFiles(sb, CI_APP_DIR), leftovers.compose, "the next apply leaves no temp file of its own");
      assert.deepEqual(await tmpFiles(sb, CONFIG_DIR), leftovers.toml);
    });

    it("a first write killed after its rename but before its markers: destroy still restores the original", async () => {
      // No command runs between `mv` and `put written` to stop at, so the state such a SIGKILL
      // (or power loss) leaves is made by hand: the new content in place, the original saved,
      // no written/owner marker. The next apply then finds the content as wanted.
      const sb = ci();
      const sd = `${STATE_DIR}/config-toml`;
      assert.ok(sb.exists(`${sd}/original`) && sb.exists(`${sd}/written`), "the previous test wrote config.toml");
      const rm = await sb.exec(`sudo -n rm -f '${sd}/written' '${sd}/owner'`);
      assert.equal(rm.code, 0, rm.stderr);
      const w = latest.commands.find((c) => c.name === "ci-server-config-toml-write")!;
      const again = await sb.exec(w.create, { stdin: w.stdin });
      assert.match(again.stdout, /^unchanged: /);
      const del = await sb.exec(w.delete!, { stdin: w.stdin });
      assert.equal(del.code, 0, del.stderr);
      assert.ok(sb.readFile(CI_PATHS.configToml).equals(fixtureBytes("config.toml")),
        `destroy left the edited config.toml in place (delete said: ${del.stdout.trim()}); the "unchanged" path does not restore the written marker when an original was saved`);
    });

    it("9: leaks no secret canary (incl. process lists of the killed writes)", () => {
      assert.equal(snapshots.length, 2);
      assertNoCanaryLeaks(ci(), { snapshots });
    });
  });
});
