// Least-privilege policy for docker-machine's amazonec2 driver, from its EC2 call sites
// (reference/runner-config-reference.md §5). The runbook asks for "a user that can start and stop
// instances"; GitLab's docs grant AmazonEC2FullAccess. Everything here is bounded to one region.
import { cachePolicyStatements } from "./buildCache";

export interface RunnerPolicyInput {
  region: string;
  spot: boolean;
  /** ARN of the workers' instance-profile role; iam:PassRole is granted on it alone. */
  workerRoleArn?: string;
  /** The build cache's bucket: the manager signs the cache URLs, so it alone gets S3 access. */
  cacheBucket?: string;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string>>;
  }[];
}

export function runnerPolicy(input: RunnerPolicyInput): PolicyDocument {
  const inRegion = { StringEquals: { "aws:RequestedRegion": input.region } };
  const statements: PolicyDocument["Statement"] = [
    {
      Sid: "DescribeForDockerMachine",
      Effect: "Allow",
      // Describe calls have no resource-level permissions.
      Action: ["ec2:DescribeInstances", "ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets"],
      Resource: "*",
      Condition: inRegion,
    },
    {
      Sid: "WorkerKeyPairs",
      Effect: "Allow",
      Action: ["ec2:ImportKeyPair", "ec2:DeleteKeyPair"],
      Resource: `arn:aws:ec2:${input.region}:*:key-pair/*`,
    },
    {
      Sid: "WorkerLifecycle",
      Effect: "Allow",
      Action: [
        "ec2:RunInstances",
        "ec2:CreateTags",
        "ec2:StartInstances",
        "ec2:StopInstances",
        "ec2:RebootInstances",
        "ec2:TerminateInstances",
      ],
      Resource: "*",
      Condition: inRegion,
    },
  ];
  if (input.spot) {
    statements.push({
      Sid: "LegacySpotRequests",
      Effect: "Allow",
      // docker-machine builds before gitlab.21 (runner < 16) request spot capacity this way.
      Action: ["ec2:RequestSpotInstances", "ec2:DescribeSpotInstanceRequests", "ec2:CancelSpotInstanceRequests"],
      Resource: "*",
      Condition: inRegion,
    });
  }
  if (input.workerRoleArn) {
    statements.push({
      Sid: "PassWorkerRole",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: input.workerRoleArn,
      Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
    });
  }
  if (input.cacheBucket) statements.push(...cachePolicyStatements(input.region, input.cacheBucket));
  return { Version: "2012-10-17", Statement: statements };
}

export const runnerPolicyJson = (input: RunnerPolicyInput) => JSON.stringify(runnerPolicy(input), null, 2) + "\n";
