// npm test installs the Debian packages it needs once, in mocha's main process, before the parallel
// test processes start; the test processes only verify. Before, each of the three test processes
// ran apt-get when a package was missing, and all but one failed on apt's lock ("Could not get
// lock /var/lib/apt/lists/lock", 8 failures on a machine without shellcheck and docker-compose).
//
// A fake apt-get (nothing is installed or removed on this machine) records who called it and
// refuses to run beside another apt-get, as apt does; its "install" creates the marker executable.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type HostDepsOptions, installHostDeps, verifyHostDeps } from "../helpers/hostDeps";

const ROOT = path.resolve(__dirname, "../..");
const MOCHA = path.join(ROOT, "node_modules/mocha/bin/mocha.js");

const fakeAptGet = (dir: string) => `#!/bin/sh
FAKE_DIR='${dir}'
# Who called: the calling process's command line (a mocha test process runs lib/nodejs/worker.cjs).
caller=$(tr '\\0' ' ' < /proc/$PPID/cmdline)
if ! mkdir "$FAKE_DIR/apt.lock" 2>/dev/null; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by another apt-get" >&2
  printf 'LOCKED %s | %s\\n' "$*" "$caller" >> "$FAKE_DIR/apt.log"
  exit 100
fi
trap 'rmdir "$FAKE_DIR/apt.lock"' EXIT
printf '%s | %s\\n' "$*" "$caller" >> "$FAKE_DIR/apt.log"
case "$1" in
  install)
    [ -x "$FAKE_DIR/policy-rc.d" ] || { echo "policy-rc.d not in place" >&2; exit 1; }
    printf '#!/bin/sh\\n' > "$FAKE_DIR/bin/fake-tool" && chmod 755 "$FAKE_DIR/bin/fake-tool" ;;
esac
`;

interface Fake {
  dir: string;
  options: HostDepsOptions;
  log(): string[];
}

function makeFake(): Fake {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-hostdeps-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "apt-get"), fakeAptGet(dir), { mode: 0o755 });
  return {
    dir,
    options: {
      requirements: [{ path: path.join(dir, "bin/fake-tool"), pkg: "fake-pkg" }],
      aptGet: path.join(dir, "apt-get"),
      policyRcD: path.join(dir, "policy-rc.d"),
      isRoot: true,
    },
    log: () => {
      const f = path.join(dir, "apt.log");
      return fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
    },
  };
}

/**
 * A mocha run as `npm test` makes one (parallel, 3 jobs) or as `npm run test:host` does (serial),
 * with three spec files and a setup file that exports hostDepsFixtures() as test/setup.ts does, on
 * the fake.
 */
function mochaRun(fake: Fake, isRoot: boolean, parallel = true) {
  const setup = path.join(fake.dir, "setup.js");
  fs.writeFileSync(
    setup,
    `const { hostDepsFixtures } = require(${JSON.stringify(path.join(ROOT, "test/helpers/hostDeps"))});\n` +
      `const f = hostDepsFixtures(${JSON.stringify({ ...fake.options, isRoot })});\n` +
      "exports.mochaGlobalSetup = f.mochaGlobalSetup;\nexports.mochaHooks = f.mochaHooks;\n",
  );
  const specs = ["a", "b", "c"].map((n) => {
    const f = path.join(fake.dir, `${n}.test.js`);
    fs.writeFileSync(f, `it("${n} runs", () => {});\n`);
    return f;
  });
  return spawnSync(
    process.execPath,
    [MOCHA, "--no-config", "--require", "ts-node/register", "--require", setup, ...(parallel ? ["--parallel", "--jobs", "3"] : []), ...specs],
    { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
  );
}

describe("npm test's Debian packages: installed once, before the test processes start", function () {
  this.timeout(120_000);
  const fakes: Fake[] = [];
  const fake = () => {
    const f = makeFake();
    fakes.push(f);
    return f;
  };
  after(() => {
    for (const f of fakes) fs.rmSync(f.dir, { recursive: true, force: true });
  });

  it("a parallel run with a package missing calls apt-get once for update and once for install, from the main process only", () => {
    const f = fake();
    const r = mochaRun(f, true);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /3 passing/);
    const log = f.log();
    assert.deepEqual(log.map((l) => l.split(" | ")[0]), ["update -qq", "install -y -qq --no-install-recommends fake-pkg"], log.join("\n"));
    for (const l of log) assert.doesNotMatch(l.split(" | ")[1], /nodejs\/worker\.c?js/, `a test process ran apt-get: ${l}`);
    assert.ok(log.every((l) => l.split(" | ")[1].includes(path.join(f.dir, "a.test.js"))), `the caller is the main mocha process:\n${log.join("\n")}`);
    assert.equal(fs.existsSync(f.options.policyRcD!), false, "policy-rc.d is removed again");
  });

  it("a serial run (as npm run test:host makes) installs from its global setup too, once", () => {
    const f = fake();
    const r = mochaRun(f, true, false);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /3 passing/);
    assert.deepEqual(f.log().map((l) => l.split(" | ")[0]), ["update -qq", "install -y -qq --no-install-recommends fake-pkg"]);
  });

  it("not as root: the run stops before any test with the apt command to use, and apt-get is never run", () => {
    const f = fake();
    const r = mochaRun(f, false);
    assert.notEqual(r.status, 0);
    assert.match(`${r.stdout}${r.stderr}`, /host test dependencies missing: fake-pkg\. Install them with: sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends fake-pkg'/);
    assert.doesNotMatch(r.stdout, /passing/);
    assert.deepEqual(f.log(), []);
  });

  it("a test process's check only verifies: it throws with the apt command and never runs apt-get", () => {
    const f = fake();
    assert.throws(() => verifyHostDeps(f.options), /host test dependencies missing: fake-pkg\. Install them with: sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends fake-pkg'/);
    assert.deepEqual(f.log(), []);
    installHostDeps(f.options);
    verifyHostDeps(f.options);
    assert.equal(f.log().length, 2);
  });

  it("apt-get's own failure (here its lock held by another apt) stops the setup with its message and the command to run by hand", () => {
    const f = fake();
    fs.mkdirSync(path.join(f.dir, "apt.lock"));
    assert.throws(() => installHostDeps(f.options), (e: Error) => {
      assert.match(e.message, /installing host test dependencies failed \(apt-get update -qq\)/);
      assert.match(e.message, /E: Could not get lock \/var\/lib\/apt\/lists\/lock/);
      assert.match(e.message, /Try by hand: apt-get update && apt-get install -y --no-install-recommends fake-pkg/);
      return true;
    });
    assert.equal(fs.existsSync(f.options.policyRcD!), false, "policy-rc.d is removed after a failure too");
  });
});
