import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseReadResult, readResultLine, sha256Hex } from "../../../core/remote/readResult";
import {
  appendBlockScript, checkKey, dockerInstallScript, dockerProxyCheckScript, guardedWriteScript,
  guardedWriteStdin, installFileScript, readFileScript, restoreScript, STATE_DIR,
  type AfterAction, type ComposeContext, type GuardedWrite, type ScriptOptions,
} from "../../../core/remote/scripts";
import { reverseEdit, type LineFormat } from "../../../core/remote/reverseEdit";
import { shComment, shQuote, shQuoteScript } from "../../../core/remote/shell";
import { shFileLines } from "../../helpers/shFiles";

// ---- sandbox: the scripts run for real under /bin/sh with stand-ins for docker and systemctl ----

const STUBS: Record<string, string> = {
  docker: `#!/bin/sh
printf '%s\\n' "docker $*" >> "$STUB_LOG"
case "$1" in
  --version) echo "Docker version 0.0-stub"; exit 0 ;;
  info)
    case "$*" in
      *LiveRestoreEnabled*) cat "$STUB_DIR/live" 2>/dev/null || echo "\${STUB_LIVE_RESTORE-true}" ;;
      *LocalNodeState*) echo "\${STUB_SWARM-inactive}" ;;
      *) printf '%s\\n' "\${STUB_INFO- HTTP Proxy: http://xxxxx:xxxxx@proxy:3128}" ;;
    esac
    exit 0 ;;
  inspect)
    case "$*" in *State.Running*) cat "$STUB_DIR/running" 2>/dev/null || echo "\${STUB_RUNNING-true}"; exit 0 ;; esac
    # One status per call from $STUB_DIR/health; the last line repeats.
    f="$STUB_DIR/health"
    [ -s "$f" ] || { echo healthy; exit 0; }
    head -n 1 "$f"
    if [ "$(wc -l < "$f")" -gt 1 ]; then tail -n +2 "$f" > "$f.next"; mv "$f.next" "$f"; fi
    exit 0 ;;
  kill) [ -n "\${STUB_KILL_IGNORED-}" ] || echo false > "$STUB_DIR/running"; exit 0 ;;
  logs) printf '%s\n' "\${STUB_LOGS-}" >&2; exit "\${STUB_LOGS_RC:-0}" ;;
  compose)
    [ "$2" = version ] && { [ "\${STUB_COMPOSE_V2:-1}" = 1 ] && echo "Docker Compose version v2-stub" && exit 0; exit 1; }
    shift; exec "$STUB_DIR/compose-impl" "$@" ;;
esac
exit 0
`,
  "compose-impl": `#!/bin/sh
prev=
for a in "$@"; do
  [ "$prev" = -f ] && cp "$a" "$STUB_DIR/validated"
  case $a in
    config) exit "\${STUB_CONFIG_RC:-0}" ;;
    up) exit "\${STUB_UP_RC:-0}" ;;
  esac
  prev=$a
done
exit 0
`,
  "docker-compose": `#!/bin/sh
printf '%s\\n' "docker-compose $*" >> "$STUB_LOG"
exec "$STUB_DIR/compose-impl" "$@"
`,
  systemctl: `#!/bin/sh
printf '%s\\n' "systemctl $*" >> "$STUB_LOG"
[ "$1" = restart ] && exit "\${STUB_RESTART_RC:-0}"
[ "$1" = reload ] && [ -n "\${STUB_RELOAD_SETS-}" ] && echo "$STUB_RELOAD_SETS" > "$STUB_DIR/live"
exit 0
`,
  sleep: `#!/bin/sh
printf '%s\\n' "sleep $*" >> "$STUB_LOG"
`,
};

interface Sandbox {
  dir: string;
  stateDir: string;
  bin: string;
  opts: ScriptOptions;
  env: NodeJS.ProcessEnv;
  log(): string[];
  file(rel: string, content: string | Buffer, mode?: number): string;
}

