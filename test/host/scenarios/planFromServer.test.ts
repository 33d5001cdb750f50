// Issue #18 part 5: `npm run plan -- --from-server` against a sandbox CI server after an apply.
// The plan reads over the system ssh client (host key pinned), never writes (calls log empty,
// files and the state dir byte-identical), never prints a secret read from the server or given
// to it, and reports a hand edit of a managed value as drift. A wrong host key reads nothing.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { runPlanCli } from "../../../offline/planCli";
import { readServer } from "../../../offline/fromServer";
import { validateSettings } from "../../../settings/validate";
import { devRaw } from "../../helpers/devConfig";
import { apply, ciRoutes, CANARY_AWS_SECRET, CANARY_PROXY_CREDENTIALS, CANARY_PROXY_PASSWORD, CI_PATHS, hostStackConfig, otherHostKey, readFiles, STATE_DIR, type StackConfig } from "../programRun";
import { useSandbox, type Sandbox } from "../sandbox";
import { listTree } from "./checks";

const PROJECT = "gitlab-runner-autoscaling";
const CANARY_TOKEN = "glrt-CANARY-token-5581";
const CANARY_DB_PASSWORD = "CANARY-db-password-5581";
const SECRET_KEYS = ["sshPrivateKey", "proxyCredentials"];

/** The stack as `pulumi config set` leaves it: secrets only as encrypted `secure:` values (never decrypted offline). */
function stackFile(dir: string, c: StackConfig): string {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    const key = k.includes(":") ? k : `${PROJECT}:${k}`;
    config[key] = SECRET_KEYS.includes(k) ? { secure: "v1:AAAAAAAAAAAAAAAA:encrypted-and-never-read" } : v;
  }
  const file = path.join(dir, "Pulumi.dev.yaml");
  fs.writeFileSync(file, stringify({ config }));
  return file;
}

interface PlanRun {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
  outFiles: Record<string, string>;
}

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[path.relative(dir, path.join(e.parentPath, e.name))] = fs.readFileSync(path.join(e.parentPath, e.name), "utf8");
  }
  return out;
}

/** Every file of the managed paths and of the state dir, by content. */
async function serverSnapshot(sb: Sandbox): Promise<Record<string, string | null>> {
  const tree = await listTree(sb, STATE_DIR);
  const files = tree.filter((e) => e.type === "f").map((e) => path.posix.join(STATE_DIR, e.name));
  return Object.fromEntries(Object.entries(readFiles(sb, [...Object.values(CI_PATHS), ...files])).map(([p, b]) => [p, b === null ? null : b.toString("base64")]));
}

