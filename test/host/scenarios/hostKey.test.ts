// Issue 18, part 1: a different host key answers on the CI server's address (the server was
// replaced, or something else took its address). The program's connection pins ciServer.hostKey;
// the real ssh client, given that connection's key as the only known one (as @pulumi/command
// 1.2.1 does), refuses before authenticating: nothing runs on the server, nothing is written, and
// the error says what to check. Then the right key: the same apply goes through.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { apply, ciRoutes, CI_PATHS, hostKeyCheck, hostStackConfig, otherHostKey, readFiles, STATE_DIR, type ApplyResult } from "../programRun";
import { useSandbox } from "../sandbox";

describe("host scenario: another host key answers at the CI server's address", function () {
  this.timeout(180_000);
  const ci = useSandbox("ci-2.1.0");
  let pinned: string;
  let before_: Record<string, Buffer | null>;
  let stateBefore: boolean;
  let refused: ApplyResult;
  let calls: string[];

  before(async () => {
    const sb = ci();
    // A real Ed25519 key that is not the sandbox's: the key the stack pinned for the real server.
    pinned = otherHostKey();
    before_ = readFiles(sb, Object.values(CI_PATHS));
    stateBefore = sb.exists(STATE_DIR);
    sb.clearCalls();
    sb.clearEvents();
    refused = await apply(hostStackConfig(sb, (c) => (c.ciServer.hostKey = pinned)), { routes: ciRoutes(ci()), checkHostKeys: true });
    calls = sb.calls();
  });

  it("the real ssh client refuses the sandbox's key when the pinned one differs, and accepts its own", async () => {
    const wrong = await hostKeyCheck(ci(), pinned);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key .* not known/i);
    assert.equal((await hostKeyCheck(ci(), ci().hostKey)).code, 0);
  });

  it("the apply fails at its first command, which never ran; none after it was tried", () => {
    assert.ok(refused.error, "the apply must fail");
    assert.deepEqual(refused.executed, []);
    assert.equal(refused.attempted.length, 1, refused.attempted.join(", "));
    assert.match(refused.error!.message, new RegExp(`^${refused.attempted[0]}: ssh: host key mismatch`));
  });

  it("nothing ran on the server: no stand-in call, no docker event, no file changed, no state written", () => {
    assert.deepEqual(calls, []);
    assert.deepEqual(ci().events(), []);
    assert.deepEqual(readFiles(ci(), Object.values(CI_PATHS)), before_);
    assert.equal(ci().exists(STATE_DIR), stateBefore);
  });

  it("README's troubleshooting for the provider's error says what to check, and its ssh-keyscan shows the key that answers", () => {
    const port = ci().port;
    // The operator sees pulumi-command's own "ssh: host key mismatch"; README maps it to what to check.
    const readme = fs.readFileSync(path.join(__dirname, "../../../README.md"), "utf8");
    const entry = readme.split("\n- ").find((b) => b.startsWith("**`ssh: handshake failed: ssh: host key mismatch`**"));
    assert.ok(entry, "README's troubleshooting has no entry for ssh: host key mismatch");
    assert.match(entry, /nothing was run there\. Check `ciServer\.hostKey`/);
    assert.match(entry, /`ssh-keyscan -t ed25519 \[-p PORT\] HOST`/);
    assert.match(refused.error!.message, /ssh: host key mismatch/);
    // That command does show the key that answered (OpenSSH's ssh-keyscan against the sandbox).
    const scanned = execFileSync("ssh-keyscan", ["-t", "ed25519", "-p", String(port), "127.0.0.1"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    assert.equal(scanned.trim().split(/\s+/).slice(1, 3).join(" "), ci().hostKey);
    assert.notEqual(ci().hostKey, pinned);
  });

  it("with the key ssh-keyscan shows pinned instead, the same apply goes through", async () => {
    const ok = await apply(hostStackConfig(ci()), { routes: ciRoutes(ci()), checkHostKeys: true });
    assert.equal(ok.error, undefined, String(ok.error));
    assert.ok(ok.executed.length > 5);
    assert.ok(ci().calls().length > 0);
  });
});
