// `npm run plan` on stacks and server files the other plan tests do not use, as a new user would:
// the upgrade of a Collaborage 1.1 server (with and without a proxy), messages that name the right
// key and never a password, plain-text secrets, misspelt keys, and the plan in Japanese.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runPlanCli } from "../../offline/planCli";
import { REPO, fixture, repoFile } from "../helpers/fixtures";

/**
 * The plan as `npm run plan` runs it (scripts/plan.ts is only its process wrapper; plan.test.ts
 * runs that one as a child process), in this process: its exit code and output. The locale is
 * fixed (C) unless a test sets it.
 */
async function plan(args: string[], env: Record<string, string> = {}) {
  const base = { ...process.env };
  delete base.LC_ALL;
  delete base.LC_MESSAGES;
  let stdout = "";
  let stderr = "";
  const code = await runPlanCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { ...base, LANG: "C.UTF-8", ...env } });
  return { code, stdout, stderr };
}

const made: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-review-"));
  made.push(dir);
  return dir;
}
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), "utf8");

const UPGRADE = "  gitlab-runner-autoscaling:upgrade:\n    gitlabImage: gitlab/gitlab-ce:12.6.8-ce.0\n    runnerImage: gitlab/gitlab-runner:ubuntu-v12.6.0\n";
/** Pulumi.dev.yaml with edits; the runbook's runner 12.6 needs imdsV2 false. */
function stack(dir: string, edit: (yaml: string) => string = (y) => y): string {
  const file = path.join(dir, "Pulumi.review.yaml");
  fs.writeFileSync(file, edit(repoFile("Pulumi.dev.yaml")));
  return file;
}
const withUpgrade = (y: string) => y.replace("    privateAddressOnly: true\n", "    privateAddressOnly: true\n    imdsV2: false\n") + UPGRADE;
const withoutProxy = (y: string) => y.replace("  gitlab-runner-autoscaling:proxy:\n    httpProxy: http://192.0.2.1:3128\n", "");

/** A Collaborage 1.1.0 server: GitLab 12.4.2, runner 12.4.1, docker-compose v1. */
function server11(dir: string): string {
  const files = path.join(dir, "server");
  fs.mkdirSync(files);
  fs.writeFileSync(path.join(files, "docker-compose.yml"), fixture("collaborage/ci-docker-compose.v1.1.0.yml"));
  fs.writeFileSync(path.join(files, "common.env"), fixture("collaborage/common.env"));
  fs.writeFileSync(path.join(files, "config.toml"), fixture("collaborage/config.toml"));
  return files;
}

/** "Files on the CI server:" up to the blank line. */
const filesSection = (stdout: string) => stdout.slice(stdout.indexOf("Files on the CI server:"), stdout.indexOf("\n\nOutputs:"));

