// Issue 16 §3: every config.toml the program writes must load in GitLab Runner without a load error
// and without an unknown key. The real gitlab-runner cannot be built here (its gitlab.com
// dependencies answer 403 at the Go module proxy, test/host/README.md "The real runner"), so the
// check is the runner-toml model: the runner's own TOML library (BurntSushi/toml v1.6.0) decoding
// into the runner's keys and types, with `gitlab-runner lint`'s unknown-key check and texts.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { modelCheck, modelLoad, runnerTomlModel } from "../helpers/runnerTomlModel";
import { configCases } from "./configCases";

describe("the runner loads what we write (runner-toml model: BurntSushi/toml v1.6.0 on the runner's keys)", function () {
  let dir: string;
  before(function () {
    this.timeout(10 * 60 * 1000);
    runnerTomlModel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-runner-loads-"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const check = (name: string, text: string) => {
    const file = path.join(dir, `${name.replace(/[^A-Za-z0-9.-]+/g, "_")}.toml`);
    fs.writeFileSync(file, text);
    return modelCheck(file);
  };

  const cases = configCases();
  it("covers every fixture, both executors, the three cache modes and the two-runner files", () => {
    assert.ok(cases.length >= 50, String(cases.length));
    for (const want of ["docker+machine, cache off", "docker-autoscaler, cache iam", "hand-written-cache.toml runner \"other\"", "both runners converted", "the move back"]) {
      assert.ok(cases.some((c) => c.name.includes(want)), want);
    }
  });

  for (const c of cases) {
    it(c.name, () => {
      const r = check(c.name, c.text);
      assert.equal(r.stderr, "");
      assert.equal(r.status, 0);
      assert.equal(r.stdout, "Configuration file is valid.\n");
    });
  }

  describe("a broken file fails the check, with the runner's texts", () => {
    const good = cases[1].text;
    it("TOML syntax", () => {
      const r = check("syntax", good.replace(/^concurrent = .*$/m, "concurrent = 3,"));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^FATAL: decoding config: decoding configuration file: toml: line \d+/);
    });
    it("a wrong type (IdleTime as a string)", () => {
      const r = check("type", good.replace(/IdleTime = (\d+)/, 'IdleTime = "$1"'));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /\(last key "runners\.machine\.IdleTime"\): incompatible types: TOML value has type string; destination has type integer/);
    });
    it("an autoscaling period the runner's cron parser refuses, and an unknown timezone", () => {
      const period = check("period", good.replace('"* * 9-17 * * mon-fri *"', '"* * 9-17 * * mon-xyz *"'));
      assert.equal(period.status, 1);
      assert.match(period.stderr, /^FATAL: decoding config: loading configuration for 0123456789ab runner: compiling docker machine autoscaling periods: invalid time periods \[\* \* 9-17 \* \* mon-xyz \*\], caused by: syntax error in day-of-week field: 'mon-xyz'\n$/);
      const zone = check("zone", good.replace('Timezone = "Asia/Tokyo"', 'Timezone = "Asia/Tokio"'));
      assert.equal(zone.status, 1);
      assert.match(zone.stderr, /caused by: unknown time zone Asia\/Tokio\n$/);
    });
    it("the runner's own load ignores an unknown key (only lint reports it)", () => {
      const file = path.join(dir, "unknown-load.toml");
      fs.writeFileSync(file, good.replace("MachineOptions =", "MachineOption ="));
      assert.deepEqual(modelLoad(file), { status: 0, stdout: "Configuration loaded\n", stderr: "" });
    });
    it("an unknown key (a misspelt MachineOptions)", () => {
      const r = check("unknown", good.replace("MachineOptions =", "MachineOption ="));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /1 unknown key\(s\) found in .*:\n {2}unknown key: runners\.machine\.MachineOption\n/);
    });
  });
});
