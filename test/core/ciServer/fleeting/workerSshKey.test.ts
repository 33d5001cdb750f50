import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { scriptBody, scriptHeader } from "../../../../core/remote/shell";
import {
  parseWorkerPublicKey, workerKeyCreateBody, workerKeyCreateScript, workerKeyDeleteBody, workerKeyDeleteScript, workerKeyPath,
} from "../../../../core/ciServer/fleeting/workerSshKey";
import { shFileLines } from "../../../helpers/shFiles";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../../../helpers/shellcheck";

const VOL = { host: "/data/gitlab-runner/config", container: "/etc/gitlab-runner" };

describe("core/ciServer/fleeting/workerSshKey", () => {
  it("the key lives in ssh/ of the runner's config volume; key_path is the container's view", () => {
    assert.deepEqual(workerKeyPath(VOL), { host: "/data/gitlab-runner/config/ssh/id_ed25519", container: "/etc/gitlab-runner/ssh/id_ed25519" });
    assert.throws(() => workerKeyPath({ host: "/data", container: "/etc/gitlab-runner" }), /at least two levels deep/);
    assert.throws(() => workerKeyPath({ host: "data/x", container: "/etc/gitlab-runner" }), /must be absolute/);
  });

  it("create: exact output (the preamble, then lib/die.sh, lib/signal_traps.sh and fleeting/worker-key-create.sh)", () => {
    assert.deepEqual(workerKeyCreateBody({ configVolume: VOL }).split("\n"), [
      "set -eu",
      "key='/data/gitlab-runner/config/ssh/id_ed25519'",
      "dir='/data/gitlab-runner/config/ssh'",
      "sd='/var/lib/gitlab-runner-autoscaling/worker-ssh-key'",
      "comment='gitlab-runner-autoscaling worker'",
      ...shFileLines("lib/die.sh"),
      ...shFileLines("lib/signal_traps.sh"),
      ...shFileLines("fleeting/worker-key-create.sh"),
      "",
    ]);
    const s = workerKeyCreateScript({ configVolume: VOL });
    assert.deepEqual(scriptHeader(s), ["gitlab-runner-autoscaling: worker SSH key /data/gitlab-runner/config/ssh/id_ed25519 (public half only)"]);
    assert.equal(scriptBody(s), workerKeyCreateBody({ configVolume: VOL }));
  });

  it("delete: exact output", () => {
    assert.deepEqual(workerKeyDeleteBody({ configVolume: VOL }).split("\n"), [
      "set -eu",
      "key='/data/gitlab-runner/config/ssh/id_ed25519'",
      "dir='/data/gitlab-runner/config/ssh'",
      "sd='/var/lib/gitlab-runner-autoscaling/worker-ssh-key'",
      "# fleeting/worker-key-delete.sh",
      "if [ ! -e \"$sd/created-key\" ] || [ \"$(cat \"$sd/created-key\")\" != \"$key\" ]; then",
      "  echo \"kept: $key (this stack did not create it)\"",
      "  exit 0",
      "fi",
      "rm -f \"$key\" \"$key.pub\"",
      "if [ -e \"$sd/created-dir\" ] && [ \"$(cat \"$sd/created-dir\")\" = \"$dir\" ]; then",
      "  rmdir \"$dir\" 2>/dev/null || echo \"kept: $dir (not empty)\"",
      "fi",
      "rm -f \"$sd/created-key\" \"$sd/created-dir\"",
      "rmdir \"$sd\" 2>/dev/null || true",
      "echo \"removed: $key\"",
      "",
    ]);
    assert.equal(scriptBody(workerKeyDeleteScript({ configVolume: VOL })), workerKeyDeleteBody({ configVolume: VOL }));
  });

  it("create and delete pass shellcheck -s sh, wrapped and body", () => {
    assertShellcheckClean(workerKeyCreateScript({ configVolume: VOL }), "key create (wrapped)", WRAPPED_EXCLUDES);
    assertShellcheckClean(workerKeyCreateBody({ configVolume: VOL }), "key create (body)");
    assertShellcheckClean(workerKeyDeleteScript({ configVolume: VOL }), "key delete (wrapped)", WRAPPED_EXCLUDES);
    assertShellcheckClean(workerKeyDeleteBody({ configVolume: VOL }), "key delete (body)");
  });

  it("parseWorkerPublicKey takes exactly one Ed25519 public key line and never echoes private material", () => {
    const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC8Z0xK4cUpbq0aUqv0wq5y1m2e9QyZ0+Xo5Q1kHq0zK";
    assert.equal(parseWorkerPublicKey(`${pub}\n`), pub);
    assert.throws(() => parseWorkerPublicKey(`motd\n${pub}`), /expected one line "ssh-ed25519 AAAA…"/);
    assert.throws(() => parseWorkerPublicKey(`${pub} comment`), /expected one line/);
    const priv = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    assert.throws(() => parseWorkerPublicKey(priv), (e: Error) => e.message.includes("(private key material, not shown)") && !e.message.includes("b3BlbnNzaC1r"));
  });

  describe("run for real under /bin/sh (temp volume and state dir)", () => {
    let root: string;
    const run = (script: string) => spawnSync("/bin/sh", ["-c", script], { encoding: "utf8" });
    beforeEach(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), "gra-key-"));
      fs.mkdirSync(path.join(root, "data/config"), { recursive: true });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
    const vol = () => ({ host: path.join(root, "data/config"), container: "/etc/gitlab-runner" });
    const opts = () => ({ stateDir: path.join(root, "state"), sudo: false });

    it("twice: the same public key, only it on stdout; 0600 key in a 0700 dir; delete removes both and the dir", () => {
      const a = { configVolume: vol() };
      const key = workerKeyPath(a.configVolume).host;
      const r1 = run(workerKeyCreateBody(a, opts()));
      assert.equal(r1.status, 0, r1.stderr);
      assert.equal(r1.stderr, "");
      const pub = parseWorkerPublicKey(r1.stdout);
      const r2 = run(workerKeyCreateBody(a, opts()));
      assert.equal(r2.stdout, r1.stdout);
      const priv = fs.readFileSync(key, "utf8");
      assert.match(priv, /BEGIN OPENSSH PRIVATE KEY/);
      assert.ok(!r1.stdout.includes("PRIVATE") && !r2.stdout.includes("PRIVATE"));
      assert.equal(fs.statSync(key).mode & 0o777, 0o600);
      assert.equal(fs.statSync(path.dirname(key)).mode & 0o777, 0o700);
      assert.equal(fs.readFileSync(`${key}.pub`, "utf8").split(" ").slice(0, 2).join(" "), pub);
      assert.deepEqual(fs.readdirSync(path.dirname(key)).sort(), ["id_ed25519", "id_ed25519.pub"], "no temp files left");
      const d = run(workerKeyDeleteBody(a, opts()));
      assert.equal(d.status, 0, d.stderr);
      assert.equal(d.stdout, `removed: ${key}\n`);
      assert.equal(fs.existsSync(path.dirname(key)), false);
      assert.equal(fs.existsSync(path.join(root, "state/worker-ssh-key")), false);
      assert.match(run(workerKeyDeleteBody(a, opts())).stdout, /^kept: .* \(this stack did not create it\)\n$/);
    });

    it("a key that was there before is used as is and never removed", () => {
      const a = { configVolume: vol() };
      const key = workerKeyPath(a.configVolume).host;
      fs.mkdirSync(path.dirname(key), { mode: 0o700 });
      assert.equal(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", key]).status, 0);
      const mine = spawnSync("ssh-keygen", ["-y", "-f", key], { encoding: "utf8" }).stdout.split(" ").slice(0, 2).join(" ");
      const r = run(workerKeyCreateBody(a, opts()));
      assert.equal(r.stdout, `${mine}\n`);
      assert.match(run(workerKeyDeleteBody(a, opts())).stdout, /^kept: /);
      assert.ok(fs.existsSync(key));
    });

    it("a passphrase-protected key is refused (exit 2) without printing it", () => {
      const a = { configVolume: vol() };
      const key = workerKeyPath(a.configVolume).host;
      fs.mkdirSync(path.dirname(key), { mode: 0o700 });
      assert.equal(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret-pass", "-f", key]).status, 0);
      const r = run(workerKeyCreateBody(a, opts()));
      assert.equal(r.status, 2);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /is not an unencrypted OpenSSH private key/);
      assert.ok(!r.stderr.includes("PRIVATE"));
    });
  });
});
