// `npm run plan -- --from-server`, its pure parts: the options, the read script (pinned, and run
// on a local directory), the ssh argv with the host key pinned, the redaction of server secrets
// and the drift classification. The host scenario (test/host/scenarios/planFromServer.test.ts)
// runs it all against a sandboxed sshd.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, runPlanCli } from "../../offline/planCli";
import { REPO } from "../helpers/fixtures";
import { parseServerRead, serverReadBody, serverReadScript, type ServerRead } from "../../offline/serverRead";
import { sshInvocation, sshTargetOf, type SshTarget } from "../../offline/sshCommand";
import { PLACEHOLDER_USERINFO, redactServerText, SecretVault } from "../../offline/redact";
import { classifyFile, driftReport, valuesOf, type FileDriftInput } from "../../offline/drift";
import { driftAgainst, finalContents, readServer, redactedFiles } from "../../offline/fromServer";
import { rawConfigOf, readStackConfig } from "../../offline/stackConfig";
import { runOffline } from "../../offline/runOffline";
import { EXAMPLE_SERVER_FILES, serverFilesFrom } from "../../offline/serverFiles";
import { SettingsError, validateSettings } from "../../settings/validate";
import type { Problem } from "../../settings/types";
import { formatProblemsIn } from "../../offline/messages";
import { devRaw } from "../helpers/devConfig";
import { PLACEHOLDER_PROVIDER_SECRET } from "../../offline/placeholders";
import { readResultLine, sha256Hex } from "../../core/remote/readResult";
import { scriptBody } from "../../core/remote/shell";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../helpers/shellcheck";

// A real ed25519 public key (the bundled dev stack's): the settings check that a key parses.
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIETCx7sJxVbxsSalR925nwFWDfIjoHNJuHe1NQ68DDY0";

describe("plan --from-server: options", () => {
  it("takes --from-server with an optional --ssh-key, and refuses it with --server-files", () => {
    const a = parseArgs(["--from-server", "--ssh-key", "/k/id"], {});
    assert.equal(a.fromServer, true);
    assert.equal(a.sshKey, "/k/id");
    assert.equal(parseArgs([], {}).fromServer, false);
    assert.equal(parseArgs(["--from-server"], {}).sshKey, undefined);
    assert.throws(() => parseArgs(["--from-server", "--server-files", "d"], {}), /--from-server and --server-files exclude each other/);
    assert.throws(() => parseArgs(["--ssh-key", "/k/id"], {}), /--ssh-key is for --from-server/);
    assert.throws(() => parseArgs(["--from-server", "--ssh-key"], {}), /unknown or incomplete option --ssh-key/);
  });
});

/** Every entry below `dir`: its kind, mode, size, mtime and content (a link: its target), by relative path. */
function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const r = path.join(rel, name);
      const st = fs.lstatSync(path.join(dir, r));
      const what = st.isSymbolicLink() ? `link ${fs.readlinkSync(path.join(dir, r))}` : st.isDirectory() ? "dir" : `file ${fs.readFileSync(path.join(dir, r), "utf8")}`;
      out[r] = `${st.mode} ${st.size} ${st.mtimeMs} ${what}`;
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  return out;
}

