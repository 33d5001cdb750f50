// The Docker Autoscaler's workers: a launch template and an Auto Scaling group that the fleeting
// AWS plugin scales. Set up as the plugin's README asks: min and desired 0 (the plugin owns the
// desired capacity, so later changes to it are ignored), no scaling policy, AZRebalance
// suspended (it would terminate instances under running jobs), scale-in protection on.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions } from "./childOptions";

export interface WorkerFleetArgs {
  readonly amiId: pulumi.Input<string>;
  readonly instanceType: string;
  readonly subnetId: string;
  readonly securityGroupId: string;
  readonly privateAddressOnly: boolean;
  /** Instance profile NAME of the workers, if any. */
  readonly iamInstanceProfile?: string;
  /** GiB; the image's own size when undefined. */
  readonly rootSize?: number;
  readonly spot: boolean;
  /** The ASG's max size: [runners.autoscaler] max_instances. */
  readonly maxInstances: number;
  /** EC2 key pair for the connector's static key (the CI server's worker key, imported), if any. */
  readonly keyName?: pulumi.Input<string>;
  /** Workers' own tags (workers.tags) and the stack's tags; the stack's win. */
  readonly workerTags: Record<string, string>;
  readonly tags: Record<string, string>;
}

export class WorkerFleet extends pulumi.ComponentResource {
  public readonly groupName: pulumi.Output<string>;
  public readonly groupArn: pulumi.Output<string>;
  public readonly launchTemplateId: pulumi.Output<string>;

  constructor(name: string, args: WorkerFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:workers:WorkerFleet", name, {}, opts);
    const parent = childOptions(this, opts);
    const instanceTags = { ...args.workerTags, ...args.tags, Name: `${name}-worker` };

    // The root volume is mapped under the image's own root device name (Ubuntu: /dev/sda1; Amazon
    // Linux: /dev/xvda): another name would add a second volume and leave the root as the image has it.
    const rootDeviceName = aws.ec2.getAmiOutput({ filters: [{ name: "image-id", values: [args.amiId] }], mostRecent: true }, parent).rootDeviceName;

    const template = new aws.ec2.LaunchTemplate(`${name}-template`, {
      description: "GitLab Runner docker-autoscaler workers (gitlab-runner-autoscaling)",
      imageId: args.amiId,
      instanceType: args.instanceType,
      keyName: args.keyName,
      iamInstanceProfile: args.iamInstanceProfile ? { name: args.iamInstanceProfile } : undefined,
      // Security groups on the interface (not vpcSecurityGroupIds) so the public address can be refused.
      networkInterfaces: [{
        deviceIndex: 0,
        associatePublicIpAddress: args.privateAddressOnly ? "false" : undefined,
        securityGroups: [args.securityGroupId],
        deleteOnTermination: "true",
      }],
      // IMDSv2 only; a second hop lets job containers reach the instance role, when there is one.
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: args.iamInstanceProfile ? 2 : 1 },
      blockDeviceMappings: [{
        deviceName: rootDeviceName,
        ebs: { encrypted: "true", volumeType: "gp3", volumeSize: args.rootSize, deleteOnTermination: "true" },
      }],
      tagSpecifications: [
        { resourceType: "instance", tags: instanceTags },
        { resourceType: "volume", tags: instanceTags },
      ],
      updateDefaultVersion: true,
      tags: args.tags,
    }, parent);
    const launchTemplate = { id: template.id, version: template.latestVersion.apply(String) };

    const group = new aws.autoscaling.Group(`${name}-asg`, {
      minSize: 0,
      maxSize: args.maxInstances,
      desiredCapacity: 0,
      vpcZoneIdentifiers: [args.subnetId],
      suspendedProcesses: ["AZRebalance"],
      protectFromScaleIn: true,
      capacityRebalance: false,
      // pulumi destroy terminates the instances with the group (scale-in protection would hold it).
      forceDelete: true,
      healthCheckType: "EC2",
      ...(args.spot
        ? {
          // Spot only, cheapest pools with capacity; the plugin replaces a reclaimed instance.
          mixedInstancesPolicy: {
            launchTemplate: { launchTemplateSpecification: { launchTemplateId: launchTemplate.id, version: launchTemplate.version }, overrides: [{ instanceType: args.instanceType }] },
            instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "price-capacity-optimized" },
          },
        }
        : { launchTemplate }),
      // The instances get their tags from the launch template; these name the group itself.
      tags: Object.entries(args.tags).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
    }, { ...parent, ignoreChanges: ["desiredCapacity"] });

    this.groupName = group.name;
    this.groupArn = group.arn;
    this.launchTemplateId = template.id;
    this.registerOutputs({ groupName: this.groupName, groupArn: this.groupArn, launchTemplateId: this.launchTemplateId });
  }
}
