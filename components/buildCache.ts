// The shared S3 build cache (issue 11): a private, encrypted bucket whose objects expire, and in
// proxy environments a gateway VPC endpoint so the workers reach S3 without the proxy. An existing
// bucket (cache.s3.bucketName) creates no bucket. Wiring only: the values come from core/aws/buildCache.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cacheLifecycleRules, routeTableOfSubnet, s3Names } from "../core/aws/buildCache";
import type { S3CacheSettings } from "../settings/types";
import { childOptions } from "./childOptions";

export interface BuildCacheArgs {
  readonly s3: S3CacheSettings;
  readonly region: string;
  readonly vpcId: string;
  /** The workers' subnet: the endpoint goes on its route table unless routeTableIds are given. */
  readonly subnetId: string;
  readonly tags: Record<string, string>;
}

export class BuildCache extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  /** Whether this stack owns the bucket (pulumi destroy deletes it with every cache in it). */
  public readonly createsBucket: boolean;
  /** What the rest of the program waits for before it points the runner at the cache. */
  public readonly resources: pulumi.Resource[] = [];

  constructor(name: string, args: BuildCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:cache:BuildCache", name, {}, opts);
    const parent = childOptions(this, opts);
    const s = args.s3;
    this.createsBucket = !s.bucketName;

    if (s.bucketName) {
      this.bucketName = pulumi.output(s.bucketName);
    } else {
      // Auto-named from `name` (known at preview); forceDestroy: destroy empties it first.
      const bucket = new aws.s3.Bucket(name, { forceDestroy: true, tags: args.tags }, parent);
      const on = { parent: this, dependsOn: [bucket] };
      this.resources.push(
        bucket,
        new aws.s3.BucketPublicAccessBlock(`${name}-public-access-block`, {
          bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        }, on),
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, on),
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
          bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        }, on),
        // Off: a cache object is rewritten on every upload, old versions would only cost money.
        new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Disabled" } }, on),
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: bucket.id, rules: cacheLifecycleRules(s.expirationDays) }, on),
      );
      this.bucketName = bucket.bucket;
    }

    if (s.vpcEndpoint) {
      const routeTableIds = s.routeTableIds
        ? pulumi.output(s.routeTableIds)
        : aws.ec2.getRouteTablesOutput({ vpcId: args.vpcId }, parent).ids.apply(async (ids) => {
            const tables = await Promise.all(ids.map((id) => aws.ec2.getRouteTable({ routeTableId: id }, { parent: this })));
            return [routeTableOfSubnet(tables.map((t) => ({ id: t.routeTableId, associations: t.associations })), args.subnetId)];
          });
      // The default (full-access) endpoint policy: the endpoint carries all of the subnet's S3
      // traffic in the region (ECR layers too), not only the cache's.
      this.resources.push(new aws.ec2.VpcEndpoint(`${name}-s3-endpoint`, {
        vpcId: args.vpcId,
        serviceName: s3Names(args.region).endpointService,
        vpcEndpointType: "Gateway",
        routeTableIds,
        tags: { ...args.tags, Name: `${name}-s3` },
      }, parent));
    }
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
