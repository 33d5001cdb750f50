import { strict as assert } from "node:assert";
import { isBucketName } from "../../settings/cache";
import { SettingsError, STRUCTURED_KEYS, validateSettings, type RawConfig } from "../../settings/validate";
import { devRaw } from "../helpers/devConfig";

const settings = (mutate: (raw: any) => void) => {
  const raw = devRaw() as any;
  mutate(raw);
  return validateSettings(raw as RawConfig);
};

function problemsOf(mutate: (raw: any) => void): string[] {
  try {
    settings(mutate);
  } catch (e) {
    if (e instanceof SettingsError) return e.problems.map((p) => `${p.key}: got ${p.value}; expected ${p.expected}`);
    throw e;
  }
  return [];
}

describe("settings: cache.s3", () => {
  it("is a structured key (read with getObject, checked for unknown keys)", () => {
    assert.ok((STRUCTURED_KEYS as readonly string[]).includes("cache"));
  });

  it("is off by default, and off while enabled is not true (the other keys are still checked)", () => {
    assert.equal(settings(() => undefined).cache, undefined);
    assert.equal(settings((r) => (r.cache = { s3: { expirationDays: 3 } })).cache, undefined);
    assert.equal(settings((r) => (r.cache = { s3: { enabled: "false" } })).cache, undefined);
    assert.deepEqual(problemsOf((r) => (r.cache = { s3: { expirationDays: 0 } })), ["cache.s3.expirationDays: got 0; expected a whole number of days ≥ 1"]);
  });

  it("defaults: 14 days, shared, a bucket of its own, an endpoint in proxy environments only", () => {
    assert.deepEqual(settings((r) => (r.cache = { s3: { enabled: true } })).cache, {
      s3: { expirationDays: 14, shared: true, bucketName: undefined, vpcEndpoint: true, routeTableIds: undefined },
    });
    const noProxy = settings((r) => { delete r.proxy; r.cache = { s3: { enabled: true } }; });
    assert.equal(noProxy.cache!.s3.vpcEndpoint, false);
    const asked = settings((r) => { delete r.proxy; r.cache = { s3: { enabled: "true", vpcEndpoint: "true", routeTableIds: "rtb-0123456789abcdef0" } }; });
    assert.deepEqual(asked.cache!.s3.routeTableIds, ["rtb-0123456789abcdef0"]);
    assert.equal(asked.cache!.s3.vpcEndpoint, true);
  });

  it("takes an existing bucket, days and shared as `pulumi config set --path` stores them", () => {
    assert.deepEqual(settings((r) => (r.cache = { s3: { enabled: true, bucketName: "my.cache-bucket", shared: "false", vpcEndpoint: false } })).cache, {
      s3: { expirationDays: 14, shared: false, bucketName: "my.cache-bucket", vpcEndpoint: false, routeTableIds: undefined },
    });
    assert.equal(settings((r) => (r.cache = { s3: { enabled: true, expirationDays: "30" } })).cache!.s3.expirationDays, 30);
  });

  it("refuses expirationDays with an existing bucket (the expiry rule goes on a bucket it creates only)", () => {
    assert.deepEqual(problemsOf((r) => (r.cache = { s3: { enabled: true, bucketName: "my.cache-bucket", expirationDays: "30" } })), [
      'cache.s3.expirationDays: got "30"; expected unset unless cache.s3.bucketName is unset (the program creates the bucket and its expiry rule; set expiry on your own bucket yourself): now it would be ignored',
    ]);
  });

  it("reports every bad value at once, with its key, value and expected form", () => {
    const problems = problemsOf((r) => (r.cache = {
      s3: { enabled: "yes", expirationDays: 1.5, shared: 1, bucketName: "My_Bucket", vpcEndpoint: false, routeTableIds: ["rtb-1"], ttl: 3 },
      gcs: {},
    }));
    assert.deepEqual(problems, [
      'cache.gcs: got {}; expected no such key; known keys here: s3',
      'cache.s3.enabled: got "yes"; expected true or false',
      "cache.s3.expirationDays: got 1.5; expected a whole number of days ≥ 1",
      "cache.s3.shared: got 1; expected true or false",
      'cache.s3.bucketName: got "My_Bucket"; expected an S3 bucket name (3–63 characters: a-z, 0-9, dots and hyphens) of a bucket in aws:region',
      'cache.s3.routeTableIds[0]: got "rtb-1"; expected a route table id, e.g. rtb-0123456789abcdef0',
      "cache.s3.ttl: got 3; expected no such key; known keys here: enabled, expirationDays, shared, bucketName, vpcEndpoint, routeTableIds",
      'cache.s3.routeTableIds: got ["rtb-1"]; expected unset when cache.s3.vpcEndpoint is false (they are the endpoint\'s route tables)',
    ]);
    assert.deepEqual(problemsOf((r) => (r.cache = "s3")), ['cache: got "s3"; expected an object']);
    assert.deepEqual(problemsOf((r) => (r.cache = { s3: { enabled: true, routeTableIds: [] } })),
      ["cache.s3.routeTableIds: got []; expected at least one route table id, or unset to use the workers' subnet's table"]);
  });

  it("bucket names: S3's rules", () => {
    for (const ok of ["abc", "gitlab-runner-cache-0a1b2c3", "my.cache.bucket", "a".repeat(63)]) assert.ok(isBucketName(ok), ok);
    for (const bad of ["ab", "a".repeat(64), "Upper", "under_score", "-start", "end-", "two..dots", "192.0.2.3", "xn--abc", "x-s3alias", "s3://bucket"]) {
      assert.ok(!isBucketName(bad), bad);
    }
  });
});
