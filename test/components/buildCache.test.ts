// The S3 build cache (issue 11) in the whole program under the offline engine: the bucket and its
// rules, the endpoint only when wanted, an existing bucket creating nothing, the policy, NO_PROXY,
// config.toml's [runners.cache] tables and the masking of the cache's secret key in both modes.
import { strict as assert } from "node:assert";
import { cacheLifecycleRules, cachePolicyStatements, s3NoProxyHosts } from "../../core/aws/buildCache";
import type { OfflineRun } from "../../offline/runOffline";
import {
  T, TEST_PROVIDER_SECRET, cachedRun, configTomlSummary, devStack, fixtureWorld, get, inputsOf, ofType, revealPublic, revealed, settle, variant,
} from "../helpers/offlineWorld";
import { tomllibParse } from "../helpers/tomllib";

const C = {
  component: "gitlab-runner-autoscaling:cache:BuildCache",
  bucket: "aws:s3/bucket:Bucket",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
} as const;
const NAME = "gitlab-runner-cache";
const MANAGER_ROLE = "collaborage-ci-role";
const S3_HOSTS = s3NoProxyHosts("ap-northeast-1");
const CANARY = "CANARY-cache-secret-4471";

const withCache = (s3: Record<string, unknown> = {}) => variant((c) => { c.cache = { s3: { enabled: true, ...s3 } }; });
const cacheResources = (run: OfflineRun) => run.engine.resources.filter((r) => r.type.startsWith("aws:s3/") || r.type === C.endpoint || r.type === C.component);
/** The config.toml the write puts on the server (its stdin is the guard line, then the file). */
const writtenToml = (run: OfflineRun) => {
  const stdin = String(revealed(run, "ci-server-config-toml-write", "stdin"));
  return stdin.slice(stdin.indexOf("\n") + 1);
};
const policyOf = (run: OfflineRun, type: string, name: string) => JSON.parse(get(run, type, name).inputs.policy).Statement as any[];

