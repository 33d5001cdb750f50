// Issue 9, parts 4 and 5, through the real program's commands on a Collaborage 2.1.0 sandbox:
// destroy undoes this stack's edits on the files as they are now (keeping changes made after
// them), refuses by key when one of its managed values was changed by hand, and the timestamped
// backups stay bounded.
import { strict as assert } from "node:assert";
import { apply, ciRoutes, CI_PATHS, destroy, hostStackConfig, STATE_DIR, type ApplyResult, type Deleted } from "../programRun";
import { useSandbox } from "../sandbox";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck, listDir } from "./checks";
import { fixtureBytes } from "./expected";

const TOML_STATE = `${STATE_DIR}/config-toml`;

/** What the runner or an operator does to config.toml outside the managed keys. */
const handEdits = (t: string) => {
  const out = t.replace('token = "glrt-REDACTED"', 'token = "glrt-ROTATED"')
    .replace("check_interval = 0\n", "check_interval = 0\n# log_level raised by ops, ticket 42\nlog_level = \"debug\"\n")
    .replace("    shm_size = 0\n", "    shm_size = 268435456\n");
  assert.notEqual(out, t);
  return out;
};

describe("host: destroy undoes this stack's edits, not later changes; backups stay bounded (issue 9.4, 9.5)", function () {
  this.timeout(300_000);

  describe("six changes of config.toml, then hand edits elsewhere in it, then destroy", () => {
    const ci = useSandbox("ci-2.1.0");
    let last: ApplyResult;
    let done: Deleted[];

    it("each change writes a backup; the original and the newest 5 backups are kept", async () => {
      const sb = ci();
      const first = new Map<string, ApplyResult["executed"][number]>();
      for (let i = 1; i <= 6; i++) {
        // After the first up only config.toml's inputs change: the engine would run only its commands.
        last = await apply(hostStackConfig(sb, (c) => { c.runner.idleTime = 1800 + i; }), {
          routes: ciRoutes(sb),
          intercept: (cmd) => {
            const e = first.get(cmd.name);
            return e && !cmd.name.startsWith("ci-server-config-toml-") ? { code: 0, stdout: e.stdout, stderr: "" } : undefined;
          },
        });
        if (i === 1) for (const e of last.executed) first.set(e.name, e);
        assert.equal(last.error, undefined, String(last.error));
        assert.match(sb.readFile(CI_PATHS.configToml).toString("utf8"), new RegExp(`IdleTime = ${1800 + i}\\n`));
      }
      const names = await listDir(sb, TOML_STATE);
      const backups = names.filter((n) => n.startsWith("backup-"));
      assert.equal(backups.length, 5, names.join(" "));
      assert.ok(names.includes("original"));
      assert.deepEqual(names.filter((n) => n.startsWith("reverse")).sort(), ["reverse-1", "reverse-2", "reverse-3", "reverse-4", "reverse-5", "reverse-6"]);
      // The oldest backup went: the original bytes now exist only as `original`.
      assert.ok(backups.every((b) => !sb.readFile(`${TOML_STATE}/${b}`).equals(fixtureBytes("config.toml"))));
      assert.ok(sb.readFile(`${TOML_STATE}/original`).equals(fixtureBytes("config.toml")));
      for (const n of names) assert.equal(sb.stat(`${TOML_STATE}/${n}`).mode & 0o077, 0, `${n} is root-only`);
    });

    it("destroy undoes all six edits of config.toml and keeps the hand edits, owner and mode", async () => {
      const sb = ci();
      const edited = handEdits(sb.readFile(CI_PATHS.configToml).toString("utf8"));
      sb.writeFile(CI_PATHS.configToml, edited, { owner: "root", mode: 0o600 });
      done = await destroy(last, ciRoutes(sb));
      const toml = done.find((d) => d.name === "ci-server-config-toml-write")!;
      assert.match(toml.stdout, /undid pulumi's edit of \/data\/gitlab-runner\/config\/config\.toml, keeping the changes made after it/);
      assert.equal(sb.readFile(CI_PATHS.configToml).toString("utf8"), handEdits(fixtureBytes("config.toml").toString("utf8")));
      assert.deepEqual([sb.stat(CI_PATHS.configToml).owner, sb.stat(CI_PATHS.configToml).mode.toString(8)], ["root", "600"]);
      assert.ok(sb.readFile(CI_PATHS.compose).equals(fixtureBytes("ci-docker-compose.yml")));
      assert.ok(sb.readFile(CI_PATHS.commonEnv).equals(fixtureBytes("common.env")));
      assert.equal(sb.exists(CI_PATHS.dockerDropIn), false);
      const names = await listDir(sb, TOML_STATE);
      assert.deepEqual(names.filter((n) => !/^(backup|before-restore)-/.test(n)), [], "markers and reverse edits are cleared");
      const [before] = names.filter((n) => n.startsWith("before-restore-"));
      assert.equal(sb.readFile(`${TOML_STATE}/${before}`).toString("utf8"), edited, "the file as destroy found it is kept");
    });

    it("9: leaks no secret canary; every script passes shellcheck", () => {
      assertNoCanaryLeaks(ci(), { commands: last.commands, executed: last.executed });
      assert.ok(done.every((d) => !/CANARY/.test(d.stdout + d.stderr)));
      assertScriptsPassShellcheck(last.commands);
    });
  });

  describe("a hand edit of a managed value (IdleTime), then destroy", () => {
    const ci = useSandbox("ci-2.1.0");
    let run: ApplyResult;

    it("stops at config.toml with exit 7 naming the key, and changes nothing", async () => {
      const sb = ci();
      run = await apply(hostStackConfig(sb), { routes: ciRoutes(sb) });
      assert.equal(run.error, undefined, String(run.error));
      const edited = sb.readFile(CI_PATHS.configToml).toString("utf8").replace("IdleTime = 1800\n", "IdleTime = 900\n");
      sb.writeFile(CI_PATHS.configToml, edited, { owner: "root", mode: 0o600 });
      const err = await destroy(run, ciRoutes(sb)).then(() => undefined, (e: Error) => e);
      assert.ok(err, "destroy must stop");
      assert.match(err.message, /delete of ci-server-config-toml-write failed with exit code 7/);
      assert.match(err.message, /\[\[runners\]\] "[^"]+" \[runners\.machine\] IdleTime: changed since pulumi wrote it/);
      assert.match(err.message, /token rotation/);
      assert.match(err.message, /pulumi state delete/);
      assert.doesNotMatch(err.message, /CANARY|900|1800/, "names the key, never a value");
      assert.equal(sb.readFile(CI_PATHS.configToml).toString("utf8"), edited);
      assert.ok((await listDir(sb, TOML_STATE)).includes("written"), "the markers stay for the next destroy");
    });

    it("after putting the value back by hand, destroy goes through", async () => {
      const sb = ci();
      const rotated = (t: string) => t.replace('token = "glrt-REDACTED"', 'token = "glrt-ROTATED"');
      const back = rotated(sb.readFile(CI_PATHS.configToml).toString("utf8").replace("IdleTime = 900\n", "IdleTime = 1800\n"));
      sb.writeFile(CI_PATHS.configToml, back, { owner: "root", mode: 0o600 });
      await destroy(run, ciRoutes(sb));
      assert.equal(sb.readFile(CI_PATHS.configToml).toString("utf8"), rotated(fixtureBytes("config.toml").toString("utf8")));
    });

    it("9: leaks no secret canary", () => {
      assertNoCanaryLeaks(ci(), { commands: run.commands, executed: run.executed });
    });
  });
});
