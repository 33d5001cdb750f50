// Issue 16 §3: the runner rewrites config.toml as a whole when it saves its configuration (token
// rotation: SaveConfig re-encodes the document, comments gone, tables in struct order, arrays on
// one line). What do our next `up` and our `destroy` do with that file? Neither may lose the
// runner's token or anyone's keys; where destroy must refuse it names the keys to put back.
// The rewrite is the runner-toml model's SaveConfig (BurntSushi/toml v1.6.0's encoder, the runner's,
// on the runner's keys): the real runner cannot be built here (test/host/README.md, "The real runner").
import { strict as assert } from "node:assert";
import { fixture } from "../helpers/fixtures";
import { modelCheck, runnerTomlModel } from "../helpers/runnerTomlModel";
import { tomllibParse } from "../helpers/tomllib";
import { ACCESS_KEY, settingsFor, tomlEditFor } from "./configCases";
import { ConfigTomlServer } from "./saveConfigWorld";

const RUNNER = "0123456789ab";
const OLD_TOKEN = "glrt-REDACTED"; // collaborage/config.toml's
const NEW_TOKEN = "glrt-ROTATED-new-token-0001";

/** Every secret the file holds: the runner's token, the key in MachineOptions and in the cache. */
function assertSecretsKept(text: string, token: string) {
  const runner = tomllibParse(text).value.runners.find((r: any) => r.name === RUNNER);
  assert.equal(runner.token, token);
  assert.ok(!text.includes(token === NEW_TOKEN ? OLD_TOKEN : NEW_TOKEN), "the other token is not in the file");
  return runner;
}

/** The managed keys named in destroy's refusal, for the docker+machine edit with the S3 cache. */
const MANAGED_LABELS = [
  "concurrent",
  `[[runners]] "${RUNNER}" executor`,
  `[[runners]] "${RUNNER}" [runners.cache] Type, Shared, Path`,
  `[[runners]] "${RUNNER}" [runners.cache.s3] ServerAddress, BucketName, BucketLocation, AuthenticationType, AccessKey, SecretKey`,
];

describe("the runner's SaveConfig (token rotation) between our writes (runner-toml model)", function () {
  let server: ConfigTomlServer | undefined;
  before(function () {
    this.timeout(10 * 60 * 1000);
    runnerTomlModel();
  });
  afterEach(() => server?.close());

  const up = (idleTime = 1800) => {
    const s = settingsFor("docker+machine", "access-key");
    s.runner.idleTime = idleTime;
    const r = server!.up(tomlEditFor(s));
    assert.equal(r.status, 0, r.stderr);
  };

  it("the rewrite itself: one document, the new token, every key kept, comments and pulumi's layout gone", () => {
    server = new ConfigTomlServer(fixture("collaborage/config.toml"));
    up();
    const written = server.text();
    server.rotate({ [RUNNER]: NEW_TOKEN });
    const rewritten = server.text();
    assert.equal(modelCheck(server.file).status, 0);
    const before = tomllibParse(written).value;
    const after = tomllibParse(rewritten).value;
    assert.equal(after.runners[0].token, NEW_TOKEN);
    for (const r of [before.runners[0], after.runners[0]]) delete r.token, delete r.token_obtained_at, delete r.token_expires_at;
    assert.deepEqual(after, before, "only the token fields differ");
    assert.ok(!rewritten.includes("#"), "comments are gone");
    assert.match(rewritten, /^ {4}MachineOptions = \["amazonec2-access-key=/m, "MachineOptions on one line");
    assert.ok(written.includes('    MachineOptions = [\n      "amazonec2-access-key='), "pulumi wrote one option a line");
  });

  it("destroy after a rotation refuses (exit 7), changes nothing and names every key pulumi changed", () => {
    server = new ConfigTomlServer(fixture("collaborage/config.toml"));
    up();
    server.rotate({ [RUNNER]: NEW_TOKEN });
    const rewritten = server.text();
    const d = server.destroy();
    assert.equal(d.status, 7, d.stdout + d.stderr);
    assert.equal(server.text(), rewritten, "nothing was changed");
    assertSecretsKept(server.text(), NEW_TOKEN);
    assert.match(d.stderr, /\[runners\.machine\] MachineOptions: changed since pulumi wrote it/);
    const keys = /Pulumi's values to put back by hand: (.*)\. If the runner rewrote the whole file/.exec(d.stderr);
    assert.ok(keys, d.stderr);
    for (const label of MANAGED_LABELS) assert.ok(keys[1].split("; ").includes(label), `${label} in ${keys[1]}`);
    assert.ok(keys[1].includes("[runners.machine]"), keys[1]);
    assert.ok(!d.stderr.includes(ACCESS_KEY.secret) && !d.stderr.includes(NEW_TOKEN), "no secret in the message");
    assert.match(d.stderr, /The content from before pulumi is in .*\/state\/config-toml\/original/);
  });

  it("the next up on the rewritten file changes only the managed values; the new token and every key stay", () => {
    server = new ConfigTomlServer(fixture("collaborage/config.toml"));
    up();
    server.rotate({ [RUNNER]: NEW_TOKEN });
    const rewritten = tomllibParse(server.text()).value;
    up(900);
    assert.equal(modelCheck(server.file).status, 0);
    const runner = assertSecretsKept(server.text(), NEW_TOKEN);
    assert.equal(runner.machine.IdleTime, 900);
    assert.ok(runner.machine.MachineOptions.includes(`amazonec2-secret-key=${ACCESS_KEY.secret}`));
    assert.equal(runner.cache.s3.SecretKey, ACCESS_KEY.secret);
    const after = tomllibParse(server.text()).value;
    after.runners[0].machine.IdleTime = 1800;
    assert.deepEqual(after, rewritten, "nothing but IdleTime changed");
  });

  it("destroy after rotation and a second up never brings the old token back: it refuses and names the keys", () => {
    server = new ConfigTomlServer(fixture("collaborage/config.toml"));
    up();
    server.rotate({ [RUNNER]: NEW_TOKEN });
    up(900);
    const current = server.text();
    const d = server.destroy();
    // Before the fix, the file was "as pulumi wrote it" and destroy put the original back: the
    // pre-rotation token, which GitLab no longer accepts.
    assert.equal(d.status, 7, d.stdout + d.stderr);
    assert.equal(server.text(), current);
    assertSecretsKept(server.text(), NEW_TOKEN);
    assert.match(d.stderr, /Pulumi's values to put back by hand: .*\[runners\.machine\]/);
  });

  it("a rotation of the OTHER runner of a two-runner file: up and destroy of ours keep its new token (destroy refuses)", () => {
    server = new ConfigTomlServer(fixture("runner-config/hand-written-cache.toml"));
    const s = settingsFor("docker+machine", "off", "docker-runner");
    assert.equal(server.up(tomlEditFor(s)).status, 0);
    server.rotate({ other: NEW_TOKEN });
    s.runner.idleTime = 900;
    assert.equal(server.up(tomlEditFor(s)).status, 0);
    const d = server.destroy();
    const other = tomllibParse(server.text()).value.runners.find((r: any) => r.name === "other");
    assert.equal(other.token, NEW_TOKEN);
    assert.equal(d.status, 7, d.stdout + d.stderr);
    assert.match(d.stderr, /Pulumi's values to put back by hand: concurrent; \[\[runners\]\] "docker-runner" executor; \[\[runners\]\] "docker-runner" \[runners\.machine\]/);
  });
});