describe("BuildCache in the program (cache.s3)", () => {
  describe("dev stack (proxy, access key) with the cache on", () => {
    let run: OfflineRun;
    let bucket: string;
    before(async () => {
      run = await cachedRun(withCache(), fixtureWorld({ providerSecret: CANARY }));
      bucket = get(run, C.bucket, NAME).state.bucket;
    });

    it("creates a component with the bucket, its five settings and the endpoint", () => {
      assert.deepEqual(cacheResources(run).map((r) => `${r.type}::${r.name}`).sort(), [
        `${C.component}::${NAME}`, `${C.bucket}::${NAME}`, `${C.publicAccessBlock}::${NAME}-public-access-block`, `${C.ownership}::${NAME}-ownership`,
        `${C.encryption}::${NAME}-encryption`, `${C.versioning}::${NAME}-versioning`, `${C.lifecycle}::${NAME}-lifecycle`, `${C.endpoint}::${NAME}-s3-endpoint`,
      ].sort());
      for (const r of cacheResources(run).filter((x) => x.type !== C.component)) assert.equal(r.parent, `${C.component}::${NAME}`, r.name);
    });

    it("the bucket: auto-named (known at preview), forceDestroy, tagged with the stack", () => {
      const b = get(run, C.bucket, NAME).inputs;
      assert.equal(b.bucket, undefined);
      assert.equal(b.bucketPrefix, undefined);
      assert.match(bucket, /^gitlab-runner-cache-[0-9a-f]{7}$/);
      assert.equal(b.forceDestroy, true);
      assert.deepEqual(b.tags, { "managed-by": "gitlab-runner-autoscaling", stack: "dev" });
    });

    it("encryption, a full public access block, bucket-owner-enforced, versioning off, expiry and multipart abort", () => {
      const on = (type: string, name: string) => get(run, type, `${NAME}-${name}`).inputs;
      assert.deepEqual(on(C.publicAccessBlock, "public-access-block"), {
        bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
      });
      assert.deepEqual(on(C.ownership, "ownership"), { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } });
      assert.deepEqual(on(C.encryption, "encryption"), { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
      assert.deepEqual(on(C.versioning, "versioning"), { bucket, versioningConfiguration: { status: "Disabled" } });
      assert.deepEqual(on(C.lifecycle, "lifecycle"), { bucket, rules: cacheLifecycleRules(14) });
      assert.equal(on(C.lifecycle, "lifecycle").rules[0].expiration.days, 14);
    });

    it("the gateway endpoint on the workers' subnet's route table (the VPC's main one here)", () => {
      assert.deepEqual(get(run, C.endpoint, `${NAME}-s3-endpoint`).inputs, {
        vpcId: "vpc-0123456789abcdef0",
        serviceName: "com.amazonaws.ap-northeast-1.s3",
        vpcEndpointType: "Gateway",
        routeTableIds: ["rtb-4b44cea44b44cea44"],
        tags: { "managed-by": "gitlab-runner-autoscaling", stack: "dev", Name: `${NAME}-s3` },
      });
    });

    it("the runner's user policy gets the cache statements on this bucket", () => {
      const statements = policyOf(run, T.userPolicy, "runner-policy");
      assert.deepEqual(statements.slice(-2), cachePolicyStatements("ap-northeast-1", bucket));
      assert.ok(statements.some((s) => s.Action.includes("ec2:RunInstances")), "one policy with the runner's other permissions");
    });

    it("NO_PROXY carries the S3 names for the runner (common.env), dockerd, the workers' engine-env and the AMI", () => {
      const np = inputsOf(run, T.command, "ci-server-common-env-write").create.match(/^# NO_PROXY=(.*)$/m)?.[1] ?? "";
      assert.ok(S3_HOSTS.every((h) => np.split(",").includes(h)), np);
      assert.ok(String(revealed(run, "ci-server-docker-dropin-write", "stdin")).includes(`Environment="NO_PROXY=${np}"`));
      assert.ok(configTomlSummary(run).includes(`MachineOptions: engine-env=NO_PROXY=${np}`));
      assert.ok(String(revealed(run, "worker-ami-profile-proxy", "stdin")).includes(`export NO_PROXY='${np}'`));
      assert.ok(String(revealed(run, "worker-ami-docker-proxy", "stdin")).includes(`Environment="NO_PROXY=${np}"`));
    });

    it("config.toml: [runners.cache] and [runners.cache.s3] with the access key; tomllib reads them", () => {
      const runner = tomllibParse(writtenToml(run)).value.runners[0];
      assert.deepEqual(runner.cache, {
        MaxUploadedArchiveSize: 0, Type: "s3", Shared: true, Path: "dev",
        s3: {
          ServerAddress: "s3.ap-northeast-1.amazonaws.com", BucketName: bucket, BucketLocation: "ap-northeast-1",
          AuthenticationType: "access-key", AccessKey: run.outputs.accessKeyId, SecretKey: CANARY,
        },
        gcs: {}, azure: {},
      });
      assert.equal(runner.machine.MachineDriver, "amazonec2", "the machine merge still applies");
    });

    it("the secret key is masked: in the summary, in every input and state with envelopes removed, and in the outputs", async () => {
      const summary = configTomlSummary(run);
      assert.ok(summary.includes("[runners.cache.s3] SecretKey = [secret]"), summary.join("\n"));
      assert.ok(summary.includes(`[runners.cache.s3] BucketName = "${bucket}"`));
      for (const r of run.engine.resources) {
        assert.ok(!JSON.stringify(revealPublic(r.inputs)).includes(CANARY), `${r.type}::${r.name} inputs`);
        assert.ok(!JSON.stringify(revealPublic(await settle(r.state))).includes(CANARY), `${r.type}::${r.name} state`);
      }
      assert.ok(!JSON.stringify(run.outputs).includes(CANARY));
      assert.ok(writtenToml(run).includes(`SecretKey = "${CANARY}"`), "the check can fail: the secret is in the opened stdin");
    });

    it("config.toml waits for the bucket's rules, the endpoint and the credentials (policy) before pointing the runner at it", () => {
      const deps = get(run, T.fileEdit, "ci-server-config-toml").dependsOn;
      for (const d of [`${C.lifecycle}::${NAME}-lifecycle`, `${C.publicAccessBlock}::${NAME}-public-access-block`, `${C.endpoint}::${NAME}-s3-endpoint`, `${T.credentials}::runner`]) {
        assert.ok(deps.includes(d), `${d} in ${deps.join(", ")}`);
      }
    });

    it("the summary output says that destroy deletes the cache", () => {
      assert.match(String(run.outputs.summary), new RegExp(`\\nBuild cache: bucket ${bucket} \\(shared by all runners of the stack, objects expire after 14 days, reached through an S3 gateway endpoint\\); pulumi destroy DELETES the bucket and every cache in it\\.$`));
    });
  });

  describe("instanceProfile credentials", () => {
    let run: OfflineRun;
    before(async () => {
      run = await cachedRun(variant((c) => {
        c.runner.credentials = "instanceProfile";
        c.runner.managerRoleName = MANAGER_ROLE;
        c.cache = { s3: { enabled: true } };
      }));
    });

    it("the CI server's role policy gets the cache statements; config.toml says iam and holds no key", () => {
      const bucket = get(run, C.bucket, NAME).state.bucket;
      assert.deepEqual(policyOf(run, T.rolePolicy, "runner-manager-policy").slice(-2), cachePolicyStatements("ap-northeast-1", bucket));
      const s3 = tomllibParse(writtenToml(run)).value.runners[0].cache.s3;
      assert.deepEqual(s3, { ServerAddress: "s3.ap-northeast-1.amazonaws.com", BucketName: bucket, BucketLocation: "ap-northeast-1", AuthenticationType: "iam" });
      assert.ok(configTomlSummary(run).includes('[runners.cache.s3] AuthenticationType = "iam"'));
      assert.ok(!configTomlSummary(run).some((l) => /SecretKey|AccessKey/.test(l)));
      assert.ok(!writtenToml(run).includes(TEST_PROVIDER_SECRET));
    });
  });

  describe("without a proxy", () => {
    it("no endpoint and no NO_PROXY, unless the endpoint is asked for", async () => {
      const plain = await cachedRun(variant((c) => { delete c.proxy; c.cache = { s3: { enabled: true } }; }));
      assert.equal(ofType(plain, C.endpoint).length, 0);
      assert.equal(ofType(plain, C.bucket).length, 1);
      assert.ok(!JSON.stringify(plain.engine.resources.map((r) => r.inputs)).includes("s3.dualstack"));
      const asked = await cachedRun(variant((c) => { delete c.proxy; c.cache = { s3: { enabled: true, vpcEndpoint: true } }; }));
      assert.equal(ofType(asked, C.endpoint).length, 1);
    });
  });

  describe("options", () => {
    it("an existing bucket creates no bucket and no bucket settings; config.toml, the policy and the summary use it", async () => {
      const run = await cachedRun(withCache({ bucketName: "team-cache" }));
      assert.deepEqual(cacheResources(run).map((r) => r.type).sort(), [C.component, C.endpoint].sort());
      assert.equal(tomllibParse(writtenToml(run)).value.runners[0].cache.s3.BucketName, "team-cache");
      assert.deepEqual(policyOf(run, T.userPolicy, "runner-policy").slice(-2), cachePolicyStatements("ap-northeast-1", "team-cache"));
      assert.match(String(run.outputs.summary), /Build cache: your bucket team-cache .*pulumi destroy leaves the bucket and its objects\.$/);
    });

    it("vpcEndpoint false (an S3 endpoint already in the VPC): no endpoint, NO_PROXY still has the S3 names", async () => {
      const run = await cachedRun(withCache({ vpcEndpoint: false }));
      assert.equal(ofType(run, C.endpoint).length, 0);
      assert.ok(S3_HOSTS.every((h) => configTomlSummary(run).some((l) => l.startsWith("MachineOptions: engine-env=NO_PROXY=") && l.includes(h))));
    });

    it("given route tables are used as they are", async () => {
      const run = await cachedRun(withCache({ routeTableIds: ["rtb-0123456789abcdef0", "rtb-0fedcba9876543210"] }));
      assert.deepEqual(get(run, C.endpoint, `${NAME}-s3-endpoint`).inputs.routeTableIds, ["rtb-0123456789abcdef0", "rtb-0fedcba9876543210"]);
    });

    it("expirationDays and shared reach the lifecycle rule and config.toml", async () => {
      const run = await cachedRun(withCache({ expirationDays: 3, shared: false }));
      assert.equal(get(run, C.lifecycle, `${NAME}-lifecycle`).inputs.rules[0].expiration.days, 3);
      assert.equal(tomllibParse(writtenToml(run)).value.runners[0].cache.Shared, false);
    });
  });

  describe("cache off (the default)", () => {
    it("nothing of the cache anywhere: resources, policy, NO_PROXY, config.toml", async () => {
      const run = await cachedRun(devStack());
      assert.deepEqual(cacheResources(run), []);
      assert.ok(!get(run, T.userPolicy, "runner-policy").inputs.policy.includes("s3:"));
      assert.ok(!JSON.stringify(run.engine.resources.map((r) => revealPublic(r.inputs))).includes("s3."));
      assert.equal(tomllibParse(writtenToml(run)).value.runners[0].cache.Type, undefined);
    });
  });
});
