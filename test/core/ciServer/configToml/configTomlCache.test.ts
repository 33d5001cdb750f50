import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigTomlError, mergeRunnerConfig, type RunnerMachineEdit } from "../../../../core/ciServer/configToml/configToml";
import { cacheSummary, managedCacheKeys, mergeRunnerCache, type RunnerCacheEdit } from "../../../../core/ciServer/configToml/configTomlCache";
import { FIXTURES, fixture } from "../../../helpers/fixtures";
import { tomllibParse } from "../../../helpers/tomllib";

const KEY_EDIT: RunnerCacheEdit = {
  cache: { Type: "s3", Shared: true, Path: "prod" },
  s3: {
    ServerAddress: "s3.ap-northeast-1.amazonaws.com",
    BucketName: "gitlab-runner-cache-0a1b2c3",
    BucketLocation: "ap-northeast-1",
    AuthenticationType: "access-key",
    AccessKey: "AKIAEXAMPLE",
    SecretKey: "secret/with\"quote",
  },
};
const IAM_EDIT: RunnerCacheEdit = {
  cache: { Type: "s3", Shared: false, Path: "prod" },
  s3: { ServerAddress: "s3.ap-northeast-1.amazonaws.com", BucketName: "gitlab-runner-cache-0a1b2c3", BucketLocation: "ap-northeast-1", AuthenticationType: "iam" },
};

const MACHINE_EDIT: RunnerMachineEdit = {
  concurrent: 3,
  executor: "docker+machine",
  machine: { IdleCount: 0, IdleTime: 1800, MaxBuilds: 100, MachineDriver: "amazonec2", MachineName: "gitlab-docker-machine-%s", MachineOptions: ["amazonec2-zone=a"], autoscaling: [] },
};

/** `sub` occurs in `all` in order (other lines may be interleaved). */
function assertSubsequence(sub: string[], all: string[], what: string): void {
  let i = 0;
  for (const line of all) if (i < sub.length && line === sub[i]) i++;
  assert.equal(i, sub.length, `${what}: line ${JSON.stringify(sub[i])} is missing or out of order`);
}

/** Lines the cache merge may rewrite: the managed keys (tables' other lines must stay). */
const MANAGED_LINE = /^\s*(Type|Shared|Path|ServerAddress|BucketName|BucketLocation|AuthenticationType|AccessKey|SecretKey)\s*=/;

/** The tomllib view of a runner's cache after the merge: the old cache with the managed values set. */
function expectedCache(old: any, edit: RunnerCacheEdit): any {
  const s3 = Object.fromEntries(Object.entries(edit.s3).filter(([, v]) => v !== undefined));
  return { ...old, ...edit.cache, s3: { ...(old?.s3 ?? {}), ...s3 } };
}

const RUNNER_FIXTURES = fs.readdirSync(path.join(FIXTURES, "runner-config"))
  .filter((f) => f.endsWith(".toml") && /^\s*\[\[runners\]\]/m.test(fixture(`runner-config/${f}`)))
  .sort();

