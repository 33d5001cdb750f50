// IAM policy of the AWS fleeting plugin (the Docker Autoscaler's): the plugin's recommended policy
// (gitlab.com/gitlab-org/fleeting/plugins/aws README), scoped to this stack's Auto Scaling group.
// Nothing of docker-machine's: the plugin never runs, tags or key-pairs instances itself.
import { cachePolicyStatements } from "./buildCache";
import type { PolicyDocument } from "./iamPolicy";

export interface FleetingPolicyInput {
  region: string;
  /** The Auto Scaling group's real (auto-named) name and ARN. */
  groupName: string;
  groupArn: string;
  /**
   * The runner connects with a static key (connector_config use_static_credentials): no EC2
   * Instance Connect. Without it the plugin pushes a key with SendSSHPublicKey before each connect.
   */
  staticCredentials: boolean;
  /** The shared build cache's bucket, when there is one (the runner signs its URLs). */
  cacheBucket?: string;
}

/** Account id of an ARN (arn:partition:service:region:account:…). */
export function arnAccount(arn: string): string {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn" || !/^\d{12}$/.test(parts[4])) throw new Error(`not an ARN with an account id: ${arn}`);
  return parts[4];
}

export function fleetingPolicy(input: FleetingPolicyInput): PolicyDocument {
  const statements: PolicyDocument["Statement"] = [
    {
      Sid: "ScaleThisGroup",
      Effect: "Allow",
      Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      Resource: input.groupArn,
    },
    {
      Sid: "DescribeGroupAndInstances",
      Effect: "Allow",
      // Describe calls have no resource-level permissions.
      Action: ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"],
      Resource: "*",
      Condition: { StringEquals: { "aws:RequestedRegion": input.region } },
    },
  ];
  if (!input.staticCredentials) {
    statements.push({
      Sid: "ConnectToThisGroupsInstances",
      Effect: "Allow",
      Action: ["ec2-instance-connect:SendSSHPublicKey"],
      Resource: `arn:aws:ec2:${input.region}:${arnAccount(input.groupArn)}:instance/*`,
      Condition: { StringEquals: { "ec2:ResourceTag/aws:autoscaling:groupName": input.groupName } },
    });
  }
  if (input.cacheBucket) statements.push(...cachePolicyStatements(input.region, input.cacheBucket));
  return { Version: "2012-10-17", Statement: statements };
}

export const fleetingPolicyJson = (input: FleetingPolicyInput) => JSON.stringify(fleetingPolicy(input), null, 2) + "\n";
