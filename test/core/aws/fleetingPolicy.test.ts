import { strict as assert } from "node:assert";
import { arnAccount, fleetingPolicy, fleetingPolicyJson } from "../../../core/aws/fleetingPolicy";
import { runnerPolicy } from "../../../core/aws/iamPolicy";

const GROUP = "workers-asg-4f3c2b1";
const ARN = `arn:aws:autoscaling:ap-northeast-1:123456789012:autoScalingGroup:0d1e2f3a-aaaa-bbbb-cccc-000000000000:autoScalingGroupName/${GROUP}`;

describe("core/aws/fleetingPolicy", () => {
  it("is the plugin's recommended policy, scoped to the group (exact document, Instance Connect mode)", () => {
    assert.equal(fleetingPolicyJson({ region: "ap-northeast-1", groupName: GROUP, groupArn: ARN, staticCredentials: false }), `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ScaleThisGroup",
      "Effect": "Allow",
      "Action": [
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup"
      ],
      "Resource": "${ARN}"
    },
    {
      "Sid": "DescribeGroupAndInstances",
      "Effect": "Allow",
      "Action": [
        "autoscaling:DescribeAutoScalingGroups",
        "ec2:DescribeInstances"
      ],
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "aws:RequestedRegion": "ap-northeast-1"
        }
      }
    },
    {
      "Sid": "ConnectToThisGroupsInstances",
      "Effect": "Allow",
      "Action": [
        "ec2-instance-connect:SendSSHPublicKey"
      ],
      "Resource": "arn:aws:ec2:ap-northeast-1:123456789012:instance/*",
      "Condition": {
        "StringEquals": {
          "ec2:ResourceTag/aws:autoscaling:groupName": "${GROUP}"
        }
      }
    }
  ]
}
`);
  });

  it("with a static key (key_path) drops SendSSHPublicKey", () => {
    const doc = fleetingPolicy({ region: "ap-northeast-1", groupName: GROUP, groupArn: ARN, staticCredentials: true });
    assert.deepEqual(doc.Statement.map((s) => s.Sid), ["ScaleThisGroup", "DescribeGroupAndInstances"]);
  });

  it("shares no action with docker-machine's policy except the read-only DescribeInstances", () => {
    const fleeting = new Set(fleetingPolicy({ region: "ap-northeast-1", groupName: GROUP, groupArn: ARN, staticCredentials: false }).Statement.flatMap((s) => s.Action));
    const machine = runnerPolicy({ region: "ap-northeast-1", spot: true, workerRoleArn: "arn:aws:iam::123456789012:role/w" }).Statement.flatMap((s) => s.Action);
    assert.deepEqual(machine.filter((a) => fleeting.has(a)), ["ec2:DescribeInstances"]);
    for (const a of fleeting) assert.ok(!a.includes("*"), a);
  });

  it("reads the account from the group's ARN and refuses what is not one", () => {
    assert.equal(arnAccount(ARN), "123456789012");
    assert.throws(() => arnAccount("workers-asg"), /not an ARN with an account id: workers-asg/);
  });
});
