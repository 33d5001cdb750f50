// The shared S3 build cache (issue 11), as pure values: S3 host names per region (for
// config.toml's ServerAddress and for NO_PROXY), the IAM statements of the runner manager,
// the bucket's lifecycle rules, the route-table choice of the gateway endpoint, and the
// [runners.cache] edit for config.toml.
import type { CredentialsMode, S3CacheSettings } from "../../settings/types";
import type { RunnerCacheEdit } from "../ciServer/configToml/configTomlCache";

export interface S3Names {
  /** Regional endpoint; written as ServerAddress, so every runner version signs URLs for it. */
  host: string;
  /** Dual-stack endpoint of the region (used by minio-go clients that enable dual-stack). */
  dualstackHost: string;
  /** Service name of the gateway VPC endpoint. */
  endpointService: string;
  /** ARN partition of the region. */
  partition: string;
}

/** China regions live in their own partition and DNS suffix; GovCloud only in its partition. */
export function s3Names(region: string): S3Names {
  const china = region.startsWith("cn-");
  const suffix = china ? "amazonaws.com.cn" : "amazonaws.com";
  return {
    host: `s3.${region}.${suffix}`,
    dualstackHost: `s3.dualstack.${region}.${suffix}`,
    endpointService: `${china ? "cn.com.amazonaws" : "com.amazonaws"}.${region}.s3`,
    partition: china ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws",
  };
}

/**
 * NO_PROXY entries that keep cache transfers off the proxy. Pre-signed URLs are virtual-hosted
 * (`<bucket>.s3.<region>.amazonaws.com`) or path-style (`s3.<region>.amazonaws.com/<bucket>`);
 * Go's NO_PROXY matching (golang.org/x/net/http/httpproxy: "foo.com" matches "foo.com" and
 * "bar.foo.com") covers both with the bare name, and so does curl. The dual-stack name is
 * listed as well: runners before 17.5 sign with minio-go, whose region map has a dual-stack
 * host for every region.
 */
export function s3NoProxyHosts(region: string): string[] {
  const n = s3Names(region);
  return [n.host, n.dualstackHost];
}

/** Bucket ARN in the region's partition. */
export const s3BucketArn = (region: string, bucket: string) => `arn:${s3Names(region).partition}:s3:::${bucket}`;

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
}

/**
 * What the manager needs: it signs the URLs the jobs use, so its credentials must allow every
 * operation the URLs carry (GitLab Runner docs, "The [runners.cache.s3] section"). Workers need none.
 */
export function cachePolicyStatements(region: string, bucket: string): PolicyStatement[] {
  const arn = s3BucketArn(region, bucket);
  return [
    { Sid: "BuildCacheObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"], Resource: `${arn}/*` },
    { Sid: "BuildCacheList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: arn },
  ];
}

/** Lifecycle rules of a created bucket (the provider's BucketLifecycleConfiguration rules). */
export function cacheLifecycleRules(expirationDays: number) {
  return [
    // Every upload rewrites the object, so a cache in use never reaches its expiry.
    { id: "expire-cache", status: "Enabled", filter: {}, expiration: { days: expirationDays } },
    { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
  ];
}

export interface RouteTableInfo {
  id: string;
  associations: { subnetId?: string; main?: boolean }[];
}

/**
 * The route table a subnet uses: its explicit association, else the VPC's main table (a subnet
 * without one is associated implicitly, and DescribeRouteTables filtered by subnet finds nothing).
 */
export function routeTableOfSubnet(tables: RouteTableInfo[], subnetId: string): string {
  const explicit = tables.find((t) => t.associations.some((a) => a.subnetId === subnetId));
  const main = tables.find((t) => t.associations.some((a) => a.main));
  const id = explicit?.id ?? main?.id;
  if (!id) throw new Error(`no route table found for ${subnetId} (neither its own nor the VPC's main table): set cache.s3.routeTableIds`);
  return id;
}

export interface RunnerCacheInput {
  s3: S3CacheSettings;
  region: string;
  runnerName?: string;
  /** Stack name: the cache's Path, so several stacks can share one bucket. */
  path: string;
  bucketName: string;
  credentials: CredentialsMode;
  /** accessKey mode: the runner's IAM key (the same as docker-machine's). */
  accessKey?: { id: string; secret: string };
}

/** The [runners.cache] edit; access-key needs ServerAddress, AccessKey and SecretKey together. */
export function runnerCacheEdit(input: RunnerCacheInput): RunnerCacheEdit {
  const auth = input.credentials === "accessKey"
    ? (() => {
        if (!input.accessKey) throw new Error("accessKey mode needs the access key for the cache");
        return { AuthenticationType: "access-key" as const, AccessKey: input.accessKey.id, SecretKey: input.accessKey.secret };
      })()
    : { AuthenticationType: "iam" as const };
  return {
    runnerName: input.runnerName,
    cache: { Type: "s3", Shared: input.s3.shared, Path: input.path },
    s3: { ServerAddress: s3Names(input.region).host, BucketName: input.bucketName, BucketLocation: input.region, ...auth },
  };
}

/** The stack summary's line about the cache: where it is, and what destroy does to it. */
export function cacheSummaryLine(s3: S3CacheSettings, bucket: string): string {
  const shared = s3.shared ? "shared by all runners of the stack" : "per runner";
  const endpoint = s3.vpcEndpoint ? ", reached through an S3 gateway endpoint" : "";
  return s3.bucketName
    ? `Build cache: your bucket ${bucket} (${shared}${endpoint}); pulumi destroy leaves the bucket and its objects.`
    : `Build cache: bucket ${bucket} (${shared}, objects expire after ${s3.expirationDays} days${endpoint}); pulumi destroy DELETES the bucket and every cache in it.`;
}