describe("host scenario: npm run plan -- --from-server (issue 18, part 5)", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-2.1.0");
  const jump = useSandbox("builder");
  let tmp: string;
  let keyFile: string;
  let config: StackConfig;
  let secrets: string[];

  const plan = async (c: StackConfig, extra: string[] = []): Promise<PlanRun> => {
    const out = fs.mkdtempSync(path.join(tmp, "out-"));
    fs.rmdirSync(out);
    let stdout = "";
    let stderr = "";
    const code = await runPlanCli(["--config-file", stackFile(tmp, c), "--from-server", "--ssh-key", keyFile, "--out", out, "--lang", "en", ...extra], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    if (process.env.GRA_DEBUG_PLAN) fs.appendFileSync(process.env.GRA_DEBUG_PLAN, `${stdout}\n${stderr}\n=====\n`);
    return { code, stdout, stderr, out, outFiles: readTree(out) };
  };

  const assertNoSecret = (r: PlanRun) => {
    for (const s of secrets) {
      assert.ok(!r.stdout.includes(s), `stdout shows a secret (${s.slice(0, 12)}…)`);
      assert.ok(!r.stderr.includes(s), `stderr shows a secret (${s.slice(0, 12)}…)`);
      for (const [f, text] of Object.entries(r.outFiles)) assert.ok(!text.includes(s), `--out ${f} holds a secret (${s.slice(0, 12)}…)`);
    }
  };

  before(async () => {
    const sb = ci();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gra-plan-from-server-"));
    keyFile = path.join(tmp, "id_login");
    fs.writeFileSync(keyFile, sb.privateKey, { mode: 0o600 });
    // A runner token canary in the server's own config.toml (the fixture's is a placeholder).
    const toml = sb.readFile(CI_PATHS.configToml).toString("utf8");
    assert.match(toml, /token = "glrt-REDACTED"/);
    const st = sb.stat(CI_PATHS.configToml);
    sb.writeFile(CI_PATHS.configToml, toml.replace(/token = "glrt-REDACTED"/, `token = "${CANARY_TOKEN}"`), { owner: st.owner, mode: st.mode & 0o7777 });
    // And the database password in docker-compose.yml (Collaborage ships "gitlab" in two places).
    const compose = sb.readFile(CI_PATHS.compose).toString("utf8");
    assert.match(compose, /POSTGRES_PASSWORD: gitlab\n/);
    assert.match(compose, /gitlab_rails\['db_password'\] = 'gitlab'/);
    const cst = sb.stat(CI_PATHS.compose);
    sb.writeFile(CI_PATHS.compose, compose.replace(/POSTGRES_PASSWORD: gitlab\n/, `POSTGRES_PASSWORD: ${CANARY_DB_PASSWORD}\n`).replace(/gitlab_rails\['db_password'\] = 'gitlab'/, `gitlab_rails['db_password'] = '${CANARY_DB_PASSWORD}'`), { owner: cst.owner, mode: cst.mode & 0o7777 });
    config = hostStackConfig(sb);
    const up = await apply(config, { routes: ciRoutes(sb), snapshotEveryMs: 0 });
    assert.equal(up.error, undefined, String(up.error));
    const after = sb.readFile(CI_PATHS.configToml).toString("utf8");
    // The canaries are on the server: the token, the access key's secret, the proxy password.
    for (const c of [CANARY_TOKEN, CANARY_AWS_SECRET]) assert.ok(after.includes(c), `config.toml lacks canary ${c}`);
    assert.ok(sb.readFile(CI_PATHS.dockerDropIn).toString("utf8").includes(CANARY_PROXY_PASSWORD), "the drop-in lacks the proxy password");
    assert.ok(sb.readFile(CI_PATHS.compose).toString("utf8").includes(CANARY_DB_PASSWORD), "docker-compose.yml lacks the database password");
    secrets = [CANARY_TOKEN, CANARY_DB_PASSWORD, CANARY_AWS_SECRET, CANARY_PROXY_PASSWORD, CANARY_PROXY_CREDENTIALS, sb.privateKey.split("\n")[1]];
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("reads an unchanged server without writing anything, reports no drift, and shows no secret", async () => {
    const sb = ci();
    const before = await serverSnapshot(sb);
    sb.clearCalls();
    const r = await plan(config);
    assertNoSecret(r);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sb.calls(), [], "the plan ran a stand-in (docker, systemctl, …) on the server");
    assert.deepEqual(await serverSnapshot(sb), before, "a file on the server changed");
    assert.match(r.stdout, /read over SSH from ec2-user@127\.0\.0\.1:\d+ \(read-only\)/);
    for (const p of [CI_PATHS.configToml, CI_PATHS.commonEnv, CI_PATHS.compose, CI_PATHS.daemonJson, CI_PATHS.dockerDropIn]) {
      assert.match(r.stdout, new RegExp(`  ${p.replace(/[.]/g, "\\.")}: as the last pulumi up left it\\n`), p);
    }
    assert.match(r.stdout, / 0 drifted, 0 to change, [1-9]\d* as set, 0 differing \(cause unknown\), 0 not yet written\./);
    assert.doesNotMatch(r.stdout, /DRIFTED/);
    assert.ok(r.outFiles["plan.txt"].includes("0 drifted"), "plan.txt lacks the drift report");
    assert.ok(r.outFiles["files/ci-server/config.toml"].includes('token = "[secret]"'), "the token is not masked in the planned config.toml");
    assertNoSecret(r);
  });

  it("reports a hand edit of a managed value (IdleTime in config.toml) as drift, and what up would set", async () => {
    const sb = ci();
    const toml = sb.readFile(CI_PATHS.configToml).toString("utf8");
    assert.match(toml, /IdleTime = 1800\n/);
    const st = sb.stat(CI_PATHS.configToml);
    sb.writeFile(CI_PATHS.configToml, toml.replace(/IdleTime = 1800\n/, "IdleTime = 600\n"), { owner: st.owner, mode: st.mode & 0o7777 });
    const before = await serverSnapshot(sb);
    sb.clearCalls();
    const logBefore = sb.sshdLog();
    const r = await plan(config);
    assert.equal(r.code, 0, r.stderr);
    // The login the wrong-key case must not reach: sshd logs it.
    assert.match(sb.sshdLog().slice(logBefore.length), /Accepted publickey for ec2-user/);
    assert.deepEqual(sb.calls(), []);
    assert.deepEqual(await serverSnapshot(sb), before);
    assert.match(r.stdout, new RegExp(`  ${CI_PATHS.configToml.replace(/[.]/g, "\\.")}: changed on the server since the last pulumi up\\n`));
    assert.match(r.stdout, /DRIFTED +\[\[runners\]\] "[^"]*" \[runners\.machine\] IdleTime: now `IdleTime = 600`, the last up set `IdleTime = 1800`; up would set `IdleTime = 1800`/);
    assert.match(r.stdout, / 1 drifted, 0 to change,/);
    // The other files are untouched.
    assert.match(r.stdout, new RegExp(`  ${CI_PATHS.commonEnv.replace(/[.]/g, "\\.")}: as the last pulumi up left it\\n`));
    assertNoSecret(r);
  });

  it("says what the stack config would change when the server is as the last up left it", async () => {
    const sb = ci();
    // Back to what up wrote, then a config change instead.
    const toml = sb.readFile(CI_PATHS.configToml).toString("utf8");
    const st = sb.stat(CI_PATHS.configToml);
    sb.writeFile(CI_PATHS.configToml, toml.replace(/IdleTime = 600\n/, "IdleTime = 1800\n"), { owner: st.owner, mode: st.mode & 0o7777 });
    const r = await plan({ ...config, runner: { ...(config.runner as object), idleTime: 2400 } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /change +\[\[runners\]\] "[^"]*" \[runners\.machine\] IdleTime: `IdleTime = 1800` \(as the last up set it\); up would set `IdleTime = 2400`/);
    assert.match(r.stdout, / 0 drifted, 1 to change,/);
    assertNoSecret(r);
  });

  it("reports a managed file removed by hand as missing, and plans its re-creation", async () => {
    const sb = ci();
    const saved = sb.readFile(CI_PATHS.dockerDropIn);
    const st = sb.stat(CI_PATHS.dockerDropIn);
    assert.equal((await sb.exec(`sudo -n rm -f ${CI_PATHS.dockerDropIn}`)).code, 0);
    try {
      sb.clearCalls();
      const r = await plan(config);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(sb.calls(), []);
      assert.match(r.stdout, new RegExp(`  ${CI_PATHS.dockerDropIn.replace(/[.]/g, "\\.")}: missing on the server: a pulumi up wrote it, something removed it since\\n`));
      assert.match(r.stdout, /DRIFTED +HTTP_PROXY: now \(absent\), the last up set `Environment="HTTP_PROXY=http:\/\/\[secret\]@192\.0\.2\.1:3128"`; up would set `Environment="HTTP_PROXY=http:\/\/\[secret\]@192\.0\.2\.1:3128"`/);
      assertNoSecret(r);
    } finally {
      sb.writeFile(CI_PATHS.dockerDropIn, saved, { owner: st.owner, mode: st.mode & 0o7777 });
    }
  });

  it("reads through the bastion, each hop's host key checked (ProxyCommand)", async () => {
    const sb = ci();
    const b = jump();
    // One login key for both hops, as on a real bastion: the CI sandbox's key is authorised on the bastion too.
    const pub = execFileSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" });
    b.writeFile("/.sandbox/authorized_keys", `${b.readFile("/.sandbox/authorized_keys").toString("utf8").replace(/\n?$/, "\n")}${pub}`);
    // The bastion, with its own host key, joins the validated settings here: the sandbox stack config has none.
    const s = validateSettings({ ...devRaw(), ciServer: { ...(config.ciServer as object) } });
    const settings = { ...s, ciServer: { ...s.ciServer, bastion: { host: "127.0.0.1", port: b.port, user: "ubuntu", hostKey: b.hostKey } } };
    sb.clearCalls();
    const read = await readServer(settings, [CI_PATHS.configToml, "/nonexistent/file"], { sshKey: keyFile, env: { PATH: process.env.PATH } });
    const got = read.files[CI_PATHS.configToml];
    assert.equal(got.kind === "text" ? got.text : got.kind, sb.readFile(CI_PATHS.configToml).toString("utf8"));
    assert.deepEqual(read.files["/nonexistent/file"], { kind: "absent" });
    assert.ok(read.state["config-toml"]?.written, "the config-toml marker was not read");
    assert.deepEqual(sb.calls(), []);
    // The bastion's own key is checked too: a wrong one stops at the first hop.
    const wrong = otherHostKey();
    await assert.rejects(readServer({ ...settings, ciServer: { ...settings.ciServer, bastion: { ...settings.ciServer.bastion, hostKey: wrong } } } as typeof settings, [CI_PATHS.configToml], { sshKey: keyFile, env: { PATH: process.env.PATH } }),
      /is not the one in ciServer\.hostKey \/ ciServer\.bastion\.hostKey: nothing was read/);
  });

  it("refuses a server that answers with another host key: a clear error, and nothing read", async () => {
    const sb = ci();
    const wrongKey = otherHostKey();
    sb.clearCalls();
    const logBefore = sb.sshdLog();
    const r = await plan({ ...config, ciServer: { ...(config.ciServer as object), hostKey: wrongKey } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the SSH host key of 127\.0\.0\.1:\d+ \(or its bastion\) is not the one in ciServer\.hostKey: nothing was read/);
    assert.match(r.stderr, /compare the key it offers \(ssh-keyscan, ssh-keygen -lf\)/);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.outFiles, {}, "--out was written");
    assert.deepEqual(sb.calls(), []);
    // sshd never accepted a login: the client stopped at the key exchange.
    assert.doesNotMatch(sb.sshdLog().slice(logBefore.length), /Accepted publickey/);
    assertNoSecret(r);
  });
});