describe("npm run plan on new stacks (issue 8)", function () {
  this.timeout(300000);
  after(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("the GitLab upgrade of a Collaborage 1.1 server, without a proxy", () => {
    let dir: string;
    let r: Awaited<ReturnType<typeof plan>>;
    before(async () => {
      dir = tmp();
      r = await plan(["--config-file", stack(dir, (y) => withUpgrade(withoutProxy(y))), "--server-files", server11(dir), "--out", path.join(dir, "p")]);
    });

    it("writes the upgraded docker-compose.yml and its diff against the server's file", () => {
      assert.equal(r.code, 0, r.stderr);
      const compose = read(dir, "p/files/ci-server/docker-compose.yml");
      assert.match(compose, /^ {4}image: gitlab\/gitlab-ce:12\.6\.8-ce\.0$/m);
      assert.match(compose, /^ {4}image: gitlab\/gitlab-runner:ubuntu-v12\.6\.0$/m);
      assert.match(compose, /^ {4}image: gitlab\/gitlab-runner:ubuntu-v12\.6\.0\n {4}restart: always\n {4}volumes:$/m, "no proxy: the runner gets no env_file");
      const diff = read(dir, "p/diffs/docker-compose.yml.diff");
      assert.match(diff, /^-    image: gitlab\/gitlab-ce:12\.4\.2-ce\.0$/m);
      assert.match(diff, /^\+    image: gitlab\/gitlab-ce:12\.6\.8-ce\.0$/m);
      assert.match(diff, /^\+    image: gitlab\/gitlab-runner:ubuntu-v12\.6\.0$/m);
    });

    it("lists the compose file among the files on the CI server, with the upgrade's managed values and what destroy does", () => {
      assert.equal(filesSection(r.stdout).split("\n").slice(0, 6).join("\n"), [
        "Files on the CI server:",
        "  /home/ec2-user/nop/docker/ci/docker-compose.yml",
        "    gitlab-upgrade-to-12.6.8:",
        "      services.gitlab.image = gitlab/gitlab-ce:12.6.8-ce.0 (unless the server already runs 12.6.8 or later)",
        "      services.gitlab-runner.image = gitlab/gitlab-runner:ubuntu-v12.6.0",
        "      on destroy: kept as it is (a GitLab upgrade cannot be rolled back)",
      ].join("\n"));
      assert.match(r.stdout, /^ {2}\/home\/ec2-user\/nop\/docker\/ci\/docker-compose\.yml: \+4 -2 lines$/m);
    });
  });

  describe("the GitLab upgrade of a Collaborage 1.1 server, with a proxy (two edits of docker-compose.yml)", () => {
    let dir: string;
    let r: Awaited<ReturnType<typeof plan>>;
    before(async () => {
      dir = tmp();
      r = await plan(["--config-file", stack(dir, withUpgrade), "--server-files", server11(dir), "--out", path.join(dir, "p")]);
    });

    it("files/ holds the final text: both new images and the runner's env_file", () => {
      assert.equal(r.code, 0, r.stderr);
      const compose = read(dir, "p/files/ci-server/docker-compose.yml");
      assert.match(compose, /^ {4}image: gitlab\/gitlab-ce:12\.6\.8-ce\.0$/m);
      assert.match(compose, /^ {4}image: gitlab\/gitlab-runner:ubuntu-v12\.6\.0\n {4}restart: always\n {4}env_file: \.\/common\.env$/m);
    });

    it("the diff is against the server's original and shows both edits", () => {
      const diff = read(dir, "p/diffs/docker-compose.yml.diff");
      assert.match(diff, /^-    image: gitlab\/gitlab-ce:12\.4\.2-ce\.0$/m);
      assert.match(diff, /^-    image: gitlab\/gitlab-runner:ubuntu-v12\.4\.1$/m);
      assert.match(diff, /^\+    env_file: \.\/common\.env$/m);
      assert.match(r.stdout, /^ {2}\/home\/ec2-user\/nop\/docker\/ci\/docker-compose\.yml: \+5 -2 lines$/m);
    });

    it("lists the file once, each edit's managed values under it, in the order they run", () => {
      const section = filesSection(r.stdout);
      assert.equal(section.split("\n").filter((l) => l === "  /home/ec2-user/nop/docker/ci/docker-compose.yml").length, 1);
      assert.ok(section.includes([
        "  /home/ec2-user/nop/docker/ci/docker-compose.yml",
        "    gitlab-upgrade-to-12.6.8:",
        "      services.gitlab.image = gitlab/gitlab-ce:12.6.8-ce.0 (unless the server already runs 12.6.8 or later)",
        "      services.gitlab-runner.image = gitlab/gitlab-runner:ubuntu-v12.6.0",
        "      on destroy: kept as it is (a GitLab upgrade cannot be rolled back)",
        "    ci-server-compose-proxy:",
        "      services.gitlab-runner.env_file += ./common.env",
        "      on destroy: put back as it was before this edit, unless it changed after pulumi wrote it, then recreates gitlab-runner",
      ].join("\n")), section);
      assert.match(section, /docker-gitlab-runner-autoscaling-proxy|gitlab-runner-autoscaling-proxy\.conf\n {4}ci-server-docker-dropin:\n(?: {6}Environment=.*\n){3} {6}on destroy: removed \(it did not exist before\), then restarts docker\n/);
    });

    it("every guarded write has one destroy line in the plan and its delete script in plan.json", () => {
      const { resources } = JSON.parse(read(dir, "p/plan.json"));
      const writes = resources.filter((x: any) => x.type === "command:remote:Command" && x.name.endsWith("-write"));
      assert.deepEqual(writes.map((w: any) => w.name), ["gitlab-upgrade-to-12.6.8-write", "ci-server-common-env-write", "ci-server-compose-proxy-write", "ci-server-docker-daemon-json-write", "ci-server-docker-dropin-write", "ci-server-config-toml-write"]);
      for (const w of writes) assert.equal(typeof w.inputs.delete, "string", w.name);
      assert.equal(writes[0].inputs.delete, "echo 'kept on destroy: gitlab-hop-12-6-8'");
      assert.match(writes[2].inputs.delete, /^# gitlab-runner-autoscaling: restore \/home\/ec2-user\/nop\/docker\/ci\/docker-compose\.yml \(state compose-proxy\)\n/);
      assert.equal(r.stdout.split("\n").filter((l) => /^ {6}on destroy: /.test(l)).length, writes.length);
    });

    it("the stack's outputs name docker-compose.yml once", () => {
      assert.match(r.stdout, /ciServerFiles: \["\/home\/ec2-user\/nop\/docker\/ci\/docker-compose\.yml","\/home\/ec2-user\/nop\/docker\/ci\/common\.env","\/etc\/docker\/daemon\.json","\/etc\/systemd/);
    });
  });

  it("upgrades the runner alone, and warns when it would be a newer major than the server's GitLab", async () => {
    const dir = tmp();
    const file = stack(dir, (y) => withoutProxy(y) + "  gitlab-runner-autoscaling:upgrade:\n    runnerImage: gitlab/gitlab-runner:ubuntu-v14.0.0\n");
    const r = await plan(["--config-file", file, "--server-files", server11(dir), "--out", path.join(dir, "p")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: \[runtime\] upgrade\.runnerImage gitlab\/gitlab-runner:ubuntu-v14\.0\.0 is a newer major than GitLab gitlab\/gitlab-ce:12\.4\.2-ce\.0: /m);
    assert.match(filesSection(r.stdout), /^ {4}gitlab-upgrade:\n {6}services\.gitlab-runner\.image = gitlab\/gitlab-runner:ubuntu-v14\.0\.0\n {6}on destroy: /m);
    assert.match(read(dir, "p/files/ci-server/docker-compose.yml"), /^ {4}image: gitlab\/gitlab-ce:12\.4\.2-ce\.0$/m);
  });

  it("two [[runners]] and no runner.name: exit 1 naming runner.name, the runners found and the command", async () => {
    const dir = tmp();
    const files = path.join(dir, "server");
    fs.cpSync(path.join(REPO, "examples/ci-server"), files, { recursive: true });
    const toml = fs.readFileSync(path.join(files, "config.toml"), "utf8");
    const runner = toml.slice(toml.indexOf("[[runners]]"));
    fs.writeFileSync(path.join(files, "config.toml"), toml + "\n" + runner.replace('name = "0123456789ab"', 'name = "second"'));
    const r = await plan(["--server-files", files]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("plan failed: ")).join("\n"),
      `plan failed: config.toml has 2 [[runners]] ("0123456789ab", "second"); set runner.name to the one to convert, e.g. pulumi config set --path runner.name '0123456789ab'`);
    assert.doesNotMatch(r.stderr, /runnerName/);
  });

  it("a proxy URL with a password: refused, the password masked in the message", async () => {
    const dir = tmp();
    const r = await plan(["--config-file", stack(dir, (y) => y.replace("http://192.0.2.1:3128", "http://alice:CANARY-pw-5150@192.0.2.1:3128"))]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ {2}- proxy\.httpProxy: got "http:\/\/alice:\*\*\*\*@192\.0\.2\.1:3128"; expected a URL without credentials/m);
    assert.doesNotMatch(r.stderr + r.stdout, /CANARY/);
  });

  it("a stack file YAML error quoting a URL's password: masked", async () => {
    const dir = tmp();
    const r = await plan(["--config-file", stack(dir, (y) => y.replace("    httpProxy: http://192.0.2.1:3128", "    httpProxy: http://alice:CANARY-yaml@192.0.2.1:3128\n   bad: [indent"))]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot read .*Pulumi\.review\.yaml/);
    assert.doesNotMatch(r.stderr, /CANARY/);
  });

  it("a plain-text sshPrivateKey or proxyCredentials in the stack file: refused with the --secret command, the value never shown", async () => {
    const dir = tmp();
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nCANARY-KEY-BODY\n-----END OPENSSH PRIVATE KEY-----\n";
    const r = await plan(["--config-file", stack(dir, (y) => y + `  gitlab-runner-autoscaling:sshPrivateKey: ${JSON.stringify(key)}\n  gitlab-runner-autoscaling:proxyCredentials: alice:CANARY-creds\n`), "--out", path.join(dir, "p")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ {2}- sshPrivateKey: got \[secret\] \(stored in plain text in the stack file\); expected an encrypted value: replace it with pulumi config set --secret sshPrivateKey < ~\/\.ssh\/ci-server\.pem$/m);
    assert.match(r.stderr, /^ {2}- proxyCredentials: got \[secret\] .*pulumi config set --secret proxyCredentials \(then type user:password at the prompt, not on the command line\)$/m);
    assert.doesNotMatch(r.stderr + r.stdout, /CANARY/);
    assert.equal(fs.existsSync(path.join(dir, "p")), false);
  });

  it("a misspelt key (runer.idleTime, a top-level idleTime): refused with did-you-mean and the command", async () => {
    const dir = tmp();
    const r = await plan(["--config-file", stack(dir, (y) => y + "  gitlab-runner-autoscaling:runer:\n    idleTime: 60\n  gitlab-runner-autoscaling:idleTime: \"60\"\n")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ {2}- runer: got \{"idleTime":60\}; expected no such key in the gitlab-runner-autoscaling: namespace \(it would be ignored\); did you mean runner\? Run `pulumi config rm runer`, then `pulumi config set --path runner\.idleTime 60`/m);
    assert.match(r.stderr, /^ {2}- idleTime: got "60"; expected .*did you mean runner\.idleTime\?/m);
  });

  it("--out over an earlier plan leaves no stale file; a directory that is not a plan's is refused", async () => {
    const dir = tmp();
    const out = path.join(dir, "p");
    fs.mkdirSync(path.join(out, "diffs"), { recursive: true });
    fs.writeFileSync(path.join(out, "plan.json"), "{}\n");
    fs.writeFileSync(path.join(out, "diffs/stale.diff"), "from an earlier plan\n");
    fs.writeFileSync(path.join(out, "notes.txt"), "the user's own file\n");
    const r = await plan(["--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(path.join(out, "diffs/stale.diff")), false);
    assert.equal(read(out, "notes.txt"), "the user's own file\n", "only what a plan writes is removed");
    assert.match(read(out, "plan.json"), /"resources"/);

    const other = path.join(dir, "other");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "keep.txt"), "x");
    const refused = await plan(["--out", other]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--out .*other exists and does not hold an earlier plan/);
    assert.deepEqual(fs.readdirSync(other), ["keep.txt"]);
  });

  it("a server file missing from --server-files: the error says where the plan looked", async () => {
    const dir = tmp();
    fs.copyFileSync(path.join(REPO, "examples/ci-server/docker-compose.yml"), path.join(dir, "docker-compose.yml"));
    fs.copyFileSync(path.join(REPO, "examples/ci-server/common.env"), path.join(dir, "common.env"));
    const r = await plan(["--server-files", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^plan failed: \/data\/gitlab-runner\/config\/config\.toml does not exist on the CI server; set ciServer\.runnerConfigPath to .*\n\(offline, the CI server's files are those in .*gra-review-[^:]*: copy the missing one there/m);
  });

  describe("in Japanese", () => {
    let en: Awaited<ReturnType<typeof plan>>;
    let ja: Awaited<ReturnType<typeof plan>>;
    let file: string;
    before(async () => {
      // A stack that draws warnings: an opt-out of host key checks, and a key the stack does not use.
      file = stack(tmp(), (y) => y.replace(/^    hostKey: .*\n/m, "    insecureSkipHostKeyCheck: true\n").replace("  gitlab-runner-autoscaling:ami:\n", "  gitlab-runner-autoscaling:ami:\n    existingAmi: ami-0123456789abcdef0\n"));
      en = await plan(["--config-file", file]);
      ja = await plan(["--config-file", file, "--lang", "ja"]);
    });

    it("--lang ja: Japanese headings and warning", () => {
      assert.equal(ja.code, 0, ja.stderr);
      assert.match(ja.stdout, /^スタック "review" の実行計画 — オフライン/);
      for (const heading of [/^リソース（\d+ 個）:$/m, /^CIサーバ上のファイル:$/m, /^スタック出力:$/m, /^ {6}destroy 時: /m]) assert.match(ja.stdout, heading);
      assert.match(ja.stderr, /^警告: ciServer\.insecureSkipHostKeyCheck が true のため、SSH は CIサーバ 192\.0\.2\.3 のホスト鍵を検証しません。.*鍵を固定してください: `ssh-keyscan -t ed25519 192\.0\.2\.3` の後に `pulumi config set --path ciServer\.hostKey 'ssh-ed25519 AAAA…'`。/m);
      assert.match(ja.stderr, /^警告: ami\.baseAmi は設定されています（"ami-0a3eb6ca097b78895"）が効果がありません。有効になる条件: ami\.existingAmi is unset .*`pulumi config rm --path ami\.baseAmi`/m);
      assert.doesNotMatch(ja.stderr, /has no effect|does not verify/);
      assert.match(en.stderr, /^warning: \[runtime\] ami\.baseAmi is set/m);
      assert.doesNotMatch(ja.stdout, /^(Resources|Files on the CI server|Outputs):/m);
    });

    it("keys, values, resource names and file paths are the same as in English", () => {
      const data = (out: string) => out.split("\n").filter((l) => /^\s+\+ |^ {6}(?!on destroy|destroy 時|waits on|待機対象)\S|^ {2}\/|^ {2}\w+: /.test(l)).map((l) => l.replace(/: \+\d+ -\d+ (lines|行)$/, ""));
      assert.ok(data(en.stdout).length > 60);
      assert.deepEqual(data(ja.stdout), data(en.stdout));
    });

    it("LANG=ja_JP.UTF-8 selects Japanese, and --lang en overrides it", async () => {
      const byLocale = await plan(["--config-file", file], { LANG: "ja_JP.UTF-8" });
      assert.equal(byLocale.stdout, ja.stdout);
      assert.equal(byLocale.stderr, ja.stderr);
      assert.equal((await plan(["--config-file", file, "--lang", "en"], { LANG: "ja_JP.UTF-8" })).stdout, en.stdout);
    });

    it("settings errors in Japanese keep the key, the value and the expected form", async () => {
      const dir = tmp();
      const file = stack(dir, (y) => y.replace("zone: a", "zone: ap-northeast-1a"));
      const r = await plan(["--config-file", file], { LANG: "ja_JP.UTF-8" });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^スタック設定に 1 件の問題があります:\n {2}- workers\.zone: 設定値 "ap-northeast-1a"、正しい形式: the availability-zone LETTER/);
      assert.match(r.stderr, /`pulumi config set --path <キー> <値>` で修正してください/);
    });

    it("refuses an unknown --lang", async () => {
      const r = await plan(["--lang", "fr"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /--lang fr: expected one of en, ja/);
    });
  });
});
