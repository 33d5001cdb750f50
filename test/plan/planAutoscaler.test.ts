// `npm run plan -- --stack autoscaler` (Pulumi.autoscaler.yaml) as a user runs it.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PLACEHOLDER_PROVIDER_SECRET } from "../../offline/placeholders";
import { REPO } from "../helpers/fixtures";
import { tomllibParse } from "../helpers/tomllib";

describe("npm run plan -- --stack autoscaler", function () {
  this.timeout(120000);
  let dir: string;
  let r: { code: number | null; stdout: string; stderr: string };
  const read = (rel: string) => fs.readFileSync(path.join(dir, "p", rel), "utf8");
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-plan-as-"));
    const p = spawnSync(process.execPath, ["-r", "ts-node/register", path.join(REPO, "scripts/plan.ts"), "--stack", "autoscaler", "--out", path.join(dir, "p")], { cwd: REPO, encoding: "utf8" });
    r = { code: p.status, stdout: p.stdout, stderr: p.stderr };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("exits 0 and warns that runner 17.11 is ahead of GitLab 16.1", () => {
    assert.equal(r.code, 0, r.stderr);
    // Once: the upgrade edit's warning (a newer major) makes the program's major.minor one redundant.
    assert.equal(r.stderr.match(/upgrade\.runnerImage gitlab\/gitlab-runner:ubuntu-v17\.11\.0 is a newer major than GitLab gitlab\/gitlab-ce:16\.1\.8-ce\.0/g)?.length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /is newer than GitLab 16\.1/);
  });

  it("shows the launch template and the Auto Scaling group with their key properties", () => {
    assert.match(r.stdout, /\+ workers-template {2}\(aws:ec2\/launchTemplate:LaunchTemplate\)\n\s+t3\.medium from ami-[0-9a-f]+; groups sg-0fedcba9876543210, public IP never; IMDSv2 required \(hop limit 1\); root gp3 encrypted=true; key pair autoscaler-worker-key-pair\n/);
    assert.match(r.stdout, /\+ workers-asg {2}\(aws:autoscaling\/group:Group\)\n\s+min 0 \/ desired 0 \(the plugin's from then on\) \/ max 3 in subnet-0123456789abcdef0; suspended AZRebalance; scale-in protection true; capacity rebalance false; force delete true; spot \(price-capacity-optimized\)\n/);
    assert.doesNotMatch(r.stdout, /tcp\/2376/);
  });

  it("shows the new config.toml's managed values, the idle conversion, and its diff", () => {
    const files = r.stdout.slice(r.stdout.indexOf("Files on the CI server:"));
    assert.match(files, /^ {6}executor = "docker-autoscaler" \(\[runners\.machine\] removed\)$/m);
    assert.match(files, /^ {6}autoscaler\.plugin_config: name="workers-asg-[0-9a-f]{7}" config_file="\/etc\/gitlab-runner\/fleeting-aws-config" credentials_file="\/etc\/gitlab-runner\/fleeting-aws-credentials"$/m);
    assert.match(files, /^ {6}autoscaler\.policy: periods=\["\* 9-17 \* \* mon-fri"\] timezone="Asia\/Tokyo" idle_count=1 idle_time="1h0m0s" \(idle machines 1 × 1 job slot\(s\) per instance: the autoscaler counts idle job slots\)$/m);
    assert.match(files, /^ {2}\/data\/gitlab-runner\/config\/config\.toml: \+25 -2 lines$/m);
    const diff = read("diffs/config.toml.diff");
    assert.match(diff, /^-  executor = "docker"$/m);
    assert.match(diff, /^\+  executor = "docker-autoscaler"$/m);
    assert.match(diff, /^\+  \[runners\.autoscaler\]$/m);
    const toml = tomllibParse(read("files/ci-server/config.toml")).value;
    assert.equal(toml.runners[0].autoscaler.max_instances, 3);
    assert.equal(toml.concurrent, 3);
  });

  it("writes the fleeting policy scoped to the group, the AMI's daemon.json, and never shows the key's secret", () => {
    const policy = JSON.parse(read("files/iam/runner-policy.json"));
    assert.deepEqual(policy.Statement.map((s: any) => s.Sid), ["ScaleThisGroup", "DescribeGroupAndInstances"], "the static worker key: no EC2 Instance Connect");
    assert.match(policy.Statement[0].Resource, /^arn:aws:autoscaling:ap-northeast-1:123456789012:autoScalingGroup:.*:autoScalingGroupName\/workers-asg-[0-9a-f]{7}$/);
    assert.equal(read("files/ami/daemon-json.txt"), `# /etc/docker/daemon.json\n{\n  "insecure-registries": [\n    "192.0.2.3:19081"\n  ]\n}\n`);
    assert.ok(!r.stdout.includes(PLACEHOLDER_PROVIDER_SECRET));
    assert.ok(!read("plan.json").includes(PLACEHOLDER_PROVIDER_SECRET));
  });
});
