// Issue 11 on a real sshd: the program with cache.s3 on writes the [runners.cache] tables into the
// sandbox's config.toml through the guarded write (secret key on stdin only), a fresh apply
// changes nothing, and destroy puts the original bytes back.
import { strict as assert } from "node:assert";
import { runnerCacheEdit } from "../../../core/aws/buildCache";
import { runnerMachineEdit } from "../../../core/ciServer/edits";
import { mergeRunnerCache } from "../../../core/ciServer/configToml/configTomlCache";
import { mergeRunnerConfig } from "../../../core/ciServer/configToml/configToml";
import { validateSettings } from "../../../settings/validate";
import { tomllibParse } from "../../helpers/tomllib";
import { apply, ciRoutes, CANARY_AWS_SECRET, CI_PATHS, destroy, hostStackConfig, readFiles, type ApplyResult, type StackConfig } from "../programRun";
import { useSandbox } from "../sandbox";
import { assertNoCanaryLeaks } from "./checks";
import { accessKeyIdOf, contentOf, EXPECTED_PROXY_URL, fixtureBytes, WORKER_SG_NAME } from "./expected";

/** Literal: the dev stack's NO_PROXY on the sandbox host, then the region's S3 names. */
const NO_PROXY = "localhost,127.0.0.1,192.0.2.0/24,169.254.169.254,s3.ap-northeast-1.amazonaws.com,s3.dualstack.ap-northeast-1.amazonaws.com";

describe("host scenario: the S3 build cache in config.toml (apply, fresh apply, destroy)", function () {
  this.timeout(180_000);
  const ci = useSandbox("ci-2.1.0");
  let config: StackConfig;
  let original: Record<string, Buffer | null>;
  let first: ApplyResult;

  before(async () => {
    config = hostStackConfig(ci(), (c) => { c.cache = { s3: { enabled: true } }; });
    original = readFiles(ci(), Object.values(CI_PATHS));
    first = await apply(config, { routes: ciRoutes(ci()) });
  });

  it("applies, and config.toml is the pure core's runbook merge followed by the cache merge, byte for byte", () => {
    assert.equal(first.error, undefined, String(first.error));
    const { "aws:region": region, sshPrivateKey, proxyCredentials, ...rest } = config;
    const settings = validateSettings({ ...rest, region, sshPrivateKey, proxyCredentials });
    const accessKey = { id: accessKeyIdOf(first.run!), secret: CANARY_AWS_SECRET };
    const machine = runnerMachineEdit({
      settings, amiId: settings.ami.existingAmi!, securityGroupName: WORKER_SG_NAME, accessKey,
      noProxy: NO_PROXY, proxyUrls: { http: EXPECTED_PROXY_URL, https: EXPECTED_PROXY_URL }, stack: "dev",
    });
    const bucketName = String(first.run!.engine.resources.find((r) => r.type === "aws:s3/bucket:Bucket")!.state.bucket);
    const cache = runnerCacheEdit({ s3: settings.cache!.s3, region: "ap-northeast-1", path: "dev", bucketName, credentials: "accessKey", accessKey });
    const want = mergeRunnerCache(mergeRunnerConfig(fixtureBytes("config.toml").toString("utf8"), machine), cache);
    const got = first.files[CI_PATHS.configToml]!.toString("utf8");
    assert.equal(got, want);
    assert.equal(got, contentOf(first.commands.find((c) => c.name === "ci-server-config-toml-write")!.stdin));
    const s3 = tomllibParse(got).value.runners[0].cache.s3;
    assert.equal(s3.SecretKey, CANARY_AWS_SECRET, "the file itself carries the key (root-only)");
    assert.equal(s3.BucketName, bucketName);
    assert.equal(ci().stat(CI_PATHS.configToml).mode, 0o600);
    assert.match(first.files[CI_PATHS.commonEnv]!.toString("utf8"), new RegExp(`^NO_PROXY=${NO_PROXY.replace(/\./g, "\\.")}$`, "m"));
  });

  it("9: the cache's secret key shows in no command line, output, process list, log or readable file", () => {
    assertNoCanaryLeaks(ci(), { commands: first.commands, executed: first.executed });
  });

  it("a fresh apply finds config.toml as wanted: unchanged; destroy restores every original byte", async () => {
    const sb = ci();
    const files = readFiles(sb, Object.values(CI_PATHS));
    const latest = await apply(config, { routes: ciRoutes(ci()) });
    assert.equal(latest.error, undefined, String(latest.error));
    for (const e of latest.executed.filter((x) => x.name.endsWith("-write"))) assert.match(e.stdout, /^unchanged: /, e.name);
    assert.deepEqual(latest.files, files);
    await destroy(latest.commands, ciRoutes(ci()));
    const now = readFiles(sb, Object.values(CI_PATHS));
    assert.ok(now[CI_PATHS.configToml]!.equals(original[CI_PATHS.configToml]!), "config.toml is not back to its original bytes");
    assert.ok(now[CI_PATHS.commonEnv]!.equals(original[CI_PATHS.commonEnv]!), "common.env is not back to its original bytes");
  });
});