describe("core/ciServer/configToml/configTomlCache mergeRunnerCache", () => {
  describe("Collaborage config.toml (register's empty cache tables)", () => {
    const input = fixture("collaborage/config.toml");

    it("adds the managed keys to the existing tables, byte for byte, and keeps MaxUploadedArchiveSize, gcs and azure", () => {
      const out = mergeRunnerCache(input, KEY_EDIT);
      const expected = input.replace(
        "  [runners.cache]\n    MaxUploadedArchiveSize = 0\n    [runners.cache.s3]\n    [runners.cache.gcs]\n",
        [
          "  [runners.cache]",
          "    MaxUploadedArchiveSize = 0",
          '    Type = "s3"',
          "    Shared = true",
          '    Path = "prod"',
          "    [runners.cache.s3]",
          '      ServerAddress = "s3.ap-northeast-1.amazonaws.com"',
          '      BucketName = "gitlab-runner-cache-0a1b2c3"',
          '      BucketLocation = "ap-northeast-1"',
          '      AuthenticationType = "access-key"',
          '      AccessKey = "AKIAEXAMPLE"',
          '      SecretKey = "secret/with\\"quote"',
          "    [runners.cache.gcs]",
          "",
        ].join("\n"),
      );
      assert.notEqual(expected, input, "the replacement found its anchor");
      assert.equal(out, expected);
    });

    it("in iam mode writes no key pair", () => {
      const cache = tomllibParse(mergeRunnerCache(input, IAM_EDIT)).value.runners[0].cache;
      assert.deepEqual(cache, {
        MaxUploadedArchiveSize: 0, Type: "s3", Shared: false, Path: "prod",
        s3: { ServerAddress: "s3.ap-northeast-1.amazonaws.com", BucketName: "gitlab-runner-cache-0a1b2c3", BucketLocation: "ap-northeast-1", AuthenticationType: "iam" },
        gcs: {}, azure: {},
      });
    });

    it("after the runbook's [runners.machine] merge, in either order, gives the same file; idempotent", () => {
      const a = mergeRunnerCache(mergeRunnerConfig(input, MACHINE_EDIT), KEY_EDIT);
      const b = mergeRunnerConfig(mergeRunnerCache(input, KEY_EDIT), MACHINE_EDIT);
      assert.equal(a, b);
      assert.equal(mergeRunnerCache(a, KEY_EDIT), a);
      assert.equal(mergeRunnerConfig(a, MACHINE_EDIT), a);
      const runner = tomllibParse(a).value.runners[0];
      assert.equal(runner.machine.MachineDriver, "amazonec2");
      assert.equal(runner.cache.s3.BucketName, KEY_EDIT.s3.BucketName);
    });

    it("a changed edit (rotated key, other bucket) replaces the values in place", () => {
      const first = mergeRunnerCache(input, KEY_EDIT);
      const next: RunnerCacheEdit = { ...KEY_EDIT, s3: { ...KEY_EDIT.s3, BucketName: "other-bucket", AccessKey: "AKIANEW", SecretKey: "new" } };
      const out = mergeRunnerCache(first, next);
      assert.equal(out.split("\n").length, first.split("\n").length);
      assert.deepEqual(tomllibParse(out).value.runners[0].cache.s3, { ...tomllibParse(first).value.runners[0].cache.s3, BucketName: "other-bucket", AccessKey: "AKIANEW", SecretKey: "new" });
    });

    it("keeps CRLF line endings and a missing final newline", () => {
      const crlf = input.replace(/\n/g, "\r\n").replace(/\r\n$/, "");
      const out = mergeRunnerCache(crlf, KEY_EDIT);
      assert.ok(!/[^\r]\n/.test(out), "every newline is CRLF");
      assert.ok(!out.endsWith("\n"));
      assert.equal(out.replace(/\r\n/g, "\n") + "\n", mergeRunnerCache(input, KEY_EDIT));
    });
  });

  describe("a hand-written [runners.cache] (fixture hand-written-cache.toml)", () => {
    const input = fixture("runner-config/hand-written-cache.toml");

    it("replaces the managed keys in place, adds the missing ones, keeps comments, unmanaged keys and the other runner", () => {
      const out = mergeRunnerCache(input, { ...IAM_EDIT, runnerName: "docker-runner" });
      const expected = input
        .replace('    Type = "gcs"  # tried once, never worked\n', '    Type = "s3"  # tried once, never worked\n')
        .replace("    MaxUploadedArchiveSize = 104857600\n", '    MaxUploadedArchiveSize = 104857600\n    Shared = false\n    Path = "prod"\n')
        .replace('      ServerAddress = "192.0.2.3:9000"\n      BucketName = "old-bucket"\n      ServerSideEncryption = "S3"\n',
          '      ServerAddress = "s3.ap-northeast-1.amazonaws.com"\n      BucketName = "gitlab-runner-cache-0a1b2c3"\n      ServerSideEncryption = "S3"\n' +
          '      BucketLocation = "ap-northeast-1"\n      AuthenticationType = "iam"\n');
      assert.equal(out, expected);
      const before = tomllibParse(input).value;
      const after = tomllibParse(out).value;
      assert.deepEqual(after.runners[0].cache, expectedCache(before.runners[0].cache, IAM_EDIT));
      assert.equal(after.runners[0].cache.MaxUploadedArchiveSize, 104857600);
      assert.equal(after.runners[0].cache.s3.ServerSideEncryption, "S3");
      assert.deepEqual(after.runners[0].cache.gcs, { BucketName: "old-gcs" });
      assert.deepEqual(after.runners[1], before.runners[1], "the other runner is untouched");
    });

    it("selects the second runner by name and leaves the first one alone", () => {
      const out = mergeRunnerCache(input, { ...KEY_EDIT, runnerName: "other" });
      const before = tomllibParse(input).value;
      const after = tomllibParse(out).value;
      assert.deepEqual(after.runners[0], before.runners[0]);
      assert.deepEqual(after.runners[1].cache, expectedCache(before.runners[1].cache, KEY_EDIT));
    });

    it("refuses to guess between two runners, and names them", () => {
      assert.throws(() => mergeRunnerCache(input, KEY_EDIT), (e: Error) => e instanceof ConfigTomlError && /"docker-runner", "other"/.test(e.message));
    });
  });

  describe("every runner-config fixture: tomllib sees exactly the managed values added", () => {
    it("finds the fixtures", () => assert.ok(RUNNER_FIXTURES.length >= 5, RUNNER_FIXTURES.join(", ")));
    for (const file of RUNNER_FIXTURES) {
      for (const [label, edit] of [["access-key", KEY_EDIT], ["iam", IAM_EDIT]] as const) {
        it(`${file}: ${label}`, () => {
          const input = fixture(`runner-config/${file}`);
          const before = tomllibParse(input);
          const runnerName = before.value.runners.length > 1 ? before.value.runners[0].name : undefined;
          const e = { ...edit, runnerName };
          const out = mergeRunnerCache(input, e);
          assert.equal(mergeRunnerCache(out, e), out, "not idempotent");
          const after = tomllibParse(out);
          const expected = structuredClone(before.value);
          expected.runners[0].cache = expectedCache(before.value.runners[0].cache, e);
          assert.deepEqual(after.value, expected);
          // Every other line is kept, in order; the types of everything unmanaged survive.
          assertSubsequence(input.split("\n").filter((l) => !MANAGED_LINE.test(l)), out.split("\n"), file);
          for (const [p, type] of Object.entries(before.types)) if (!p.startsWith("runners.0.cache.")) assert.equal(after.types[p], type, p);
        });
      }
    }
  });

  describe("placement when the runner has no [runners.cache]", () => {
    it("before [runners.machine] (the runbook's order), indented like the runner's other tables", () => {
      const input = [
        "concurrent = 3", "", "[[runners]]", '  name = "a"', '  executor = "docker+machine"', "  [runners.docker]", '    image = "alpine"',
        "  [runners.machine]", "    IdleCount = 0", "",
      ].join("\n");
      const out = mergeRunnerCache(input, IAM_EDIT);
      assert.equal(out, [
        "concurrent = 3", "", "[[runners]]", '  name = "a"', '  executor = "docker+machine"', "  [runners.docker]", '    image = "alpine"',
        "  [runners.cache]", '    Type = "s3"', "    Shared = false", '    Path = "prod"',
        "    [runners.cache.s3]", '      ServerAddress = "s3.ap-northeast-1.amazonaws.com"', '      BucketName = "gitlab-runner-cache-0a1b2c3"',
        '      BucketLocation = "ap-northeast-1"', '      AuthenticationType = "iam"',
        "  [runners.machine]", "    IdleCount = 0", "",
      ].join("\n"));
    });

    it("at the runner's end otherwise, before the next runner (unindented file, blank-line spacing kept)", () => {
      const input = ["[[runners]]", 'name = "a"', "[runners.docker]", 'image = "alpine"', "", "[[runners]]", 'name = "b"', ""].join("\n");
      const out = mergeRunnerCache(input, { ...IAM_EDIT, runnerName: "a" });
      assert.equal(out, [
        "[[runners]]", 'name = "a"', "[runners.docker]", 'image = "alpine"', "",
        "[runners.cache]", '  Type = "s3"', "  Shared = false", '  Path = "prod"',
        "  [runners.cache.s3]", '    ServerAddress = "s3.ap-northeast-1.amazonaws.com"', '    BucketName = "gitlab-runner-cache-0a1b2c3"',
        '    BucketLocation = "ap-northeast-1"', '    AuthenticationType = "iam"',
        "", "[[runners]]", 'name = "b"', "",
      ].join("\n"));
      assert.equal(tomllibParse(out).value.runners[1].cache, undefined);
    });

    it("adds [runners.cache.s3] after the cache's own keys when only [runners.cache] exists", () => {
      const input = ["[[runners]]", '  name = "a"', "  [runners.cache]", "    MaxUploadedArchiveSize = 10", "    [runners.cache.gcs]", ""].join("\n");
      const out = mergeRunnerCache(input, IAM_EDIT);
      assert.equal(out, [
        "[[runners]]", '  name = "a"', "  [runners.cache]", "    MaxUploadedArchiveSize = 10", '    Type = "s3"', "    Shared = false", '    Path = "prod"',
        "    [runners.cache.s3]", '      ServerAddress = "s3.ap-northeast-1.amazonaws.com"', '      BucketName = "gitlab-runner-cache-0a1b2c3"',
        '      BucketLocation = "ap-northeast-1"', '      AuthenticationType = "iam"', "    [runners.cache.gcs]", "",
      ].join("\n"));
    });
  });

  describe("forms it refuses", () => {
    it("a cache written as dotted keys or an inline table (a header would redefine it)", () => {
      for (const text of [
        '[[runners]]\n  name = "a"\n  cache.Type = "s3"\n',
        '[[runners]]\n  name = "a"\n  cache = { Type = "s3" }\n',
        '[[runners]]\n  name = "a"\n  [runners.cache]\n    s3 = { BucketName = "x" }\n',
        '[[runners]]\n  name = "a"\n  [runners.cache]\n    s3.BucketName = "x"\n',
      ]) {
        assert.throws(() => mergeRunnerCache(text, IAM_EDIT), (e: Error) => e instanceof ConfigTomlError && /as dotted keys or an inline table/.test(e.message), text);
      }
    });

    it("a config.toml that is not TOML, or has no runner", () => {
      assert.throws(() => mergeRunnerCache("[[runners]\n", IAM_EDIT), /not valid TOML/);
      assert.throws(() => mergeRunnerCache("concurrent = 1\n", IAM_EDIT), /no \[\[runners\]\] table/);
    });
  });

  describe("summary and managed keys", () => {
    it("the summary lists every managed value and masks only the secret key", () => {
      const lines = cacheSummary(KEY_EDIT);
      assert.deepEqual(lines, [
        '[runners.cache] Type = "s3"',
        "[runners.cache] Shared = true",
        '[runners.cache] Path = "prod"',
        '[runners.cache.s3] ServerAddress = "s3.ap-northeast-1.amazonaws.com"',
        '[runners.cache.s3] BucketName = "gitlab-runner-cache-0a1b2c3"',
        '[runners.cache.s3] BucketLocation = "ap-northeast-1"',
        '[runners.cache.s3] AuthenticationType = "access-key"',
        '[runners.cache.s3] AccessKey = "AKIAEXAMPLE"',
        "[runners.cache.s3] SecretKey = [secret]",
      ]);
      assert.ok(!lines.join("\n").includes("secret/with"));
      assert.ok(!cacheSummary(IAM_EDIT).some((l) => /AccessKey|SecretKey/.test(l)));
    });

    it("writes only keys listed in known-keys.json", () => {
      const known = JSON.parse(fixture("runner-config/known-keys.json")) as Record<string, string[]>;
      const keys = managedCacheKeys(KEY_EDIT);
      assert.equal(keys.length, 9);
      for (const key of keys) {
        const parts = key.split(".");
        const table = parts.slice(0, -1).join(".");
        assert.ok(known[table]?.includes(parts[parts.length - 1]), key);
      }
      assert.deepEqual(managedCacheKeys(IAM_EDIT).filter((k) => /Key$/.test(k)), []);
    });
  });
});