describe("plan --from-server: the read script", () => {
  it("reads only: no redirection into a file and no command that writes; runs as root by sudo -n", () => {
    const body = serverReadBody(["/a/x.toml", "/b/y"], "/var/lib/gitlab-runner-autoscaling");
    // Its only redirection is the read of a file (`< "$2"`); the paths given are quoted words.
    assert.doesNotMatch(body, />/);
    assert.match(body, /base64 -w 0 < "\$2"/);
    assert.doesNotMatch(body, /\b(rm|rmdir|mv|cp|tee|dd|chmod|chown|chgrp|touch|mkdir|mknod|ln|install|truncate|shred|sed|awk|perl|python3?|sudo)\b/);
    assert.match(body, /^emit 'file 0' '\/a\/x\.toml'$/m);
    assert.match(body, /^emit 'file 1' '\/b\/y'$/m);
    assert.match(body, /^root='\/var\/lib\/gitlab-runner-autoscaling'$/m);
    assert.match(serverReadScript(["/a"]), /^sudo -n sh -c '/);
  });

  it("passes shellcheck, with odd paths too", () => {
    const script = serverReadScript(["/srv/my app/it's \"here\"/config.toml", "/etc/docker/daemon.json"]);
    assertShellcheckClean(scriptBody(script)!, "server read body");
    assertShellcheckClean(script, "server read command", WRAPPED_EXCLUDES);
  });

  it("reads files, markers and the newest backup of a state dir, and parses them back", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-read-"));
    try {
      const state = path.join(dir, "state");
      fs.mkdirSync(path.join(state, "config-toml"), { recursive: true });
      fs.mkdirSync(path.join(state, "docker-daemon-json"), { recursive: true });
      fs.writeFileSync(path.join(dir, "config.toml"), "concurrent = 3\n");
      fs.writeFileSync(path.join(state, "config-toml", "written"), `${sha256Hex("concurrent = 3\n")}\n`);
      // prune's order: by time, then -N numerically (-10 after -9).
      fs.writeFileSync(path.join(state, "config-toml", "backup-20260101T000000Z"), "old\n");
      fs.writeFileSync(path.join(state, "config-toml", "backup-20260102T000000Z-9"), "nine\n");
      fs.writeFileSync(path.join(state, "config-toml", "backup-20260102T000000Z-10"), "ten\n");
      fs.writeFileSync(path.join(state, "docker-daemon-json", "original.absent"), "");
      // A state dir whose name is not a key the program makes is passed over.
      fs.mkdirSync(path.join(state, "Not_A_Key"));
      fs.writeFileSync(path.join(state, "Not_A_Key", "written"), "x\n");
      fs.symlinkSync("/etc/hostname", path.join(dir, "link"));
      fs.mkdirSync(path.join(dir, "adir"));
      const paths = [path.join(dir, "config.toml"), path.join(dir, "missing"), path.join(dir, "link"), path.join(dir, "adir")];
      const before = treeOf(dir);
      const out = execFileSync("sh", ["-c", serverReadBody(paths, state)], { encoding: "utf8" });
      // Nothing was written, removed, moved or touched.
      assert.deepEqual(treeOf(dir), before);
      const r = parseServerRead(out, paths);
      assert.deepEqual(r.files[paths[0]], { kind: "text", text: "concurrent = 3\n", sha256: sha256Hex("concurrent = 3\n") });
      assert.deepEqual(r.files[paths[1]], { kind: "absent" });
      assert.deepEqual(r.files[paths[2]], { kind: "other", why: "a symbolic link" });
      assert.deepEqual(r.files[paths[3]], { kind: "other", why: "not a regular file" });
      assert.deepEqual(Object.keys(r.state).sort(), ["config-toml", "docker-daemon-json"]);
      assert.equal(r.state["config-toml"].written, sha256Hex("concurrent = 3\n"));
      assert.equal(r.state["config-toml"].backup?.name, "20260102T000000Z-10");
      assert.deepEqual(r.state["config-toml"].backup?.file, { kind: "text", text: "ten\n", sha256: sha256Hex("ten\n") });
      assert.deepEqual(r.state["docker-daemon-json"], { originalAbsent: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses output that is cut short, foreign, or whose content does not match its hash", () => {
    const ok = `gra-server-read v1\nfile 0 ${readResultLine("x\n")}\nend\n`;
    assert.equal(parseServerRead(ok, ["/p"]).files["/p"].kind, "text");
    assert.throws(() => parseServerRead(ok.replace("end\n", ""), ["/p"]), /cut short/);
    assert.throws(() => parseServerRead(`Welcome!\n${ok}`, ["/p"]), /first line/);
    assert.throws(() => parseServerRead(ok.replace(/ (\S+)\nend/, " eA==\nend"), ["/p"]), /sha256 does not match/);
    assert.throws(() => parseServerRead("gra-server-read v1\nend\n", ["/p"]), /no record for \/p/);
  });
});

describe("plan --from-server: ssh with the host key pinned", () => {
  const target: SshTarget = { host: "192.0.2.3", port: 22, user: "ec2-user", hostKey: KEY, insecure: false };

  it("checks the host key against a known_hosts holding only the configured key, in batch mode, with a connect timeout", () => {
    const inv = sshInvocation(target, "CMD", { dir: "/tmp/d", sshKey: "/k/id" });
    assert.deepEqual(inv.files, { "/tmp/d/known_hosts-gra-ci-server": `gra-ci-server ${KEY}\n` });
    assert.deepEqual(inv.args, [
      "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3",
      "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "ClearAllForwardings=yes",
      "-o", "UpdateHostKeys=no", "-o", "LogLevel=ERROR",
      "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/tmp/d/known_hosts-gra-ci-server", "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "HostKeyAlias=gra-ci-server", "-o", "CheckHostIP=no",
      "-i", "/k/id", "-o", "IdentitiesOnly=yes", "-p", "22", "-l", "ec2-user", "-T", "192.0.2.3", "--", "CMD",
    ]);
    // The agent answers when no key file is given.
    assert.ok(!sshInvocation(target, "CMD", { dir: "/tmp/d" }).args.includes("-i"));
  });

  it("jumps through the bastion with its own pinned key", () => {
    const inv = sshInvocation({ ...target, bastion: { host: "198.51.100.7", port: 2222, user: "jump", hostKey: KEY } }, "CMD", { dir: "/tmp/d" });
    assert.equal(inv.files["/tmp/d/known_hosts-gra-bastion"], `gra-bastion ${KEY}\n`);
    const proxy = inv.args[inv.args.indexOf("-T") - 1];
    assert.match(proxy, /^ProxyCommand='ssh' '-F' '\/dev\/null' .*'StrictHostKeyChecking=yes' .*'UserKnownHostsFile=\/tmp\/d\/known_hosts-gra-bastion' .*'-p' '2222' '-l' 'jump' '-W' %h:%p '198\.51\.100\.7'$/);
  });

  it("without a host key and without the opt-out, still checks: against an empty known_hosts", () => {
    // validateSettings refuses such a stack (see "before any connection"); should one get here, ssh refuses every key.
    const none = { ...target, hostKey: undefined, bastion: { host: "198.51.100.7", port: 2222, user: "jump" } };
    const inv = sshInvocation(none, "CMD", { dir: "/tmp/d" });
    assert.deepEqual(inv.files, { "/tmp/d/known_hosts-gra-ci-server": "", "/tmp/d/known_hosts-gra-bastion": "" });
    assert.ok(inv.args.includes("StrictHostKeyChecking=yes"));
    assert.match(inv.args[inv.args.indexOf("-T") - 1], /'StrictHostKeyChecking=yes'/);
  });

  it("connects unchecked only with the explicit opt-out", () => {
    const t = sshTargetOf({ ciServer: { host: "192.0.2.3", port: 22, user: "ec2-user", insecureSkipHostKeyCheck: true } as any });
    assert.equal(t.insecure, true);
    const inv = sshInvocation(t, "CMD", { dir: "/tmp/d" });
    assert.deepEqual(inv.files, {});
    assert.ok(inv.args.includes("StrictHostKeyChecking=no"));
    assert.equal(sshTargetOf({ ciServer: { host: "h", port: 22, user: "u" } as any }).insecure, false);
    // A key that is set is still checked under the opt-out (only a missing one is skipped), the bastion's too.
    const pinned = sshTargetOf({ ciServer: { host: "192.0.2.3", port: 22, user: "ec2-user", hostKey: KEY, insecureSkipHostKeyCheck: true,
      bastion: { host: "198.51.100.7", port: 22, user: "jump" } } as any });
    const inv2 = sshInvocation(pinned, "CMD", { dir: "/tmp/d" });
    assert.deepEqual(Object.keys(inv2.files), ["/tmp/d/known_hosts-gra-ci-server"]);
    assert.ok(inv2.args.includes("StrictHostKeyChecking=yes"));
    const proxy = inv2.args[inv2.args.indexOf("-T") - 1];
    assert.match(proxy, /'StrictHostKeyChecking=no'/);
  });
});

describe("plan --from-server: secrets read from the server", () => {
  /** `text` redacted by a new vault: none of `canaries` is left, and the vault puts the text back exactly. */
  const redactedWithout = (text: string, canaries: string[]) => {
    const v = new SecretVault();
    const r = redactServerText(text, v);
    for (const c of canaries) assert.ok(!r.includes(c), `${c} in:\n${r}`);
    assert.equal(v.unredact(r), text);
    return { r, v };
  };

  const server = [
    "concurrent = 3",
    "[[runners]]",
    "  token = \"glrt-CANARY-1\"",
    "  token_obtained_at = 2023-09-25T00:00:00Z",
    "  [runners.machine]",
    "    MachineOptions = [\"amazonec2-secret-key=CANARY-aws\", \"engine-env=HTTP_PROXY=http://u:CANARY%40pw@192.0.2.1:3128\"]",
    "  [runners.cache.s3]",
    "    SecretKey = \"CANARY-aws\"",
    "REGISTRY_PASSWORD=CANARY-env",
    "",
  ].join("\n");

  it("replaces each secret by the plan's own placeholder or a numbered one, and can put them back", () => {
    const { r, v } = redactedWithout(server, ["CANARY-1", "CANARY-aws", "CANARY%40pw", "CANARY-env"]);
    assert.match(r, /token = "gra-redacted-secret-1"/);
    assert.match(r, /token_obtained_at = 2023-09-25T00:00:00Z/);
    assert.ok(r.includes(`amazonec2-secret-key=${PLACEHOLDER_PROVIDER_SECRET}`));
    assert.ok(r.includes(`SecretKey = "${PLACEHOLDER_PROVIDER_SECRET}"`));
    assert.ok(r.includes(`http://${PLACEHOLDER_USERINFO}@192.0.2.1:3128`));
    // Two different values behind one placeholder: the original cannot be known.
    redactServerText("SecretKey = \"another\"\n", v);
    assert.equal(v.unredact(r), undefined);
  });

  it("finds secrets in compose files by name, and leaves values the program writes alone", () => {
    const compose = [
      "services:",
      "  gitlab:",
      "    environment:",
      "      GITLAB_OMNIBUS_CONFIG: |",
      "        gitlab_rails['db_password'] = 'CANARY-db-pw'",
      "      POSTGRES_PASSWORD: CANARY-pg-pw",
      "      - RUNNER_TOKEN=CANARY-list",
      "      REQUIRE_PASSWORD: true",
      "      SECRET_COUNT: 3",
      "",
    ].join("\n");
    const { r } = redactedWithout(compose, ["CANARY-db-pw", "CANARY-pg-pw", "CANARY-list"]);
    assert.match(r, /gitlab_rails\['db_password'\] = 'gra-redacted-secret-\d'/);
    assert.match(r, /POSTGRES_PASSWORD: gra-redacted-secret-\d\n/);
    assert.match(r, /REQUIRE_PASSWORD: true\n {6}SECRET_COUNT: 3\n/);
    const machine = '    MachineOptions = [\n      "amazonec2-metadata-token=required",\n      "amazonec2-metadata-token-response-hop-limit=2",\n    ]\n  token_obtained_at = 2023-09-25T00:00:00Z\n';
    assert.equal(redactServerText(machine, new SecretVault()), machine);
  });

  it("finds them in single quotes, quoted list items and flow maps too", () => {
    const text = [
      "  token = 'glrt-CANARY-single'",
      "REGISTRY_PASSWORD='CANARY-env-single'",
      "GITLAB_TOKEN=\"CANARY-env-double\"",
      "      - \"POSTGRES_PASSWORD=CANARY-list-double\"",
      "      - 'X_TOKEN=CANARY-list-single'",
      "    environment: { POSTGRES_PASSWORD: CANARY-flow, OTHER: 1, \"DB_SECRET\": \"CANARY-flow-q\" }",
      "  token_expires_at = 0001-01-01T00:00:00Z",
      "",
    ].join("\n");
    const { r } = redactedWithout(text, ["CANARY-single", "CANARY-env-single", "CANARY-env-double", "CANARY-list-double", "CANARY-list-single", "CANARY-flow", "CANARY-flow-q"]);
    assert.match(r, /OTHER: 1,/);
    assert.match(r, /token_expires_at = 0001-01-01T00:00:00Z/);
  });

  it("scrubs every secret it saw from any text, the URL-decoded password too", () => {
    const v = new SecretVault();
    redactServerText(server, v);
    const out = v.scrub(`a glrt-CANARY-1 b CANARY-aws c CANARY@pw d CANARY%40pw e gra-redacted-secret-1 f`);
    assert.equal(out, "a [secret] b [secret] c [secret] d [secret] e [secret] f");
  });
});

describe("plan --from-server: drift classification", () => {
  const toml = (idle: number, count = 0) => `concurrent = 3\n[[runners]]\n  name = "r"\n  [runners.machine]\n    IdleCount = ${count}\n    IdleTime = ${idle}\n`;
  const base: FileDriftInput = { path: "/c/config.toml", format: "toml", now: toml(1800), desired: toml(1800), marker: "matches", before: "concurrent = 3\n[[runners]]\n  name = \"r\"\n" };
  const statuses = (f: FileDriftInput) => Object.fromEntries(classifyFile(f).entries.map((e) => [e.key.replace('[[runners]] "r" [runners.machine] ', ""), e.status]));

  it("names each value by its key", () => {
    assert.deepEqual([...valuesOf("toml", toml(5)).entries()], [["concurrent", "concurrent = 3"], ['[[runners]] "r" name', '  name = "r"'], ['[[runners]] "r" [runners.machine] IdleCount', "    IdleCount = 0"], ['[[runners]] "r" [runners.machine] IdleTime', "    IdleTime = 5"]]);
    assert.deepEqual([...valuesOf("json", '{"live-restore": true}').entries()], [["live-restore", "true"]]);
    assert.deepEqual([...valuesOf("systemd", '[Service]\nEnvironment="NO_PROXY=a"\n').entries()], [["(other lines)", "[Service]"], ["NO_PROXY", 'Environment="NO_PROXY=a"']]);
  });

  it("as the last up left it: each value the last write set is as-set", () => {
    assert.deepEqual(statuses(base), { IdleCount: "as-set", IdleTime: "as-set" });
  });

  it("a hand edit since the last up is drifted; a value it did not touch stays as-set", () => {
    assert.deepEqual(statuses({ ...base, now: toml(600), marker: "differs", lastUp: toml(1800) }), { IdleCount: "as-set", IdleTime: "drifted" });
    const e = classifyFile({ ...base, now: toml(600), marker: "differs", lastUp: toml(1800) }).entries.find((x) => x.status === "drifted")!;
    assert.deepEqual([e.now, e.lastUp, e.desired], ["    IdleTime = 600", "    IdleTime = 1800", "    IdleTime = 1800"]);
  });

  it("a config change since the last up is would-change; with the last up unknown, a difference is differs", () => {
    assert.deepEqual(statuses({ ...base, desired: toml(2400) }), { IdleCount: "as-set", IdleTime: "would-change" });
    assert.deepEqual(statuses({ ...base, now: toml(600), desired: toml(1800), marker: "differs" }), { IdleTime: "differs" });
  });

  it("a file no up has written: what up would set is not-yet", () => {
    assert.deepEqual(statuses({ ...base, now: "concurrent = 3\n", marker: "none", before: undefined }), { '[[runners]] "r" name': "not-yet", IdleCount: "not-yet", IdleTime: "not-yet" });
  });
});

describe("plan --from-server: before any connection", () => {
  const settings = (hostKey?: string) => {
    const { hostKey: _bundled, ...ciServer } = devRaw().ciServer as Record<string, unknown>;
    return validateSettings({ ...devRaw(), ciServer: { ...ciServer, ...(hostKey ? { hostKey } : {}) } });
  };

  it("a missing host key (the CI server's, the bastion's) is refused with the ssh-keyscan and pulumi config set commands", () => {
    const { hostKey: _bundled, ...ciServer } = devRaw().ciServer as Record<string, unknown>;
    const raw = { ...devRaw(), ciServer: { ...ciServer, bastion: { host: "198.51.100.7", port: 2222, user: "jump" } } };
    let problems: Problem[] = [];
    assert.throws(() => validateSettings(raw), (e: unknown) => e instanceof SettingsError && (problems = e.problems).length > 0);
    const ci = problems.find((p) => p.key === "ciServer.hostKey")!;
    const bastion = problems.find((p) => p.key === "ciServer.bastion.hostKey")!;
    assert.ok(ci && bastion, problems.map((p) => p.key).join());
    assert.match(ci.expected, /`ssh -p 2222 jump@198\.51\.100\.7 ssh-keyscan -t ed25519 192\.0\.2\.3`/);
    assert.match(ci.expected, /`pulumi config set --path ciServer\.hostKey 'ssh-ed25519 AAAA…'`/);
    assert.match(bastion.expected, /`ssh-keyscan -t ed25519 -p 2222 198\.51\.100\.7`/);
    assert.match(bastion.expected, /`pulumi config set --path ciServer\.bastion\.hostKey 'ssh-ed25519 AAAA…'`/);
    // In Japanese too, the key and the commands as they are typed.
    const ja = formatProblemsIn("ja", problems);
    assert.match(ja, /^ {2}- ciServer\.hostKey: 設定値 /m);
    assert.ok(ja.includes("`pulumi config set --path ciServer.hostKey 'ssh-ed25519 AAAA…'`"));
  });

  it("needs a host key first, then a login key (--ssh-key or the agent), and never starts ssh without them", async () => {
    // A client that would fail the test if it were ever run.
    const sshBinary = "/nonexistent/ssh-must-not-run";
    // Without a key (and without the explicit opt-out) the stack itself is refused, before any read.
    assert.throws(() => settings(), /ciServer\.hostKey/);
    await assert.rejects(readServer(settings(KEY), ["/p"], { env: {}, sshBinary }), /needs a login key: --ssh-key FILE .* or a running SSH agent \(SSH_AUTH_SOCK\)/);
    await assert.rejects(readServer(settings(KEY), ["/p"], { sshKey: "/nonexistent/key", env: {}, sshBinary }), /--ssh-key \/nonexistent\/key: no such file/);
  });
  it("warns before connecting of each peer the opt-out leaves unchecked, and of none when every key is set", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-insecure-"));
    try {
      const dev = fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8");
      const stderrOf = async (yaml: string, lang = "en") => {
        const file = path.join(dir, "Pulumi.insecure.yaml");
        fs.writeFileSync(file, yaml);
        let stderr = "";
        // No --ssh-key and no agent: the read stops before ssh would run (the warning comes first).
        const code = await runPlanCli(["--config-file", file, "--from-server", "--lang", lang], { stdout: () => {}, stderr: (t) => (stderr += t), env: {} });
        assert.equal(code, 1, stderr);
        assert.match(stderr, /--from-server (needs a login key|にはログイン鍵が必要です)/);
        return stderr;
      };
      const keyless = dev.replace(/^    hostKey: .*\n/m, "    insecureSkipHostKeyCheck: true\n");
      assert.match(await stderrOf(keyless), /^warning: \[runtime\] ciServer\.insecureSkipHostKeyCheck is true: --from-server connects to 192\.0\.2\.3:22 without checking the SSH host key\.$/m);
      assert.match(await stderrOf(keyless, "ja"), /^警告: ciServer\.insecureSkipHostKeyCheck が true のため、--from-server は 192\.0\.2\.3:22 の SSH ホスト鍵を検証せずに接続します。$/m);
      // The CI server's key set, the bastion's not: only the bastion goes unchecked.
      const bastionKeyless = dev.replace(/^(    hostKey: .*\n)/m, "$1    insecureSkipHostKeyCheck: true\n    bastion:\n      host: 198.51.100.7\n      port: 2222\n");
      assert.match(await stderrOf(bastionKeyless), /connects to 198\.51\.100\.7:2222 without checking/);
      assert.doesNotMatch(await stderrOf(bastionKeyless), /192\.0\.2\.3:22 without/);
      // Every key set: the opt-out has no effect here, and no warning says otherwise.
      assert.doesNotMatch(await stderrOf(dev.replace(/^(    hostKey: .*\n)/m, "$1    insecureSkipHostKeyCheck: true\n")), /without checking/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("plan --from-server: the drift report", () => {
  it("shows secrets as [secret], names each status, and counts them", () => {
    const now = `Environment="HTTP_PROXY=http://${PLACEHOLDER_USERINFO}@192.0.2.1:3128"\nEnvironment="NO_PROXY=a"\n`;
    const f = classifyFile({ path: "/etc/x.conf", format: "systemd", now: now.replace("NO_PROXY=a", "NO_PROXY=b"), desired: now, marker: "differs", lastUp: now, before: null });
    const en = driftReport([f], "ec2-user@192.0.2.3:22", "en");
    assert.ok(!en.includes(PLACEHOLDER_USERINFO));
    assert.match(en, /^Drift on the CI server \(ec2-user@192\.0\.2\.3:22, read over SSH just now, nothing written\):\n  \/etc\/x\.conf: changed on the server since the last pulumi up\n/);
    assert.match(en, /    as set   HTTP_PROXY: `Environment="HTTP_PROXY=http:\/\/\[secret\]@192\.0\.2\.1:3128"`\n/);
    assert.match(en, /    DRIFTED  NO_PROXY: now `Environment="NO_PROXY=b"`, the last up set `Environment="NO_PROXY=a"`; up would set `Environment="NO_PROXY=a"`\n/);
    assert.match(en, /  1 drifted, 0 to change, 1 as set, 0 differing \(cause unknown\), 0 not yet written\./);
    const ja = driftReport([f], "ec2-user@192.0.2.3:22", "ja");
    assert.match(ja, /^CIサーバ上の差分/);
    assert.match(ja, /ドリフト   NO_PROXY: 現在 `Environment="NO_PROXY=b"`、前回の up の設定 `Environment="NO_PROXY=a"`。up で `Environment="NO_PROXY=a"` に戻ります/);
  });
});

describe("plan --from-server: drift against a read of the server (no ssh)", function () {
  this.timeout(120000);

  it("a file as the last up left it is as set; a hand edit since is DRIFTED, against the last up rebuilt from its backup and checked by its marker", async () => {
    const config = readStackConfig(path.join(REPO, "Pulumi.dev.yaml"));
    const settings = validateSettings(rawConfigOf(config));
    const plan = (files: Record<string, string | null>) =>
      runOffline(config.config, { serverFiles: files, providerSecret: PLACEHOLDER_PROVIDER_SECRET, account: "123456789012" }, { stack: "dev", secretKeys: config.secretKeys });
    const original = serverFilesFrom(EXAMPLE_SERVER_FILES, settings);
    const toml = settings.ciServer.runnerConfigPath;
    const first = await plan(original);
    const wrote = finalContents(first).get(toml)!;
    // The state dir the program's guarded write of config.toml keeps (core/ciServer/edits.ts).
    const key = "config-toml";
    assert.match(wrote, /^ {4}IdleTime = 1800$/m);
    // The server after that up: config.toml as it wrote it (its marker), the original as its backup.
    const text = (t: string) => ({ kind: "text" as const, text: t, sha256: sha256Hex(t) });
    const driftWith = async (tomlNow: string) => {
      const read: ServerRead = {
        files: Object.fromEntries(Object.entries({ ...original, [toml]: tomlNow }).map(([p, t]) => [p, t === null ? { kind: "absent" as const } : text(t)])),
        state: { [key]: { written: sha256Hex(wrote), originalAbsent: false, backup: { name: "20260101T000000Z", file: text(original[toml]!) } } },
      };
      const vault = new SecretVault();
      const files = redactedFiles(read, vault);
      const drift = await driftAgainst(read, vault, files, await plan(files), plan);
      return drift.find((f) => f.path === toml)!;
    };
    const same = await driftWith(wrote);
    assert.equal(same.marker, "matches");
    assert.ok(same.entries.length > 0 && same.entries.every((e) => e.status === "as-set"), JSON.stringify(same.entries));
    const edited = await driftWith(wrote.replace(/^( {4}IdleTime = )1800$/m, "$1600"));
    assert.equal(edited.marker, "differs");
    assert.equal(edited.lastUpKnown, true);
    const idle = edited.entries.filter((e) => e.status !== "as-set");
    assert.deepEqual(idle.map((e) => [e.status, e.now, e.lastUp, e.desired]), [["drifted", "    IdleTime = 600", "    IdleTime = 1800", "    IdleTime = 1800"]]);
  });
});

