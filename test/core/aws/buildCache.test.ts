import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import {
  cacheLifecycleRules, cachePolicyStatements, cacheSummaryLine, routeTableOfSubnet, runnerCacheEdit, s3Names, s3NoProxyHosts,
} from "../../../core/aws/buildCache";
import { runnerPolicy } from "../../../core/aws/iamPolicy";
import { noProxyList } from "../../../core/proxy/noProxy";
import { isNoProxyEntry } from "../../../core/validators";
import type { S3CacheSettings } from "../../../settings/types";

const S3: S3CacheSettings = { expirationDays: 14, shared: true, vpcEndpoint: true };

/**
 * Which hosts a NO_PROXY value exempts, according to Python's urllib (proxy_bypass_environment):
 * an independent implementation of the same rule as Go's httpproxy ("foo.com" matches foo.com and
 * bar.foo.com) and curl.
 */
function bypassed(noProxy: string, hosts: string[]): boolean[] {
  const script = "import os,sys,json,urllib.request as u\nprint(json.dumps([bool(u.proxy_bypass_environment(h)) for h in json.loads(sys.argv[1])]))";
  const r = spawnSync("python3", ["-c", script, JSON.stringify(hosts)], { encoding: "utf8", env: { ...process.env, no_proxy: noProxy, NO_PROXY: noProxy } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe("core/aws/buildCache", () => {
  describe("S3 names", () => {
    it("regional endpoint, dual-stack endpoint, gateway service and partition", () => {
      assert.deepEqual(s3Names("ap-northeast-1"), {
        host: "s3.ap-northeast-1.amazonaws.com",
        dualstackHost: "s3.dualstack.ap-northeast-1.amazonaws.com",
        endpointService: "com.amazonaws.ap-northeast-1.s3",
        partition: "aws",
      });
      assert.equal(s3Names("cn-north-1").host, "s3.cn-north-1.amazonaws.com.cn");
      assert.equal(s3Names("cn-north-1").partition, "aws-cn");
      assert.equal(s3Names("us-gov-west-1").partition, "aws-us-gov");
    });

    it("NO_PROXY entries are valid and exempt the URLs the runner signs, and nothing outside the region's S3", () => {
      const hosts = s3NoProxyHosts("ap-northeast-1");
      assert.deepEqual(hosts, ["s3.ap-northeast-1.amazonaws.com", "s3.dualstack.ap-northeast-1.amazonaws.com"]);
      assert.ok(hosts.every(isNoProxyEntry));
      const value = noProxyList({ ciHost: "192.0.2.3", workerSubnetCidr: "192.0.2.0/24", instanceRole: true, cacheHosts: hosts, extra: [] }).join(",");
      assert.deepEqual(bypassed(value, [
        "gitlab-runner-cache-0a1b2c3.s3.ap-northeast-1.amazonaws.com", // virtual-hosted (AWS SDK v2, runner >= 17.5)
        "s3.ap-northeast-1.amazonaws.com", // path-style (bucket names with dots)
        "gitlab-runner-cache-0a1b2c3.s3.dualstack.ap-northeast-1.amazonaws.com", // minio-go with dual-stack
        "gitlab-runner-cache-0a1b2c3.s3.amazonaws.com", // global endpoint: not the region's gateway
        "s3.us-east-1.amazonaws.com",
        "ec2.ap-northeast-1.amazonaws.com", // EC2 API calls still use the proxy
        "evil-s3.ap-northeast-1.amazonaws.com.example.com",
      ]), [true, true, true, false, false, false, false]);
    });

    it("noProxyList puts the cache hosts after the instance-role address, before the user's extras; absent without a cache", () => {
      assert.deepEqual(noProxyList({ ciHost: "192.0.2.3", instanceRole: true, cacheHosts: s3NoProxyHosts("eu-west-1"), extra: [".corp"] }),
        ["localhost", "127.0.0.1", "192.0.2.3", "169.254.169.254", "s3.eu-west-1.amazonaws.com", "s3.dualstack.eu-west-1.amazonaws.com", ".corp"]);
      assert.ok(!noProxyList({ ciHost: "192.0.2.3", instanceRole: true, extra: [] }).some((e) => e.includes("s3")));
    });
  });

  describe("IAM", () => {
    it("the manager's statements: object actions on the objects, ListBucket on the bucket", () => {
      assert.deepEqual(cachePolicyStatements("ap-northeast-1", "b-1"), [
        { Sid: "BuildCacheObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::b-1/*" },
        { Sid: "BuildCacheList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::b-1" },
      ]);
      assert.equal(cachePolicyStatements("cn-north-1", "b").at(-1)!.Resource, "arn:aws-cn:s3:::b");
    });

    it("join the runner policy only with a cache bucket, with unique Sids and no S3 wildcard", () => {
      const without = runnerPolicy({ region: "ap-northeast-1", spot: true });
      const withCache = runnerPolicy({ region: "ap-northeast-1", spot: true, cacheBucket: "b-1" });
      assert.ok(!JSON.stringify(without).includes("s3:"));
      assert.deepEqual(withCache.Statement.slice(0, without.Statement.length), without.Statement);
      assert.deepEqual(withCache.Statement.slice(without.Statement.length), cachePolicyStatements("ap-northeast-1", "b-1"));
      const sids = withCache.Statement.map((s) => s.Sid);
      assert.equal(new Set(sids).size, sids.length);
      for (const s of withCache.Statement.filter((x) => x.Action.some((a) => a.startsWith("s3:")))) assert.ok(!String(s.Resource).startsWith("*"), s.Sid);
    });
  });

  describe("bucket rules and route table", () => {
    it("lifecycle: expiry after expirationDays for every object, incomplete uploads aborted after 1 day", () => {
      assert.deepEqual(cacheLifecycleRules(7), [
        { id: "expire-cache", status: "Enabled", filter: {}, expiration: { days: 7 } },
        { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
      ]);
    });

    it("the workers' subnet's own table wins over the main table; the main table when it has none; an error when neither", () => {
      const main = { id: "rtb-main", associations: [{ main: true }, { subnetId: "subnet-other", main: false }] };
      const own = { id: "rtb-own", associations: [{ subnetId: "subnet-w", main: false }] };
      assert.equal(routeTableOfSubnet([main, own], "subnet-w"), "rtb-own");
      assert.equal(routeTableOfSubnet([main, own], "subnet-x"), "rtb-main");
      assert.throws(() => routeTableOfSubnet([own], "subnet-x"), /set cache\.s3\.routeTableIds/);
    });
  });

  describe("the [runners.cache] edit", () => {
    const base = { s3: S3, region: "ap-northeast-1", path: "prod", bucketName: "b-1" };

    it("accessKey mode: access-key with ServerAddress, AccessKey and SecretKey together", () => {
      assert.deepEqual(runnerCacheEdit({ ...base, credentials: "accessKey", accessKey: { id: "AKIA1", secret: "s" } }), {
        runnerName: undefined,
        cache: { Type: "s3", Shared: true, Path: "prod" },
        s3: { ServerAddress: "s3.ap-northeast-1.amazonaws.com", BucketName: "b-1", BucketLocation: "ap-northeast-1", AuthenticationType: "access-key", AccessKey: "AKIA1", SecretKey: "s" },
      });
      assert.throws(() => runnerCacheEdit({ ...base, credentials: "accessKey" }), /needs the access key/);
    });

    it("instanceProfile mode: iam, no keys; shared follows the settings; the runner name is passed on", () => {
      const e = runnerCacheEdit({ ...base, s3: { ...S3, shared: false }, runnerName: "r1", credentials: "instanceProfile" });
      assert.deepEqual(e.s3, { ServerAddress: "s3.ap-northeast-1.amazonaws.com", BucketName: "b-1", BucketLocation: "ap-northeast-1", AuthenticationType: "iam" });
      assert.equal(e.cache.Shared, false);
      assert.equal(e.runnerName, "r1");
    });

    it("the summary line says what destroy does to the cache", () => {
      assert.equal(cacheSummaryLine(S3, "b-1"),
        "Build cache: bucket b-1 (shared by all runners of the stack, objects expire after 14 days, reached through an S3 gateway endpoint); pulumi destroy DELETES the bucket and every cache in it.");
      assert.equal(cacheSummaryLine({ ...S3, bucketName: "mine", vpcEndpoint: false, shared: false }, "mine"),
        "Build cache: your bucket mine (per runner); pulumi destroy leaves the bucket and its objects.");
    });
  });
});
