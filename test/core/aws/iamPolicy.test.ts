import { strict as assert } from "node:assert";
import { runnerPolicy, runnerPolicyJson } from "../../../core/aws/iamPolicy";

const actions = (doc: ReturnType<typeof runnerPolicy>) => doc.Statement.flatMap((s) => s.Action);

describe("runner IAM policy", () => {
  it("grants what docker-machine's amazonec2 driver calls, and nothing wider", () => {
    const doc = runnerPolicy({ region: "ap-northeast-1", spot: false });
    assert.deepEqual(actions(doc).sort(), [
      "ec2:CreateTags", "ec2:DeleteKeyPair", "ec2:DescribeInstances", "ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets", "ec2:ImportKeyPair", "ec2:RebootInstances", "ec2:RunInstances", "ec2:StartInstances",
      "ec2:StopInstances", "ec2:TerminateInstances",
    ]);
    assert.ok(!actions(doc).some((a) => a.includes("*")), "no wildcard actions");
    assert.ok(!actions(doc).some((a) => a.startsWith("iam:")), "no IAM actions without a worker role");
  });

  it("bounds every statement with a wildcard resource to the region", () => {
    for (const s of runnerPolicy({ region: "ap-northeast-1", spot: true }).Statement) {
      if (s.Resource === "*") assert.deepEqual(s.Condition, { StringEquals: { "aws:RequestedRegion": "ap-northeast-1" } }, s.Sid);
    }
  });

  it("passes only the workers' role, only to EC2", () => {
    const arn = "arn:aws:iam::123456789012:role/example-worker";
    const pass = runnerPolicy({ region: "ap-northeast-1", spot: true, workerRoleArn: arn }).Statement.find((s) => s.Action.includes("iam:PassRole"));
    assert.deepEqual(pass, { Sid: "PassWorkerRole", Effect: "Allow", Action: ["iam:PassRole"], Resource: arn, Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } } });
  });

  it("adds the legacy spot-request actions only with spot", () => {
    assert.ok(actions(runnerPolicy({ region: "us-east-1", spot: true })).includes("ec2:RequestSpotInstances"));
    assert.ok(!actions(runnerPolicy({ region: "us-east-1", spot: false })).includes("ec2:RequestSpotInstances"));
  });

  it("is valid IAM JSON: version, unique Sids, Allow statements with actions and resources", () => {
    const doc = JSON.parse(runnerPolicyJson({ region: "ap-northeast-1", spot: true, workerRoleArn: "arn:aws:iam::123456789012:role/r" }));
    assert.equal(doc.Version, "2012-10-17");
    const sids = doc.Statement.map((s: any) => s.Sid);
    assert.equal(new Set(sids).size, sids.length);
    for (const s of doc.Statement) {
      assert.match(s.Sid, /^[A-Za-z0-9]+$/);
      assert.equal(s.Effect, "Allow");
      assert.ok(s.Action.length > 0 && s.Action.every((a: string) => /^[a-z0-9-]+:[A-Za-z]+$/.test(a)));
      assert.ok(s.Resource === "*" || /^arn:aws:/.test(s.Resource));
    }
  });
});