const tmpRoots: string[] = [];
after(() => tmpRoots.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function sandbox(shell: string, stubs: string[] = Object.keys(STUBS), pathTail = "/usr/bin:/bin"): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-scripts-"));
  tmpRoots.push(dir);
  const bin = path.join(dir, "bin");
  const stubDir = path.join(dir, "stub");
  fs.mkdirSync(bin);
  fs.mkdirSync(stubDir);
  for (const name of stubs) {
    const where = name === "compose-impl" ? stubDir : bin;
    fs.writeFileSync(path.join(where, name), STUBS[name], { mode: 0o755 });
  }
  fs.writeFileSync(path.join(stubDir, "compose-impl"), STUBS["compose-impl"], { mode: 0o755 });
  // `sh -c` in the scripts finds this first: the same tests run under dash and under bash-as-sh.
  fs.symlinkSync(shell, path.join(bin, "sh"));
  const log = path.join(dir, "calls.log");
  fs.writeFileSync(log, "");
  const stateDir = path.join(dir, "state");
  return {
    dir,
    stateDir,
    bin,
    opts: { stateDir, sudo: false },
    env: { PATH: `${bin}:${pathTail}`, HOME: dir, STUB_LOG: log, STUB_DIR: stubDir, LC_ALL: "C" },
    log: () => fs.readFileSync(log, "utf8").split("\n").filter(Boolean),
    file(rel, content, mode = 0o644) {
      const p = path.join(dir, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
      fs.chmodSync(p, mode);
      return p;
    },
  };
}

interface RunResult { status: number | null; stdout: string; stderr: string }

function run(sb: Sandbox, script: string, input?: string | Buffer, env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync(path.join(sb.bin, "sh"), ["-c", script], {
    input: input ?? "", env: { ...sb.env, ...env }, encoding: "utf8", timeout: 30000, cwd: sb.dir,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (s: string | Buffer) => sha256Hex(s);
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8).padStart(4, "0");
const backups = (sb: Sandbox, key: string) =>
  fs.existsSync(path.join(sb.stateDir, key)) ? fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => f.startsWith("backup-")) : [];
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith(".gra-"));
const stateFile = (sb: Sandbox, key: string, f: string) => path.join(sb.stateDir, key, f);

/** What a component does: read, merge (here: replace), write with the hash that was read. */
function readThenWrite(sb: Sandbox, w: GuardedWrite, content: string, env: NodeJS.ProcessEnv = {}): RunResult {
  const read = parseReadResult(run(sb, readFileScript(w.path, sb.opts)).stdout);
  return run(sb, guardedWriteScript(w, sb.opts), guardedWriteStdin(read.sha256 ?? "absent", content), env);
}

/** As the component writes: the new content and the reverse edit back to what was read. */
function editWrite(sb: Sandbox, w: GuardedWrite, content: string, env: NodeJS.ProcessEnv = {}, format: LineFormat = "yaml"): RunResult {
  const read = parseReadResult(run(sb, readFileScript(w.path, sb.opts)).stdout);
  const rev = read.exists && read.content !== content ? reverseEdit(format, content, read.content) : undefined;
  return run(sb, guardedWriteScript(w, sb.opts), guardedWriteStdin(read.sha256 ?? "absent", content, rev), env);
}

// ---- pure ----------------------------------------------------------------------------------------

describe("core/remote/shell quoting", () => {
  const hostile = ["it's", "$(touch pwned)", "`touch pwned`", "a\\b", '"; rm -rf / #', "${HOME}", "*", "-n", "", "日本語"];

  it("shQuote round-trips hostile values through a real sh", () => {
    for (const v of hostile) {
      const r = spawnSync("/bin/sh", ["-c", `printf '%s' ${shQuote(v)}`], { encoding: "utf8", cwd: os.tmpdir() });
      assert.equal(r.stdout, v);
    }
    assert.equal(shQuote("it's"), `'it'\\''s'`);
  });

  it("refuses newlines and NUL with a clear error", () => {
    assert.throws(() => shQuote("a\nb", "path"), /path must be one line/);
    assert.throws(() => shQuote("a\rb"), /one line/);
    assert.throws(() => shQuote("a\0b"), /one line/);
    assert.throws(() => shComment("x\nrm -rf /"), /comment line must be one line/);
    assert.throws(() => shQuoteScript("a\0"), /NUL/);
  });
});

describe("core/remote/scripts builders", () => {
  const w: GuardedWrite = {
    key: "compose-proxy",
    path: "/home/ec2-user/nop/docker/ci/docker-compose.yml",
    newFileMode: "0644",
    validate: { compose: { appDir: "/home/ec2-user/nop/docker/ci", command: "docker compose" } },
    after: {
      kind: "compose-up",
      compose: { appDir: "/home/ec2-user/nop/docker/ci", command: "docker compose" },
      services: ["gitlab-runner"],
      waitHealthy: { container: "gitlab", timeoutSeconds: 600, pollSeconds: 5 },
    },
    summary: ["services.gitlab-runner.env_file += ./common.env"],
  };

  it("guardedWriteScript: exact output (preamble, shared functions, after-action file, guarded-write.sh)", () => {
    // The script files as a reader sees them, each less its leading comment block, after a line naming it.
    const file = (rel: string) => shFileLines(rel).join("\n") + "\n";
    const body = [
      "set -eu",
      "target='/home/ec2-user/nop/docker/ci/docker-compose.yml'",
      "dir='/home/ec2-user/nop/docker/ci'",
      "root='/var/lib/gitlab-runner-autoscaling'",
      "sd='/var/lib/gitlab-runner-autoscaling/compose-proxy'",
      "hint='Run \"pulumi refresh\" and then \"pulumi up\" again so that the file is read again and merged anew.'",
      "new_mode='0644'",
      "keep=5",
      "compose_cmd='docker compose'",
      "validate_dir='/home/ec2-user/nop/docker/ci'",
      "has_after=1",
      // The after-action's parameters.
      "compose_dir='/home/ec2-user/nop/docker/ci'",
      "services='gitlab-runner'",
      "has_stop=0",
      "stop_container=''",
      "stop_timeout=0",
      "stop_poll=0",
      "has_health=1",
      "health_container='gitlab'",
      "health_timeout=600",
      "health_poll=5",
    ].join("\n") + "\n" +
      ["lib/die.sh", "lib/state_of.sh", "lib/put.sh", "lib/keep_reverse.sh", "lib/stamp.sh", "lib/prune.sh", "lib/no_link.sh", "lib/compose_select.sh", "lib/signal_traps.sh", "lib/tmp_in_dir.sh",
        "lib/stop_gracefully.sh", "lib/wait_healthy.sh", "after/compose-up.sh"].map(file).join("") +
      file("guarded-write.sh");
    const expected =
      "# gitlab-runner-autoscaling: guarded write of /home/ec2-user/nop/docker/ci/docker-compose.yml (state compose-proxy)\n" +
      "# services.gitlab-runner.env_file += ./common.env\n" +
      `sudo -n sh -c '${body.replace(/'/g, `'\\''`)}'`;
    assert.equal(guardedWriteScript(w), expected);
  });

  it("puts the summary as comments before the command and the defaults are production ones", () => {
    const s = guardedWriteScript({ ...w, summary: ["IdleTime = 1800", "token = [secret]"] });
    const [l1, l2, l3, l4] = s.split("\n");
    assert.match(l1, /^# gitlab-runner-autoscaling: guarded write of /);
    assert.equal(l2, "# IdleTime = 1800");
    assert.equal(l3, "# token = [secret]");
    assert.match(l4, /^sudo -n sh -c 'set -eu$/);
    assert.ok(s.includes(`sd='\\''${STATE_DIR}/compose-proxy'\\''`));
  });

  it("validates keys", () => {
    for (const ok of ["config-toml", "compose-proxy", "common-env", "docker-dropin", "a1"]) assert.equal(checkKey(ok), ok);
    for (const bad of ["", "Config", "../x", "a/b", "a b", "-x", "a_b", "a.b"]) {
      assert.throws(() => checkKey(bad), /key must match/);
      assert.throws(() => guardedWriteScript({ ...w, key: bad }), /key must match/);
    }
  });

  it("rejects hostile or malformed values with a clear error", () => {
    assert.throws(() => guardedWriteScript({ ...w, path: "/x\n; reboot" }), /path must be one line/);
    assert.throws(() => guardedWriteScript({ ...w, path: "relative/file" }), /path must be absolute/);
    assert.throws(() => guardedWriteScript({ ...w, summary: ["a\nrm -rf /"] }), /comment line must be one line/);
    assert.throws(() => guardedWriteScript({ ...w, newFileMode: "rw" }), /newFileMode must be octal/);
    const up = w.after as Extract<AfterAction, { kind: "compose-up" }>;
    for (const svc of ["-d", "a b", "$(x)", "x\ny", ""]) {
      assert.throws(() => guardedWriteScript({ ...w, after: { ...up, services: [svc] } }), /service must match/);
    }
    assert.throws(() => guardedWriteScript({ ...w, after: { ...up, services: [] } }), /at least one service/);
    assert.throws(() => guardedWriteScript({ ...w, after: { ...up, waitHealthy: { container: "gitlab", timeoutSeconds: 0, pollSeconds: 1 } } }), /timeoutSeconds/);
    assert.throws(() => guardedWriteScript({ ...w, validate: { compose: { appDir: "/a\nb", command: "auto" } } }), /one line/);
    // The compose checks (composeContext.ts's checkCompose) on each compose an action names.
    const bad = { appDir: "app", command: "podman-compose" } as unknown as ComposeContext;
    assert.throws(() => guardedWriteScript({ ...w, validate: { compose: { ...bad, command: "auto" } } }), /validate\.compose\.appDir must be absolute/);
    assert.throws(() => guardedWriteScript({ ...w, validate: { compose: { ...bad, appDir: "/a" } } }), /validate\.compose\.command must be auto, "docker compose" or docker-compose: "podman-compose"/);
    assert.throws(() => guardedWriteScript({ ...w, validate: undefined, after: { ...up, compose: { ...bad, command: "auto" } } }), /after\.compose\.appDir must be absolute/);
    const leave = (compose: ComposeContext): AfterAction => ({
      kind: "runner-reload", container: "gitlab-runner", timeoutSeconds: 15,
      restartLeavingAutoscaler: { compose, service: "gitlab-runner", gracefulStop: { container: "gitlab-runner", timeoutSeconds: 0 } },
    });
    assert.throws(() => guardedWriteScript({ ...w, validate: undefined, after: leave({ ...bad, appDir: "/a" }) }), /restartLeavingAutoscaler\.compose\.command must be auto/);
    assert.throws(() => appendBlockScript({ path: "~/.profile", marker: "a\\b" }), /marker must be plain text/);
    assert.throws(() => installFileScript({ path: "/etc/x", mode: "999" }), /mode must be octal/);
    assert.throws(() => guardedWriteStdin("nope", "x"), /expected state/);
  });

  it("never puts content in the command: it is the same for any content", () => {
    // The builders take no content at all; the proxy lines of the docker install come on stdin.
    assert.ok(!dockerInstallScript({ proxyEnvFromStdin: true }).includes("http://"));
  });
});

describe("core/remote/readResult", () => {
  const samples = ["", "a", "a\n", "no final newline", "x = 1\r\ny = 2\r\n", "日本語\nテキスト", "\uFEFFbom\n", "\n\n"];

  it("round-trips readResultLine and parseReadResult", () => {
    for (const s of samples) {
      const r = parseReadResult(readResultLine(s));
      assert.deepEqual(r, { exists: true, sha256: sha(Buffer.from(s, "utf8")), content: s });
      assert.deepEqual(parseReadResult(readResultLine(s) + "\n"), r, "a trailing newline is tolerated");
    }
    assert.equal(readResultLine(null), "v1 absent");
    assert.deepEqual(parseReadResult("v1 absent"), { exists: false, sha256: null, content: "" });
    assert.deepEqual(parseReadResult(`v1 ${sha("")}`).content, "", "empty file with its trailing space trimmed");
  });

  it("throws a clear error on malformed output", () => {
    const good = readResultLine("abc");
    const cases: [string, RegExp][] = [
      ["", /no v1 prefix/],
      ["absent", /no v1 prefix/],
      ["v2 absent", /no v1 prefix/],
      ["Welcome!\n" + good, /more than one line/],
      [`v1 ${"0".repeat(64)} YWJj`, /sha256 does not match/],
      [`v1 xyz YWJj`, /bad sha256/],
      [`v1 ${sha("abc")} YW!j`, /bad base64/],
      [`v1 ${sha("abc")} YWJj extra`, /wrong number of fields/],
    ];
    for (const [out, re] of cases) {
      assert.throws(() => parseReadResult(out), (e: Error) => re.test(e.message) && /unexpected output from the remote read/.test(e.message), out);
    }
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
    assert.throws(() => parseReadResult(`v1 ${sha(latin1)} ${latin1.toString("base64")}`), /not valid UTF-8/);
  });
});

// ---- scripts run for real ------------------------------------------------------------------------

for (const shell of ["/bin/dash", "/bin/bash"]) {
  describe(`core/remote/scripts run under ${path.basename(shell)} as sh`, function () {
    this.timeout(60000);
    let sb: Sandbox;
    let app: string;
    let target: string;
    const key = "compose-proxy";
    const base = (): GuardedWrite => ({ key, path: target, summary: ["x = 1"] });
    const upAfter = (extra: Partial<Extract<AfterAction, { kind: "compose-up" }>> = {}): AfterAction =>
      ({ kind: "compose-up", compose: { appDir: app, command: "docker compose" }, services: ["gitlab-runner"], ...extra });

    beforeEach(() => {
      sb = sandbox(shell);
      app = path.join(sb.dir, "my app");
      target = sb.file("my app/docker-compose.yml", "old: 1\n", 0o600);
    });

    it("read script output parses back to the exact bytes", () => {
      for (const s of ["", "no newline", "a\r\nb\r\n", "日本語\n", "x".repeat(100000)]) {
        fs.writeFileSync(target, s);
        const r = run(sb, readFileScript(target, sb.opts));
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(parseReadResult(r.stdout), { exists: true, sha256: sha(s), content: s });
      }
      fs.rmSync(target);
      assert.equal(run(sb, readFileScript(target, sb.opts)).stdout, "v1 absent\n");
    });

    it("first write: backup, original and written; mode 0600 kept; re-run is a no-op", () => {
      const r = readThenWrite(sb, base(), "new: 2");
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^wrote: /m);
      assert.equal(fs.readFileSync(target, "utf8"), "new: 2");
      assert.equal(mode(target), "0600");
      assert.equal(fs.readFileSync(stateFile(sb, key, "original"), "utf8"), "old: 1\n");
      assert.equal(mode(stateFile(sb, key, "original")), "0600");
      assert.equal(fs.readFileSync(stateFile(sb, key, "written"), "utf8"), `${sha("new: 2")}\n`);
      assert.equal(mode(path.join(sb.stateDir, key)), "0700");
      assert.equal(mode(sb.stateDir), "0700");
      const b = backups(sb, key);
      assert.equal(b.length, 1);
      assert.match(b[0], /^backup-\d{8}T\d{6}Z$/);
      assert.equal(fs.readFileSync(path.join(sb.stateDir, key, b[0]), "utf8"), "old: 1\n");
      assert.deepEqual(leftovers(app), []);

      const again = readThenWrite(sb, base(), "new: 2");
      assert.equal(again.status, 0, again.stderr);
      assert.equal(again.stdout, `unchanged: ${target}\n`);
      assert.equal(backups(sb, key).length, 1);
      assert.deepEqual(leftovers(app), []);
      assert.deepEqual(sb.log(), []);
    });

    it("a second change keeps the first original and adds a backup", () => {
      assert.equal(readThenWrite(sb, base(), "v2\n").status, 0);
      const r = readThenWrite(sb, base(), "v3\n");
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(stateFile(sb, key, "original"), "utf8"), "old: 1\n");
      assert.equal(backups(sb, key).length, 2, "same-second backups get a suffix");
    });

    it("compare-and-swap: refuses when the file changed since it was read", () => {
      const read = parseReadResult(run(sb, readFileScript(target, sb.opts)).stdout);
      fs.writeFileSync(target, "edited by the runner\n");
      const r = run(sb, guardedWriteScript(base(), sb.opts), guardedWriteStdin(read.sha256!, "new"));
      assert.equal(r.status, 3);
      assert.match(r.stderr, /changed on the server since it was read \(expected [0-9a-f]{64}, found [0-9a-f]{64}\)/);
      assert.match(r.stderr, /pulumi refresh/);
      assert.match(r.stderr, /nothing was written/);
      assert.equal(fs.readFileSync(target, "utf8"), "edited by the runner\n");
      assert.deepEqual(backups(sb, key), []);
      assert.deepEqual(leftovers(app), []);
      const absent = run(sb, guardedWriteScript(base(), sb.opts), guardedWriteStdin("absent", "new"));
      assert.equal(absent.status, 3);
      assert.match(absent.stderr, /expected absent/);
    });

    it("refuses stdin cut short (a dropped connection ends in a plain EOF)", () => {
      const full = guardedWriteStdin(sha("old: 1\n"), "a complete new file\n");
      const r = run(sb, guardedWriteScript(base(), sb.opts), full.slice(0, full.length - 6));
      assert.equal(r.status, 2);
      assert.match(r.stderr, /arrived incomplete/);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
      assert.deepEqual(leftovers(app), []);
      assert.equal(run(sb, guardedWriteScript(base(), sb.opts), "0".repeat(64).replace(/^0/, "a") + "\nx").status, 2, "a header without the content's sha256");
    });

    it("refuses a malformed first stdin line", () => {
      const r = run(sb, guardedWriteScript(base(), sb.opts), "not-a-hash\nx");
      assert.equal(r.status, 2);
      assert.match(r.stderr, /neither absent nor a sha256/);
      assert.equal(run(sb, guardedWriteScript(base(), sb.opts), "").status, 2);
    });

    it("new file: created with newFileMode in a new directory; restore removes it", () => {
      const w = { ...base(), path: path.join(sb.dir, "etc/docker.service.d/proxy.conf"), newFileMode: "0644" };
      const r = run(sb, guardedWriteScript(w, sb.opts), guardedWriteStdin("absent", "[Service]\n"));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(mode(w.path), "0644");
      assert.ok(fs.existsSync(stateFile(sb, key, "original.absent")));
      const d = run(sb, restoreScript(w, sb.opts));
      assert.equal(d.status, 0, d.stderr);
      assert.match(d.stdout, /removed: /);
      assert.ok(!fs.existsSync(w.path));
      const [kept, ...rest] = fs.readdirSync(path.join(sb.stateDir, key));
      assert.deepEqual(rest, []);
      assert.match(kept, /^before-restore-\d{8}T\d{6}Z$/, "what pulumi wrote is kept");
      assert.equal(fs.readFileSync(path.join(sb.stateDir, key, kept), "utf8"), "[Service]\n");
    });

    it("hostile path characters are data, not code", () => {
      const evil = sb.file("it's $(touch PWNED) `touch PWNED2` \"q\".yml", "a\n", 0o640);
      const w = { ...base(), path: evil, summary: ["$(touch PWNED3)", "`touch PWNED4`"] };
      const r = readThenWrite(sb, w, "b\n");
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(evil, "utf8"), "b\n");
      assert.equal(mode(evil), "0640");
      for (const p of ["PWNED", "PWNED2", "PWNED3", "PWNED4"]) {
        assert.ok(!fs.existsSync(path.join(sb.dir, p)), `${p} was created: a value ran as code`);
      }
    });

    it("validate failure (exit 4) leaves the file untouched and no temp behind", () => {
      const w = { ...base(), validate: { compose: { appDir: app, command: "docker compose" as const } } };
      const r = readThenWrite(sb, w, "broken: [", { STUB_CONFIG_RC: "1" });
      assert.equal(r.status, 4);
      assert.match(r.stderr, /left untouched/);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
      assert.deepEqual(leftovers(app), []);
      assert.ok(!fs.existsSync(stateFile(sb, key, "written")));
      const calls = sb.log();
      assert.equal(calls[0], "docker compose version");
      assert.match(calls[1], new RegExp(`^docker compose -f ${app}/\\.gra-tmp\\.\\w{6} --project-directory ${app} config -q$`));
      assert.equal(calls.length, 2);
    });

    it("validate ok then compose up of exactly the named service", () => {
      const w = { ...base(), validate: { compose: { appDir: app, command: "docker compose" as const } }, after: upAfter() };
      const r = readThenWrite(sb, w, "new: 2\n");
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(path.join(sb.env.STUB_DIR!, "validated"), "utf8"), "new: 2\n");
      assert.deepEqual(sb.log().slice(2), ["docker compose up -d --no-deps gitlab-runner"]);
    });

    it("compose auto: docker-compose when the plugin is missing; exit 6 when neither is there", () => {
      const w = { ...base(), after: upAfter({ compose: { appDir: app, command: "auto" } }) };
      const r = readThenWrite(sb, w, "new\n", { STUB_COMPOSE_V2: "0" });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(sb.log(), ["docker compose version", "docker-compose up -d --no-deps gitlab-runner"]);

      // A PATH of the tools the script needs, without any compose (this host has a real one in /usr/bin).
      const bare = sandbox(shell, ["docker"], "");
      const tools = path.join(bare.dir, "tools");
      fs.mkdirSync(tools);
      for (const t of ["cat", "sha256sum", "mktemp", "mkdir", "chmod", "chown", "cp", "mv", "rm", "date", "grep", "base64", "dirname"]) {
        const from = ["/usr/bin", "/bin"].map((d) => path.join(d, t)).find((p) => fs.existsSync(p))!;
        fs.symlinkSync(from, path.join(tools, t));
      }
      const env = { PATH: `${bare.bin}:${tools}`, STUB_COMPOSE_V2: "0" };
      const t2 = bare.file("app/docker-compose.yml", "a\n");
      const w2: GuardedWrite = { key, path: t2, summary: [], after: { kind: "compose-up", compose: { appDir: path.dirname(t2), command: "auto" }, services: ["gitlab-runner"] } };
      const r2 = run(bare, guardedWriteScript(w2, bare.opts), guardedWriteStdin(sha("a\n"), "b\n"), env);
      assert.equal(r2.status, 6, r2.stderr);
      assert.match(r2.stderr, /neither "docker compose" nor docker-compose works/);
      assert.equal(fs.readFileSync(t2, "utf8"), "a\n");
      const fixed = { ...w2, after: { ...(w2.after as Extract<AfterAction, { kind: "compose-up" }>), compose: { appDir: path.dirname(t2), command: "docker-compose" as const } } };
      const r3 = run(bare, guardedWriteScript(fixed, bare.opts), guardedWriteStdin(sha("a\n"), "b\n"), env);
      assert.equal(r3.status, 6);
      assert.match(r3.stderr, /docker-compose is not on PATH/);
    });

    it("waits for health: starting, starting, healthy", () => {
      fs.writeFileSync(path.join(sb.env.STUB_DIR!, "health"), "starting\nstarting\nhealthy\n");
      const w = { ...base(), after: upAfter({ waitHealthy: { container: "gitlab", timeoutSeconds: 30, pollSeconds: 1 } }) };
      const r = readThenWrite(sb, w, "new\n");
      assert.equal(r.status, 0, r.stderr);
      const inspect = "docker inspect -f {{.State.Health.Status}} gitlab";
      assert.deepEqual(sb.log(), [
        "docker compose version", "docker compose up -d --no-deps gitlab-runner",
        inspect, "sleep 1", inspect, "sleep 1", inspect,
      ]);
      assert.equal(fs.readFileSync(target, "utf8"), "new\n");
    });

    it("never healthy: exit 5, previous content back, service recreated again", () => {
      fs.writeFileSync(path.join(sb.env.STUB_DIR!, "health"), "starting\n");
      const w = { ...base(), after: upAfter({ waitHealthy: { container: "gitlab", timeoutSeconds: 2, pollSeconds: 1 } }) };
      const r = readThenWrite(sb, w, "new\n");
      assert.equal(r.status, 5);
      assert.match(r.stderr, /container gitlab did not report healthy within 2 s; restored .* and ran compose up -d --no-deps gitlab-runner again; check "docker logs gitlab"\./);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
      assert.equal(mode(target), "0600");
      assert.equal(sb.log().filter((l) => l === "docker compose up -d --no-deps gitlab-runner").length, 2);
      assert.equal(sb.log().filter((l) => l === "sleep 1").length, 2);
      // The failed first write leaves no claim on the file: destroy has nothing to undo.
      assert.ok(!fs.existsSync(stateFile(sb, key, "written")));
      assert.ok(!fs.existsSync(stateFile(sb, key, "original")));
      assert.equal(backups(sb, key).length, 1);
      assert.deepEqual(leftovers(app), []);
      assert.match(run(sb, restoreScript(w, sb.opts)).stdout, /nothing to restore/);
    });

    it("compose up failure after an earlier write: exit 5, earlier content back, written and owner point at it", () => {
      const w = { ...base(), after: upAfter() };
      const stdin1 = guardedWriteStdin(sha("old: 1\n"), "v2\n");
      assert.equal(run(sb, guardedWriteScript(w, sb.opts), stdin1).status, 0);
      const r = run(sb, guardedWriteScript(w, sb.opts), guardedWriteStdin(sha("v2\n"), "v3\n"), { STUB_UP_RC: "1" });
      assert.equal(r.status, 5);
      assert.match(r.stderr, /compose up of gitlab-runner failed with the new/);
      assert.equal(fs.readFileSync(target, "utf8"), "v2\n");
      assert.equal(fs.readFileSync(stateFile(sb, key, "written"), "utf8"), `${sha("v2\n")}\n`);
      assert.equal(fs.readFileSync(stateFile(sb, key, "original"), "utf8"), "old: 1\n");
      // Pulumi keeps the failed update's old stdin; its delete must still restore.
      const d = run(sb, restoreScript(w, sb.opts), stdin1);
      assert.equal(d.status, 0, d.stderr);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
    });

    it("dockerd-restart: daemon-reload and restart; a failed restart restores and exits 5", () => {
      const w: GuardedWrite = { ...base(), after: { kind: "dockerd-restart" } };
      assert.equal(readThenWrite(sb, w, "[Service]\n").status, 0);
      assert.deepEqual(sb.log(), ["docker info --format {{.LiveRestoreEnabled}}", "systemctl daemon-reload", "systemctl restart docker"]);
      const r = readThenWrite(sb, w, "[Service]\nbroken\n", { STUB_RESTART_RC: "1" });
      assert.equal(r.status, 5);
      assert.match(r.stderr, /docker did not restart with the new .*; restored .* and restarted docker/);
      assert.equal(fs.readFileSync(target, "utf8"), "[Service]\n");
    });

    it("dockerd-restart without live-restore: refuses before any restart, removes the new drop-in, exits 5", () => {
      fs.rmSync(target);
      const w: GuardedWrite = { ...base(), after: { kind: "dockerd-restart" } };
      const r = readThenWrite(sb, w, "[Service]\n", { STUB_LIVE_RESTORE: "false" });
      assert.equal(r.status, 5);
      assert.match(r.stderr, /live-restore is not on in dockerd \(false\), so a restart would stop every container .*; docker was not restarted; restored .* and left docker running as it was/);
      assert.deepEqual(sb.log(), ["docker info --format {{.LiveRestoreEnabled}}"]);
      assert.ok(!fs.existsSync(target));
    });

    it("dockerd-reload: swarm refused, a live-restore flag refused, reload checked with docker info", () => {
      const w: GuardedWrite = { ...base(), after: { kind: "dockerd-reload", timeoutSeconds: 2 } };
      const swarm = readThenWrite(sb, w, "{\"live-restore\": true}\n", { STUB_SWARM: "active", STUB_LIVE_RESTORE: "false" });
      assert.equal(swarm.status, 5);
      assert.match(swarm.stderr, /swarm mode, which live-restore does not support; nothing was reloaded or restarted/);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
      assert.ok(!sb.log().includes("systemctl reload docker") || sb.log().filter((l) => l === "systemctl reload docker").length === 1, "only after_again reloads");
      const flag = readThenWrite(sb, w, "{\"live-restore\": true}\n", { STUB_LIVE_RESTORE: "true" });
      assert.equal(flag.status, 5);
      assert.match(flag.stderr, /already runs with live-restore on .* \(a --live-restore flag\?\)/);
      const never = readThenWrite(sb, w, "{\"live-restore\": true}\n", { STUB_LIVE_RESTORE: "false" });
      assert.equal(never.status, 5);
      assert.match(never.stderr, /docker info reports live-restore false 2 s after systemctl reload docker/);
      fs.writeFileSync(path.join(sb.dir, "stub", "live"), "false\n");
      const ok = readThenWrite(sb, w, "{\"live-restore\": true}\n", { STUB_RELOAD_SETS: "true" });
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /dockerd reloaded: live-restore is on, no container was restarted/);
      assert.ok(!sb.log().some((l) => /systemctl (restart|stop)/.test(l)), "dockerd is never restarted for daemon.json");
      assert.equal(fs.readFileSync(target, "utf8"), "{\"live-restore\": true}\n");
    });

    it("runner-reload: a load error restores the file and exits 5 with the masked log; a loaded line passes", () => {
      const w: GuardedWrite = { ...base(), after: { kind: "runner-reload", container: "gitlab-runner", timeoutSeconds: 2 } };
      const bad = readThenWrite(sb, w, "broken = \n", {
        STUB_LOGS: "Configuration loaded   builds=0\nERROR: Failed to load config toml: line 3 (last key \"runners.token\"): token = \"glrt-CANARY123\" amazonec2-secret-key=CANARY456 near glrt-CANARY789  builds=0",
      });
      // The earlier "Configuration loaded" line is not taken for this file's: the error wins.
      assert.equal(bad.status, 5);
      assert.match(bad.stderr, /gitlab-runner did not load the new .* and keeps its previous configuration; its log says: ERROR: Failed to load config toml: line 3/);
      assert.ok(!/CANARY/.test(bad.stderr + bad.stdout), bad.stderr);
      assert.match(bad.stderr, /token = "\[masked\]" amazonec2-secret-key=\[masked\] near glrt-\[masked\]/);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
      assert.ok(sb.log().some((l) => /^docker logs --since \d+\.\d{9} gitlab-runner$/.test(l)), sb.log().join("\n"));
      const silent = readThenWrite(sb, w, "x = 1\n", { STUB_LOGS: "" });
      assert.equal(silent.status, 5);
      assert.match(silent.stderr, /logged no "Configuration loaded" within 2 s/);
      const ok = readThenWrite(sb, w, "x = 1\n", { STUB_LOGS: "{\"builds\":0,\"level\":\"info\",\"msg\":\"Configuration loaded\"}" });
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /gitlab-runner reloaded /);
      const stopped = readThenWrite(sb, w, "x = 2\n", { STUB_RUNNING: "false", STUB_LOGS: "" });
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.match(stopped.stderr, /container gitlab-runner is not running \(false\): it loads .* when it starts/);
    });

    it("runner-reload leaving docker-autoscaler: a graceful restart instead of the reload; otherwise the reload", () => {
      const w: GuardedWrite = {
        ...base(),
        after: {
          kind: "runner-reload", container: "gitlab-runner", timeoutSeconds: 2,
          restartLeavingAutoscaler: { compose: { appDir: app, command: "docker compose" }, service: "gitlab-runner", gracefulStop: { container: "gitlab-runner", timeoutSeconds: 5 } },
        },
      };
      const loaded = { STUB_LOGS: "Configuration loaded   builds=0" };
      fs.writeFileSync(target, "[[runners]]\n  executor = \"docker-autoscaler\"\n[[runners]]\n  executor = 'docker-autoscaler'\n");
      // One of two entries leaves the autoscaler: restart, no wait for a reload.
      const left = readThenWrite(sb, w, "[[runners]]\n  executor = \"docker+machine\"\n[[runners]]\n  executor = 'docker-autoscaler'\n", loaded);
      assert.equal(left.status, 0, left.stderr);
      assert.equal(left.stdout.split("\n").slice(1).join("\n"),
        "gitlab-runner leaves docker-autoscaler, whose taskscaler a reload does not stop: restarting it\n" +
        "stopping gitlab-runner gracefully: SIGQUIT, running jobs may finish (up to 5 s)\n" +
        "gitlab-runner stopped after its jobs finished (0 s)\n");
      assert.deepEqual(sb.log().filter((l) => !l.startsWith("docker compose version")),
        ["docker inspect -f {{.State.Running}} gitlab-runner", "docker kill --signal=QUIT gitlab-runner", "docker inspect -f {{.State.Running}} gitlab-runner",
          "docker compose up -d --no-deps gitlab-runner"]);
      // The remaining autoscaler entry stays: an edit elsewhere is reloaded as before.
      fs.writeFileSync(path.join(sb.dir, "calls.log"), "");
      fs.rmSync(path.join(sb.dir, "stub", "running"), { force: true });
      const stays = readThenWrite(sb, w, "[[runners]]\n  executor = \"docker+machine\"\n  limit = 2\n[[runners]]\n  executor = 'docker-autoscaler'\n", loaded);
      assert.equal(stays.status, 0, stays.stderr);
      assert.match(stays.stdout, /^gitlab-runner reloaded .* \(0 s\)$/m);
      assert.deepEqual(sb.log().filter((l) => /kill|compose up/.test(l)), []);
      // A failed recreate puts the old file back and brings the runner up again with it.
      fs.writeFileSync(target, "[[runners]]\n  executor = \"docker-autoscaler\"\n");
      fs.writeFileSync(path.join(sb.dir, "calls.log"), "");
      const failed = readThenWrite(sb, w, "[[runners]]\n  executor = \"docker+machine\"\n", { ...loaded, STUB_UP_RC: "1" });
      assert.equal(failed.status, 5);
      assert.match(failed.stderr, /compose up of gitlab-runner failed with the new .*; restored .* and ran compose up -d --no-deps gitlab-runner again;/);
      assert.equal(fs.readFileSync(target, "utf8"), "[[runners]]\n  executor = \"docker-autoscaler\"\n");
      assert.equal(sb.log().filter((l) => l === "docker compose up -d --no-deps gitlab-runner").length, 2);
    });

    it("compose-up with gracefulStop: SIGQUIT to the runner and a wait before compose recreates it", () => {
      const w: GuardedWrite = { ...base(), after: upAfter({ gracefulStop: { container: "gitlab-runner", timeoutSeconds: 5 } }) };
      const r = readThenWrite(sb, w, "new: 2\n");
      assert.equal(r.status, 0, r.stderr);
      const log = sb.log();
      const kill = log.indexOf("docker kill --signal=QUIT gitlab-runner");
      assert.ok(kill >= 0, log.join("\n"));
      assert.ok(kill < log.indexOf("docker compose up -d --no-deps gitlab-runner"));
      assert.match(r.stdout, /gitlab-runner stopped after its jobs finished \(0 s\)/);
    });

    it("compose-up with gracefulStop: jobs still running at the bound are left to the recreate, with a warning", () => {
      const w: GuardedWrite = { ...base(), after: upAfter({ gracefulStop: { container: "gitlab-runner", timeoutSeconds: 2 } }) };
      const r = readThenWrite(sb, w, "new: 2\n", { STUB_KILL_IGNORED: "1" });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /warning: gitlab-runner still has running jobs after 2 s; the recreate stops it now and aborts them/);
      const log = sb.log();
      assert.deepEqual(log.filter((l) => l.startsWith("sleep ")), ["sleep 1", "sleep 1"]);
      assert.equal(log.at(-1), "docker compose up -d --no-deps gitlab-runner");
    });

    it("restore after a write gives back the original bytes, mode and runs the after-action", () => {
      fs.writeFileSync(target, "orig\r\n日本語 without newline");
      const w = { ...base(), after: upAfter() };
      assert.equal(readThenWrite(sb, w, "new\n").status, 0);
      const d = run(sb, restoreScript(w, sb.opts));
      assert.equal(d.status, 0, d.stderr);
      assert.match(d.stdout, /^restored: /m);
      assert.equal(fs.readFileSync(target, "utf8"), "orig\r\n日本語 without newline");
      assert.equal(mode(target), "0600");
      assert.deepEqual(sb.log().slice(-1), ["docker compose up -d --no-deps gitlab-runner"]);
      assert.deepEqual(fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => !/^(backup|before-restore)-/.test(f)), []);
      assert.equal(backups(sb, key).length, 1, "timestamped backups are kept");
      const [kept] = fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => f.startsWith("before-restore-"));
      assert.equal(fs.readFileSync(path.join(sb.stateDir, key, kept), "utf8"), "new\n", "what pulumi wrote is kept");
      assert.deepEqual(leftovers(app), []);
      assert.match(run(sb, restoreScript(w, sb.opts)).stdout, /nothing to restore/);
    });

    it("restore refuses (exit 7) when the file changed after a write without a reverse edit (an older version's)", () => {
      assert.equal(readThenWrite(sb, base(), "new\n").status, 0);
      fs.writeFileSync(target, "hand edit\n");
      const d = run(sb, restoreScript(base(), sb.opts));
      assert.equal(d.status, 7);
      assert.match(d.stderr, /changed after pulumi wrote it/);
      assert.ok(d.stderr.includes(stateFile(sb, key, "original")));
      assert.match(d.stderr, /pulumi state delete/);
      assert.equal(fs.readFileSync(target, "utf8"), "hand edit\n");
      assert.ok(fs.existsSync(stateFile(sb, key, "written")));
      assert.ok(fs.existsSync(stateFile(sb, key, "original")));
    });

    it("restore after a hand edit elsewhere undoes only pulumi's edit, keeping owner, mode and the hand edit", () => {
      fs.writeFileSync(target, "a: 1\nb: 2\nc: 3\n");
      const w = { ...base(), after: upAfter() };
      assert.equal(editWrite(sb, w, "a: 1\nb: 2\nmanaged: x\nc: 3\n").status, 0);
      assert.deepEqual(fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => f.startsWith("reverse")), ["reverse-1"]);
      assert.equal(mode(stateFile(sb, key, "reverse-1")), "0600");
      fs.writeFileSync(target, "a: 9\nb: 2\nmanaged: x\nc: 3\n# note\n");
      const d = run(sb, restoreScript(w, sb.opts));
      assert.equal(d.status, 0, d.stderr);
      assert.match(d.stdout, /^undid pulumi's edit of .*, keeping the changes made after it/m);
      assert.equal(fs.readFileSync(target, "utf8"), "a: 9\nb: 2\nc: 3\n# note\n");
      assert.equal(mode(target), "0600");
      assert.deepEqual(sb.log().slice(-1), ["docker compose up -d --no-deps gitlab-runner"], "the after-action runs as for a full restore");
      const names = fs.readdirSync(path.join(sb.stateDir, key));
      assert.deepEqual(names.filter((f) => !/^(backup|before-restore)-/.test(f)), [], "markers, reverse edits and temp files are gone");
      const [kept] = names.filter((f) => f.startsWith("before-restore-"));
      assert.equal(fs.readFileSync(path.join(sb.stateDir, key, kept), "utf8"), "a: 9\nb: 2\nmanaged: x\nc: 3\n# note\n");
      assert.deepEqual(leftovers(app), []);
    });

    it("restore refuses (exit 7) naming the key when pulumi's value was changed by hand; nothing changes", () => {
      fs.writeFileSync(target, "a: 1\nb: 2\n");
      assert.equal(editWrite(sb, base(), "a: 1\nmanaged: x\nb: 2\n").status, 0);
      fs.writeFileSync(target, "a: 1\nmanaged: y\nb: 2\n");
      const d = run(sb, restoreScript(base(), sb.opts));
      assert.equal(d.status, 7, d.stderr);
      assert.match(d.stderr, /changed after pulumi wrote it, and pulumi's edit cannot be undone on the file as it is now; nothing was changed: managed: changed since pulumi wrote it\./);
      assert.match(d.stderr, /token rotation/);
      assert.ok(d.stderr.includes(stateFile(sb, key, "original")));
      assert.match(d.stderr, /pulumi state delete/);
      assert.equal(fs.readFileSync(target, "utf8"), "a: 1\nmanaged: y\nb: 2\n");
      for (const f of ["written", "original", "reverse-1"]) assert.ok(fs.existsSync(stateFile(sb, key, f)), f);
      assert.deepEqual(fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => f.startsWith(".") || f.startsWith("before-restore")), []);
      assert.deepEqual(leftovers(app), []);
    });

    it("two writes with hand edits between and after: destroy undoes both, newest first, and keeps the hand edits", () => {
      fs.writeFileSync(target, "a: 1\nb: 2\n");
      assert.equal(editWrite(sb, base(), "a: 1\nm: 1\nb: 2\n").status, 0);
      fs.appendFileSync(target, "z: 0\n");
      assert.equal(editWrite(sb, base(), "a: 1\nm: 2\nn: 1\nb: 2\nz: 0\n").status, 0);
      fs.writeFileSync(target, "# top\na: 1\nm: 2\nn: 1\nb: 2\nz: 0\n");
      const d = run(sb, restoreScript(base(), sb.opts));
      assert.equal(d.status, 0, d.stderr);
      assert.equal(fs.readFileSync(target, "utf8"), "# top\na: 1\nb: 2\nz: 0\n");
    });

    // The runner's token rotation between two `up`s: the second write is based on the runner's
    // file, so putting `original` back would bring the old token back. Destroy undoes pulumi's
    // edits on the file instead, or refuses and names the keys.
    it("a change between two writes survives destroy when the file is as pulumi last wrote it", () => {
      fs.writeFileSync(target, "a: 1\ntoken: old\nb: 2\n");
      assert.equal(editWrite(sb, base(), "a: 1\ntoken: old\nm: 1\nb: 2\n").status, 0);
      fs.writeFileSync(target, "a: 1\ntoken: rotated\nm: 1\nb: 2\n");
      assert.equal(editWrite(sb, base(), "a: 1\ntoken: rotated\nm: 2\nb: 2\n").status, 0);
      const d = run(sb, restoreScript(base(), sb.opts));
      assert.equal(d.status, 0, d.stderr);
      assert.match(d.stdout, /^undid pulumi's edit of .*, keeping the changes made after it/m);
      assert.equal(fs.readFileSync(target, "utf8"), "a: 1\ntoken: rotated\nb: 2\n");
      assert.deepEqual(fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => !/^(backup|before-restore)-/.test(f)), []);
    });

    it("a rewrite that re-encodes pulumi's lines between two writes: destroy refuses (exit 7) naming the key, the rotated token stays", () => {
      fs.writeFileSync(target, "a: 1\ntoken: old\nb: 2\n");
      assert.equal(editWrite(sb, base(), "a: 1\ntoken: old\nm: 1\nb: 2\n").status, 0);
      fs.writeFileSync(target, "b:  2\nm:  1\na:  1\ntoken:  rotated\n");
      const rewritten = "b:  2\nm: 2\na:  1\ntoken:  rotated\n";
      assert.equal(editWrite(sb, base(), rewritten).status, 0);
      const d = run(sb, restoreScript(base(), sb.opts));
      assert.equal(d.status, 7, d.stderr);
      assert.match(d.stderr, /nothing was changed: m: changed since pulumi wrote it\. Pulumi's values to put back by hand: m\. If the runner rewrote/);
      assert.equal(fs.readFileSync(target, "utf8"), rewritten);
      for (const f of ["written", "original", "reverse-1", "reverse-2"]) assert.ok(fs.existsSync(stateFile(sb, key, f)), f);
    });

    it("a change between two writes that kept no reverse edit: destroy refuses (exit 7) rather than lose it", () => {
      fs.writeFileSync(target, "orig\n");
      assert.equal(readThenWrite(sb, base(), "new 1\n").status, 0);
      fs.writeFileSync(target, "rotated\n");
      assert.equal(readThenWrite(sb, base(), "new 2 rotated\n").status, 0);
      const d = run(sb, restoreScript(base(), sb.opts));
      assert.equal(d.status, 7, d.stderr);
      assert.match(d.stderr, /was changed between two of pulumi's writes and no reverse edit was kept; putting back the content from before pulumi would lose that change; nothing was changed/);
      assert.equal(fs.readFileSync(target, "utf8"), "new 2 rotated\n");
    });

    it("a failed after-action takes back the reverse edit it filed", () => {
      const w = { ...base(), after: upAfter() };
      assert.equal(editWrite(sb, w, "old: 1\nnew: 1\n").status, 0);
      assert.equal(editWrite(sb, w, "old: 1\nnew: 2\n", { STUB_UP_RC: "1" }).status, 5);
      assert.deepEqual(fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => f.startsWith("reverse")), ["reverse-1"]);
      fs.appendFileSync(target, "hand: 1\n");
      const d = run(sb, restoreScript(w, sb.opts));
      assert.equal(d.status, 0, d.stderr);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\nhand: 1\n");
    });

    it("a write killed after its rename files its reverse edit on the next run", () => {
      assert.equal(editWrite(sb, base(), "old: 1\nm: 1\n").status, 0);
      const stdin2 = guardedWriteStdin(sha("old: 1\nm: 1\n"), "old: 1\nm: 2\n", reverseEdit("yaml", "old: 1\nm: 2\n", "old: 1\nm: 1\n"));
      assert.equal(run(sb, guardedWriteScript(base(), sb.opts), stdin2).status, 0);
      // The state such a kill leaves: new content in place, its reverse edit not filed, the old marker.
      fs.renameSync(stateFile(sb, key, "reverse-2"), stateFile(sb, key, "reverse.tmp"));
      fs.writeFileSync(stateFile(sb, key, "written"), `${sha("old: 1\nm: 1\n")}\n`);
      const again = run(sb, guardedWriteScript(base(), sb.opts), stdin2);
      assert.equal(again.stdout, `unchanged: ${target}\n`);
      assert.ok(fs.existsSync(stateFile(sb, key, "reverse-2")) && !fs.existsSync(stateFile(sb, key, "reverse.tmp")));
      assert.equal(fs.readFileSync(stateFile(sb, key, "written"), "utf8"), `${sha("old: 1\nm: 2\n")}\n`);
      fs.appendFileSync(target, "z: 1\n");
      assert.equal(run(sb, restoreScript(base(), sb.opts), stdin2).status, 0);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\nz: 1\n");
    });

    it("refuses a reverse edit that is not base64 or not for the new content (exit 2, nothing written)", () => {
      const good = guardedWriteStdin(sha("old: 1\n"), "new\n");
      const bad = good.replace("\n", " a!b\n");
      const r = run(sb, guardedWriteScript(base(), sb.opts), bad);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /not base64/);
      const other = guardedWriteStdin(sha("old: 1\n"), "new\n", reverseEdit("yaml", "other\n", "old: 1\n"));
      const r2 = run(sb, guardedWriteScript(base(), sb.opts), other);
      assert.equal(r2.status, 2);
      assert.match(r2.stderr, /reverse edit on stdin is not for the new content/);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
      assert.ok(!fs.existsSync(stateFile(sb, key, "written")));
    });

    it("keeps the original and the newest 5 backups (7 writes); -10 sorts after -9", () => {
      for (let i = 1; i <= 7; i++) assert.equal(readThenWrite(sb, base(), `v${i}\n`).status, 0);
      const b = backups(sb, key).sort();
      assert.equal(b.length, 5, b.join(" "));
      assert.deepEqual(b.map((f) => fs.readFileSync(path.join(sb.stateDir, key, f), "utf8")).sort(), ["v2\n", "v3\n", "v4\n", "v5\n", "v6\n"]);
      assert.equal(fs.readFileSync(stateFile(sb, key, "original"), "utf8"), "old: 1\n");
      // Same-second suffixes: numeric order, not text order.
      for (const f of b) fs.rmSync(path.join(sb.stateDir, key, f));
      const old = ["", "-1", "-2", "-9", "-10", "-11"].map((n) => `backup-20200101T000000Z${n}`);
      for (const f of old) fs.writeFileSync(path.join(sb.stateDir, key, f), f);
      assert.equal(readThenWrite(sb, { ...base(), keepBackups: 4 }, "v8\n").status, 0);
      const left = backups(sb, key);
      assert.deepEqual(left.filter((f) => f.startsWith("backup-2020")).sort(), ["backup-20200101T000000Z-10", "backup-20200101T000000Z-11", "backup-20200101T000000Z-9"]);
      assert.equal(left.length, 4);
    });

    it("keeps the newest 5 before-restore copies over up/destroy cycles", () => {
      for (let i = 1; i <= 7; i++) {
        assert.equal(readThenWrite(sb, base(), `v${i}\n`).status, 0);
        assert.equal(run(sb, restoreScript(base(), sb.opts)).status, 0);
      }
      const names = fs.readdirSync(path.join(sb.stateDir, key));
      assert.equal(names.filter((f) => f.startsWith("before-restore-")).length, 5, names.join(" "));
      assert.ok(names.every((f) => /^(backup|before-restore)-\d{8}T\d{6}Z(-\d+)?$/.test(f)), names.join(" "));
      assert.throws(() => guardedWriteScript({ ...base(), keepBackups: 0 }), /keepBackups must be a whole number >= 1/);
    });

    it("restore retried after a failed after-action finishes the job", () => {
      const w: GuardedWrite = { ...base(), after: { kind: "dockerd-restart" } };
      assert.equal(readThenWrite(sb, w, "new\n").status, 0);
      const d1 = run(sb, restoreScript(w, sb.opts), "", { STUB_RESTART_RC: "1" });
      assert.equal(d1.status, 5);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
      const d2 = run(sb, restoreScript(w, sb.opts));
      assert.equal(d2.status, 0, d2.stderr);
      assert.match(d2.stdout, /already has its original content/);
      assert.ok(!fs.existsSync(stateFile(sb, key, "written")));
    });

    it("restore retried after a failed after-action that followed an undo of pulumi's edit finishes the job", () => {
      fs.writeFileSync(target, "a: 1\nc: 3\n");
      const w: GuardedWrite = { ...base(), after: { kind: "dockerd-restart" } };
      assert.equal(editWrite(sb, w, "a: 1\nmanaged: x\nc: 3\n").status, 0);
      fs.writeFileSync(target, "a: 9\nmanaged: x\nc: 3\n");
      const d1 = run(sb, restoreScript(w, sb.opts), "", { STUB_RESTART_RC: "1" });
      assert.equal(d1.status, 5, d1.stderr);
      assert.equal(fs.readFileSync(target, "utf8"), "a: 9\nc: 3\n");
      const d2 = run(sb, restoreScript(w, sb.opts));
      assert.equal(d2.status, 0, d2.stderr);
      assert.match(d2.stdout, /already has pulumi's edits undone; finishing the restore/);
      assert.equal(fs.readFileSync(target, "utf8"), "a: 9\nc: 3\n", "the hand edit stays");
      assert.deepEqual(fs.readdirSync(path.join(sb.stateDir, key)).filter((f) => !/^(backup|before-restore)-/.test(f)), []);
    });

    it("a replaced resource's delete (its create's stdin) leaves its successor's write alone", () => {
      const stdin1 = guardedWriteStdin(sha("old: 1\n"), "A\n");
      assert.equal(run(sb, guardedWriteScript(base(), sb.opts), stdin1).status, 0);
      const stdin2 = guardedWriteStdin(sha("A\n"), "B\n");
      assert.equal(run(sb, guardedWriteScript(base(), sb.opts), stdin2).status, 0);
      const old = run(sb, restoreScript(base(), sb.opts), stdin1);
      assert.equal(old.status, 0, old.stderr);
      assert.match(old.stdout, /written since by a newer pulumi resource/);
      assert.equal(fs.readFileSync(target, "utf8"), "B\n");
      const cur = run(sb, restoreScript(base(), sb.opts), stdin2);
      assert.equal(cur.status, 0, cur.stderr);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
    });

    it("a replacement with the same content takes ownership without writing", () => {
      const stdin1 = guardedWriteStdin(sha("old: 1\n"), "A\n");
      assert.equal(run(sb, guardedWriteScript(base(), sb.opts), stdin1).status, 0);
      const stdin2 = guardedWriteStdin(sha("A\n"), "A\n");
      assert.equal(run(sb, guardedWriteScript(base(), sb.opts), stdin2).stdout, `unchanged: ${target}\n`);
      assert.match(run(sb, restoreScript(base(), sb.opts), stdin1).stdout, /newer pulumi resource/);
      assert.equal(fs.readFileSync(target, "utf8"), "A\n");
      assert.match(run(sb, restoreScript(base(), sb.opts), stdin2).stdout, /^restored: /m);
      assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n");
    });

    it("an interrupted write never leaves a partial target", async () => {
      const w = base();
      for (const signal of ["SIGKILL", "SIGTERM"] as const) {
        const child = spawn(path.join(sb.bin, "sh"), ["-c", guardedWriteScript(w, sb.opts)], {
          env: sb.env, detached: true, stdio: ["pipe", "ignore", "ignore"],
        });
        const done = new Promise<void>((resolve) => child.on("exit", () => resolve()));
        child.stdin.write(`${sha("old: 1\n")} ${sha("partial new content, and the rest")}\npartial new content`);
        const deadline = Date.now() + 10000;
        // Wait until cat is copying stdin into the temp file (the traps are set by then).
        while (!leftovers(app).some((f) => fs.statSync(path.join(app, f)).size > 0)) {
          assert.ok(Date.now() < deadline, "the script never created its temp file");
          await new Promise((r) => setTimeout(r, 10));
        }
        process.kill(-child.pid!, signal);
        child.stdin.destroy();
        await done;
        // The outer sh exits first; wait for the whole process group (the body runs its trap).
        const gone = Date.now() + 10000;
        for (;;) {
          try { process.kill(-child.pid!, 0); } catch { break; }
          assert.ok(Date.now() < gone, "the script's processes did not exit");
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(fs.readFileSync(target, "utf8"), "old: 1\n", signal);
        assert.ok(!fs.existsSync(stateFile(sb, key, "written")));
        if (signal === "SIGTERM") assert.deepEqual(leftovers(app), [], "the trap removes the temp file");
        else leftovers(app).forEach((f) => fs.rmSync(path.join(app, f)));
      }
    });

    it("appendBlockScript twice gives one block; the rest of the file is kept", () => {
      const profile = sb.file(".profile", "# ~/.profile\nexport A=1\nno-final-newline", 0o644);
      const s = appendBlockScript({ path: "~/.profile", marker: "gitlab-runner-autoscaling proxy" });
      const block = "export http_proxy='http://192.0.2.1:3128'\nexport NO_PROXY=10.0.0.0/16";
      const r1 = run(sb, s, block);
      assert.equal(r1.status, 0, r1.stderr);
      assert.equal(r1.stdout, `updated: ${profile}\n`);
      const once = "# ~/.profile\nexport A=1\nno-final-newline\n# BEGIN gitlab-runner-autoscaling proxy\n" +
        `${block}\n# END gitlab-runner-autoscaling proxy\n`;
      assert.equal(fs.readFileSync(profile, "utf8"), once);
      const r2 = run(sb, s, block);
      assert.equal(r2.stdout, `unchanged: ${profile}\n`);
      assert.equal(fs.readFileSync(profile, "utf8"), once);
      fs.appendFileSync(profile, "export AFTER=1\n");
      assert.equal(run(sb, s, "export http_proxy=http://new:3128\n").status, 0);
      assert.equal(fs.readFileSync(profile, "utf8"),
        "# ~/.profile\nexport A=1\nno-final-newline\n# BEGIN gitlab-runner-autoscaling proxy\n" +
        "export http_proxy=http://new:3128\n# END gitlab-runner-autoscaling proxy\nexport AFTER=1\n");
      assert.equal(mode(profile), "0644");
      assert.deepEqual(leftovers(sb.dir), []);
      // A BEGIN without END would swallow the rest of the file: refused.
      fs.writeFileSync(profile, "# BEGIN gitlab-runner-autoscaling proxy\nexport KEEP=1\n");
      const bad = run(sb, s, "x\n");
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /without a later/);
      assert.equal(fs.readFileSync(profile, "utf8"), "# BEGIN gitlab-runner-autoscaling proxy\nexport KEEP=1\n");
      // A missing file is created (0600: the block may hold proxy credentials).
      fs.rmSync(profile);
      assert.equal(run(sb, s, "x\n").status, 0);
      assert.equal(fs.readFileSync(profile, "utf8"), "# BEGIN gitlab-runner-autoscaling proxy\nx\n# END gitlab-runner-autoscaling proxy\n");
      assert.equal(mode(profile), "0600");
    });

    it("appendBlockScript with an absolute path and private: the file loses group/other access, even when unchanged", () => {
      const p = sb.file("abs profile", "export A=1\n", 0o644);
      const s = appendBlockScript({ path: p, marker: "m", private: true });
      const r = run(sb, s, "export http_proxy=http://u:pw@192.0.2.1:3128\n");
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `updated: ${p}\n`);
      assert.equal(fs.readFileSync(p, "utf8"), "export A=1\n# BEGIN m\nexport http_proxy=http://u:pw@192.0.2.1:3128\n# END m\n");
      assert.equal(mode(p), "0600");
      fs.chmodSync(p, 0o644);
      const again = run(sb, s, "export http_proxy=http://u:pw@192.0.2.1:3128\n");
      assert.equal(again.stdout, `unchanged: ${p}\n`);
      assert.equal(mode(p), "0600");
      assert.deepEqual(leftovers(sb.dir), []);
    });

    it("installFileScript installs atomically with the mode, then reports unchanged", () => {
      const p = path.join(sb.dir, "etc/apt/apt.conf.d/95proxy");
      const s = installFileScript({ path: p, mode: "0644" }, sb.opts);
      const r = run(sb, s, 'Acquire::http::Proxy "http://192.0.2.1:3128/";\n');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `installed: ${p}\n`);
      assert.equal(mode(p), "0644");
      fs.chmodSync(p, 0o600);
      const again = run(sb, s, 'Acquire::http::Proxy "http://192.0.2.1:3128/";\n');
      assert.equal(again.stdout, `unchanged: ${p}\n`);
      assert.equal(mode(p), "0644", "the mode is enforced even when the content is unchanged");
      assert.deepEqual(leftovers(path.dirname(p)), []);
    });

    it("dockerProxyCheckScript: restarts docker and needs HTTP Proxy in docker info", () => {
      const ok = run(sb, dockerProxyCheckScript(true, sb.opts));
      assert.equal(ok.status, 0, ok.stderr);
      assert.ok(!ok.stdout.includes("xxxxx"), "the proxy value is not printed");
      assert.deepEqual(sb.log(), ["systemctl daemon-reload", "systemctl restart docker", "docker info"]);
      const no = run(sb, dockerProxyCheckScript(true, sb.opts), "", { STUB_INFO: "Server Version: 27" });
      assert.equal(no.status, 8);
      assert.match(no.stderr, /no "HTTP Proxy:"/);
      assert.equal(run(sb, dockerProxyCheckScript(false, sb.opts), "", { STUB_INFO: "Server Version: 27" }).status, 0);
    });

    it("dockerInstallScript refuses unknown stdin lines without echoing them", () => {
      const r = run(sb, dockerInstallScript({ proxyEnvFromStdin: true }, sb.opts), "HTTP_PROXY=http://u:pw@p:3128\nPASSWORD=hunter2\n");
      assert.equal(r.status, 2);
      assert.match(r.stderr, /stdin line 2 is not HTTP_PROXY=/);
      assert.ok(!(r.stdout + r.stderr).includes("hunter2") && !(r.stdout + r.stderr).includes("pw@"));
      assert.deepEqual(sb.log(), []);
    });
  });
}
