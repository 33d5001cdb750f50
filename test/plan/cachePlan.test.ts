// `npm run plan` on the bundled stack with the S3 build cache on (examples/Pulumi.cache.yaml).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PLACEHOLDER_PROVIDER_SECRET } from "../../offline/placeholders";
import { REPO } from "../helpers/fixtures";
import { tomllibParse } from "../helpers/tomllib";

describe("npm run plan with cache.s3 on (examples/Pulumi.cache.yaml)", function () {
  this.timeout(120000);
  let dir: string;
  let r: { code: number | null; stdout: string; stderr: string };
  const read = (rel: string) => fs.readFileSync(path.join(dir, "p", rel), "utf8");

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-cache-plan-"));
    const p = spawnSync(process.execPath, ["-r", "ts-node/register", path.join(REPO, "scripts/plan.ts"), "--config-file", "examples/Pulumi.cache.yaml", "--out", path.join(dir, "p")],
      { cwd: REPO, encoding: "utf8" });
    r = { code: p.status, stdout: p.stdout, stderr: p.stderr };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("exits 0 with the stack named after the file", () => {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Plan for stack "cache"/);
  });

  it("shows the bucket (destroy deletes it), its rules and the endpoint", () => {
    const bucket = /\+ gitlab-runner-cache {2}\(aws:s3\/bucket:Bucket\)\n\s+bucket (gitlab-runner-cache-[0-9a-f]{7}); forceDestroy=true: pulumi destroy deletes the cache with it\n/.exec(r.stdout);
    assert.ok(bucket, r.stdout);
    for (const line of [
      /\(aws:s3\/bucketPublicAccessBlock:BucketPublicAccessBlock\)\n\s+public access blocked: acls=true policy=true ignoreAcls=true restrict=true\n/,
      /\(aws:s3\/bucketOwnershipControls:BucketOwnershipControls\)\n\s+object ownership BucketOwnerEnforced \(ACLs off\)\n/,
      /\(aws:s3\/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration\)\n\s+default encryption AES256\n/,
      /\(aws:s3\/bucketVersioning:BucketVersioning\)\n\s+versioning Disabled\n/,
      /\(aws:s3\/bucketLifecycleConfiguration:BucketLifecycleConfiguration\)\n\s+expire-cache: objects expire after 14 days; abort-incomplete-uploads: incomplete uploads aborted after 1 day\(s\)\n/,
      /\+ gitlab-runner-cache-s3-endpoint {2}\(aws:ec2\/vpcEndpoint:VpcEndpoint\)\n\s+Gateway endpoint com\.amazonaws\.ap-northeast-1\.s3 in vpc-0123456789abcdef0 on rtb-[0-9a-f]{17}\n/,
    ]) assert.match(r.stdout, line);
    assert.match(r.stdout, new RegExp(`Build cache: bucket ${bucket![1]} .*pulumi destroy DELETES the bucket and every cache in it\\.`));
  });

  it("lists the new [runners.cache] tables among config.toml's managed values, the secret key masked", () => {
    const managed = r.stdout.slice(r.stdout.indexOf("  /data/gitlab-runner/config/config.toml\n"));
    for (const line of ['[runners.cache] Type = "s3"', "[runners.cache] Shared = true", '[runners.cache] Path = "cache"',
      '[runners.cache.s3] ServerAddress = "s3.ap-northeast-1.amazonaws.com"', '[runners.cache.s3] AuthenticationType = "access-key"',
      "[runners.cache.s3] SecretKey = [secret]"]) {
      assert.ok(managed.includes(`      ${line}\n`), line);
    }
    assert.match(r.stdout, /NO_PROXY=.*,s3\.ap-northeast-1\.amazonaws\.com,s3\.dualstack\.ap-northeast-1\.amazonaws\.com\n/);
  });

  it("the new config.toml and the policy file hold the cache; plan.txt and plan.json never the secret", () => {
    const runner = tomllibParse(read("files/ci-server/config.toml")).value.runners[0];
    assert.equal(runner.cache.Type, "s3");
    assert.equal(runner.cache.s3.SecretKey, PLACEHOLDER_PROVIDER_SECRET, "the file itself carries the key");
    const policy = JSON.parse(read("files/iam/runner-policy.json"));
    assert.deepEqual(policy.Statement.filter((s: any) => s.Sid.startsWith("BuildCache")).map((s: any) => s.Resource),
      [`arn:aws:s3:::${runner.cache.s3.BucketName}/*`, `arn:aws:s3:::${runner.cache.s3.BucketName}`]);
    assert.ok(!(read("plan.txt") + read("plan.json")).includes(PLACEHOLDER_PROVIDER_SECRET));
    assert.match(read("diffs/config.toml.diff"), /^\+ {4}\[runners\.cache\.s3\]$|^\+ {6}BucketName = "gitlab-runner-cache-/m);
  });
});
