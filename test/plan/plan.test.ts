// `npm run plan` as a user runs it: a child process, its exit code, its output and the files it writes.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { placeholderSshKey, PLACEHOLDER_PROXY_CREDENTIALS, PLACEHOLDER_PROVIDER_SECRET } from "../../offline/placeholders";
import { REPO, fixture } from "../helpers/fixtures";

function plan(...args: string[]) {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register", path.join(REPO, "scripts/plan.ts"), ...args], { cwd: REPO, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const made: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-plan-"));
  made.push(dir);
  return dir;
};
const walk = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));

describe("npm run plan", function () {
  this.timeout(120000);
  let out: string;
  let result: ReturnType<typeof plan>;
  before(() => {
    out = path.join(tmp(), "p");
    result = plan("--out", out);
  });
  after(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("prints the dev stack's plan and exits 0", () => {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Plan for stack "dev"/);
    assert.match(result.stdout, /\+ network-ssh-from-ci {2}\(aws:vpc\/securityGroupIngressRule:SecurityGroupIngressRule\)\n\s+tcp\/22 into sg-0fedcba9876543210 from sg-0123456789abcdef0/);
    assert.match(result.stdout, /\+ ci-server-config-toml-write {2}\(command:remote:Command\)\n\s+guarded write of \/data\/gitlab-runner\/config\/config\.toml\n\s+waits on: ci-server-config-toml-read/);
    const managed = result.stdout.slice(result.stdout.indexOf("Files on the CI server:"));
    assert.match(managed, /^ {2}\/data\/gitlab-runner\/config\/config\.toml$/m);
    assert.match(managed, /^ {6}IdleTime = 1800$/m);
    assert.doesNotMatch(managed, /shellcheck/, "only the header's managed values, not comments inside the script");
    assert.match(result.stdout, /\/home\/ec2-user\/nop\/docker\/ci\/common\.env: \+3 -1 lines/);
    // The dev stack pins its host key and sets nothing that goes unused: no warning, and nothing else (no leaked promises).
    assert.equal(result.stderr, "");
  });

  it("writes the plan, the new server files, the AMI files, the IAM policy and diffs", () => {
    assert.deepEqual(walk(out).filter((f) => !f.startsWith("scripts/")).sort(), [
      "diffs/common.env.diff",
      "diffs/config.toml.diff",
      "diffs/daemon.json.diff",
      "diffs/docker-compose.yml.diff",
      "diffs/docker.service.d_gitlab-runner-autoscaling-proxy.conf.diff",
      "files/ami/apt-proxy.txt",
      "files/ami/docker-proxy.txt",
      "files/ami/profile-proxy.txt",
      "files/ami/scripts/apt-proxy.sh",
      "files/ami/scripts/check.sh",
      "files/ami/scripts/docker-proxy.sh",
      "files/ami/scripts/docker.sh",
      "files/ami/scripts/profile-proxy.sh",
      "files/ami/scripts/wait-ssh.sh",
      "files/ci-server/common.env",
      "files/ci-server/config.toml",
      "files/ci-server/daemon.json",
      "files/ci-server/docker-compose.yml",
      "files/ci-server/docker.service.d/gitlab-runner-autoscaling-proxy.conf",
      "files/iam/runner-policy.json",
      "plan.json",
      "plan.txt",
    ]);
    assert.equal(fs.readFileSync(path.join(out, "plan.txt"), "utf8"), result.stdout.slice(0, result.stdout.indexOf("\n\nWrote ") + 1));
    const toml = fs.readFileSync(path.join(out, "files/ci-server/config.toml"), "utf8");
    assert.match(toml, /executor = "docker\+machine"/);
    assert.match(toml, /token = "glrt-REDACTED"/, "the runner's own keys are kept");
    assert.match(fs.readFileSync(path.join(out, "diffs/docker-compose.yml.diff"), "utf8"), /^\+    env_file: \.\/common\.env$/m);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, "files/iam/runner-policy.json"), "utf8")).Version, "2012-10-17");
  });

  it("writes every remote command's exact create and delete script under scripts/, named after its resource", () => {
    const { resources } = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    const commands = resources.filter((r: any) => r.type === "command:remote:Command");
    assert.ok(commands.some((r: any) => r.name === "ci-server-config-toml-write") && commands.some((r: any) => r.name.startsWith("worker-ami-")));
    const expected: string[] = [];
    for (const r of commands) for (const phase of ["create", "delete"]) {
      if (typeof r.inputs[phase] !== "string") continue;
      expected.push(`scripts/${r.name}.${phase}.sh`);
      assert.equal(fs.readFileSync(path.join(out, `scripts/${r.name}.${phase}.sh`), "utf8"), r.inputs[phase], `${r.name} ${phase}`);
    }
    assert.deepEqual(walk(out).filter((f) => f.startsWith("scripts/") && !f.endsWith(".body.sh")).sort(), expected.sort());
    // The body a reviewer reads: the guarded write of config.toml, unquoted, as sh runs it.
    const body = fs.readFileSync(path.join(out, "scripts/ci-server-config-toml-write.create.body.sh"), "utf8");
    assert.match(body, /^set -eu\n/);
    assert.match(body, /^target='\/data\/gitlab-runner\/config\/config\.toml'$/m);
    assert.ok(fs.existsSync(path.join(out, "scripts/ci-server-config-toml-write.delete.body.sh")));
  });

  it("plan.json lists every resource with type, name, parent, dependsOn and inputs, secrets as [secret]", () => {
    const { resources } = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    assert.ok(resources.length > 30);
    for (const r of resources) assert.deepEqual(Object.keys(r).filter((k) => k !== "parent").sort(), ["dependsOn", "inputs", "name", "type"]);
    const write = resources.find((r: any) => r.name === "ci-server-config-toml-write");
    assert.equal(write.parent, "gitlab-runner-autoscaling:ci:RemoteFileEdit::ci-server-config-toml");
    assert.equal(write.inputs.stdin, "[secret]");
    assert.equal(write.inputs.connection, "[secret]");
    assert.match(write.inputs.create, /^# MachineOptions: amazonec2-secret-key=\[secret\]$/m);
  });

  it("never shows a secret: no key, no provider secret, no proxy password in plan.txt, plan.json or scripts/", () => {
    const scripts = walk(out).filter((f) => f.startsWith("scripts/"));
    assert.ok(scripts.length > 20);
    const shown = fs.readFileSync(path.join(out, "plan.txt"), "utf8") + fs.readFileSync(path.join(out, "plan.json"), "utf8") +
      scripts.map((f) => fs.readFileSync(path.join(out, f), "utf8")).join("");
    for (const secret of [placeholderSshKey().split("\n")[1], PLACEHOLDER_PROVIDER_SECRET]) assert.ok(!shown.includes(secret), secret);
    // The builder's private host key (core/workerImage/builderHostKey.ts) travels only in its secret user data.
    assert.ok(!/PRIVATE KEY|ed25519_private/.test(shown), "the builder's private host key is shown");
    // The scan can fail: the new config.toml does hold the (placeholder) access key secret.
    assert.ok(fs.readFileSync(path.join(out, "files/ci-server/config.toml"), "utf8").includes(PLACEHOLDER_PROVIDER_SECRET));
  });

  it("turns secure: values into placeholders and never needs their ciphertext", () => {
    const dir = tmp();
    const file = path.join(dir, "Pulumi.secret.yaml");
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8") +
      "  gitlab-runner-autoscaling:sshPrivateKey:\n    secure: v1:CIPHERTEXT-NOT-A-KEY\n" +
      "  gitlab-runner-autoscaling:proxyCredentials:\n    secure: v1:CIPHERTEXT-CREDENTIALS\n");
    const r = plan("--config-file", file, "--out", path.join(dir, "p"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Plan for stack "secret"/);
    const shown = r.stdout + fs.readFileSync(path.join(dir, "p/plan.json"), "utf8");
    assert.ok(!shown.includes("CIPHERTEXT"));
    assert.ok(!shown.includes(PLACEHOLDER_PROXY_CREDENTIALS.split(":")[1]), "the proxy password is masked");
    assert.match(r.stdout, /HTTP_PROXY=http:\/\/\[secret\]@192\.0\.2\.1:3128/);
    assert.match(fs.readFileSync(path.join(dir, "p/files/ci-server/docker.service.d/gitlab-runner-autoscaling-proxy.conf"), "utf8"), /placeholder-user:placeholder-password@/);
  });

  it("a bad configuration: exit 2, every problem listed, nothing written", () => {
    const dir = tmp();
    const file = path.join(dir, "Pulumi.bad.yaml");
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8")
      .replace("zone: a", "zone: ap-northeast-1a").replace("concurrent: 3", "concurrent: 0").replace("httpProxy: http://192.0.2.1:3128", "httpProxy: 192.0.2.1:3128"));
    const r = plan("--config-file", file, "--out", path.join(dir, "p"));
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /3 problem\(s\)/);
    assert.match(r.stderr, /workers\.zone: got "ap-northeast-1a"/);
    assert.match(r.stderr, /runner\.concurrent: got 0/);
    assert.match(r.stderr, /proxy\.httpProxy: got "192\.0\.2\.1:3128"/);
    assert.equal(fs.existsSync(path.join(dir, "p")), false);
  });

  it("a stack without ciServer.hostKey: exit 2, with the ssh-keyscan that gets the key and the command that stores it", () => {
    const dir = tmp();
    const file = path.join(dir, "Pulumi.nokey.yaml");
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8").replace(/^    hostKey: .*\n/m, "").replace("user: ec2-user\n", "user: ec2-user\n    port: 2222\n"));
    const r = plan("--config-file", file, "--out", path.join(dir, "p"));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ {2}- ciServer\.hostKey: got \(not set\); expected .*`ssh-keyscan -t ed25519 -p 2222 192\.0\.2\.3`.*`pulumi config set --path ciServer\.hostKey 'ssh-ed25519 AAAA…'`.*ciServer\.insecureSkipHostKeyCheck true`$/m);
    assert.equal(fs.existsSync(path.join(dir, "p")), false);
  });

  it("ciServer.insecureSkipHostKeyCheck: the plan goes on, with a warning naming it; the connection has no host key", () => {
    const dir = tmp();
    const file = path.join(dir, "Pulumi.insecure.yaml");
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8").replace(/^    hostKey: .*\n/m, "    insecureSkipHostKeyCheck: true\n"));
    const r = plan("--config-file", file, "--out", path.join(dir, "p"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "warning: [runtime] ciServer.insecureSkipHostKeyCheck is true: SSH does not verify the CI server 192.0.2.3, so the login key, the proxy credentials and the runner's access key go to whatever answers there. " +
      "Pin it: `ssh-keyscan -t ed25519 192.0.2.3`, then `pulumi config set --path ciServer.hostKey 'ssh-ed25519 AAAA…'`; then `pulumi config rm --path ciServer.insecureSkipHostKeyCheck`.\n");
  });

  it("a key that would be ignored (workers.zone under docker-autoscaler): a warning naming the key and the switch", () => {
    const dir = tmp();
    const file = path.join(dir, "Pulumi.zone.yaml");
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, "Pulumi.autoscaler.yaml"), "utf8").replace("    subnetCidr: 192.0.2.0/24\n", "    subnetCidr: 192.0.2.0/24\n    zone: c\n"));
    const r = plan("--config-file", file, "--out", path.join(dir, "p"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: \[runtime\] workers\.zone is set \("c"\) but has no effect: it counts only when runner\.executor is docker\+machine/m);
  });

  it("a refused upgrade path (known only from the server's files): exit 1 naming the key and what to do", () => {
    const dir = tmp();
    const file = path.join(dir, "Pulumi.up.yaml");
    fs.writeFileSync(file, fs.readFileSync(path.join(REPO, "Pulumi.dev.yaml"), "utf8") +
      "  gitlab-runner-autoscaling:upgrade:\n    gitlabImage: gitlab/gitlab-ce:18.2.8-ce.0\n");
    const r = plan("--config-file", file, "--out", path.join(dir, "p"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^plan failed: The GitLab upgrade is refused before any hop ran:\n {2}- upgrade\.gitlabImage: GitLab 18 needs PostgreSQL 16 or later, and the server's gitlab-db runs postgres:14\.9-alpine/m);
    assert.equal(fs.existsSync(path.join(dir, "p")), false);
  });

  it("a target several stops ahead: one hop per stop, each gated, with the backup first", () => {
    const r = plan("--stack", "upgrade");
    assert.equal(r.code, 0, r.stderr);
    const hops = ["16.3.9", "16.7.10", "16.11.10", "17.1.8", "17.3.7", "17.5.5", "17.8.7", "17.11.7"];
    const order = ["gitlab-upgrade-read", "gitlab-upgrade-preflight", "gitlab-upgrade-gate-start", "gitlab-upgrade-backup", ...hops.flatMap((h) => [`gitlab-upgrade-to-${h}-write`, `gitlab-upgrade-to-${h}-gate`])];
    const at = order.map((name) => r.stdout.indexOf(`+ ${name}  (`));
    assert.ok(at.every((i) => i >= 0), order.filter((_, i) => at[i] < 0).join(", "));
    assert.deepEqual([...at].sort((a, b) => a - b), at, "listed in the order they run");
    assert.match(r.stdout, /gitlabUpgradePath: GitLab 16\.0\.6 → 16\.3\.9 → 16\.7\.10 → 16\.11\.10 → 17\.1\.8 → 17\.3\.7 → 17\.5\.5 → 17\.8\.7 → 17\.11\.7: 8 hop\(s\), 8 GitLab restart\(s\)/);
    assert.match(r.stdout, /Backup before the first hop, kept after the upgrade and after destroy: \/data\/gitlab-upgrade-backups\/<UTC time>-gitlab-16\.0\.6\//);
    assert.match(r.stdout, /Hop 8: gitlab\/gitlab-ce:17\.11\.7-ce\.0; recreate gitlab, wait up to 30 min for its health, then a gate waits up to 30 min for its background migrations\./);
    assert.match(r.stdout, /The last hop also moves the runner to gitlab\/gitlab-runner:ubuntu-v17\.11\.0 \(one graceful runner restart\)\./);
    assert.match(r.stdout, /Bounded waits in all: up to 10 h 40 min\. Start between 00:30 and 12:19 server time \(snapshot window 23:00-00:30\)\./);
  });

  it("reads the server's files from --server-files (a Collaborage 1.1.0 compose file)", () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "docker-compose.yml"), fixture("collaborage/ci-docker-compose.v1.1.0.yml"));
    fs.writeFileSync(path.join(dir, "common.env"), fixture("collaborage/common.env"));
    fs.writeFileSync(path.join(dir, "config.toml"), fixture("collaborage/config.toml"));
    const r = plan("--server-files", dir, "--out", path.join(dir, "p"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(path.join(dir, "p/files/ci-server/docker-compose.yml"), "utf8"), /image: gitlab\/gitlab-runner:ubuntu-v12\.4\.1/);
  });

  it("rejects unknown options with the usage line", () => {
    const r = plan("--stak", "prod");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown or incomplete option --stak\nusage: npm run plan -- /);
  });
});
