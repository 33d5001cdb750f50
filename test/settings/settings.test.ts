import { strict as assert } from "node:assert";
import { SettingsError, validateSettings, type RawConfig } from "../../settings/validate";
import { devRaw } from "../helpers/devConfig";

type Mutation = (raw: any) => void;

function problemsOf(mutate: Mutation): string[] {
  const raw = devRaw() as any;
  mutate(raw);
  try {
    validateSettings(raw as RawConfig);
  } catch (e) {
    if (e instanceof SettingsError) return e.problems.map((p) => `${p.key}: got ${p.value}; expected ${p.expected}`);
    throw e;
  }
  return [];
}

// Each row: a bad input, and the text its problem line must contain (key, value and expected form).
const BAD_INPUTS: [string, Mutation, RegExp][] = [
  ["a drain timeout of 0 seconds", (r) => (r.runner.drainTimeoutSeconds = 0), /^runner\.drainTimeoutSeconds: got 0; expected seconds, a whole number from 1 to 86400/],
  ["zone given as a region", (r) => (r.workers.zone = "ap-northeast-1"), /^workers\.zone: got "ap-northeast-1"; expected the availability-zone LETTER/],
  ["zone given as an AZ name", (r) => (r.workers.zone = "ap-northeast-1a"), /^workers\.zone: got "ap-northeast-1a"/],
  ["security-group name where an id is needed", (r) => (r.workers.securityGroupId = "docker-machine"), /^workers\.securityGroupId: got "docker-machine"; expected a security group id/],
  ["CI security group not an id", (r) => (r.ciServer.securityGroupId = "sg-xyz"), /^ciServer\.securityGroupId: got "sg-xyz"/],
  ["machineName without %s", (r) => (r.runner.machineName = "gitlab-docker-machine"), /^runner\.machineName: got "gitlab-docker-machine"; expected .*%s exactly once/],
  ["machineName with %s twice", (r) => (r.runner.machineName = "m-%s-%s"), /^runner\.machineName: got "m-%s-%s"/],
  ["machineName with upper case", (r) => (r.runner.machineName = "Runner-%s"), /^runner\.machineName: got "Runner-%s"; expected \[a-z0-9-\]/],
  ["machineName too long", (r) => (r.runner.machineName = "a-very-long-machine-name-prefix-%s"), /^runner\.machineName: .*at most 29/],
  ["negative idle time", (r) => (r.runner.idleTime = -1), /^runner\.idleTime: got -1; expected seconds, a whole number ≥ 0/],
  ["graceful stop longer than two hours", (r) => (r.runner.gracefulStopSeconds = 7201), /^runner\.gracefulStopSeconds: got 7201; expected seconds a runner restart waits for running jobs to finish, a whole number from 0 to 7200/],
  ["graceful stop not a number", (r) => (r.runner.gracefulStopSeconds = "10m"), /^runner\.gracefulStopSeconds: got "10m"; expected seconds/],
  ["concurrent 0", (r) => (r.runner.concurrent = 0), /^runner\.concurrent: got 0; expected a whole number ≥ 2/],
  ["concurrent 1 (runbook asks for 2 or more)", (r) => (r.runner.concurrent = 1), /^runner\.concurrent: got 1/],
  ["idleCount not a number", (r) => (r.runner.idleCount = "two"), /^runner\.idleCount: got "two"; expected a whole number ≥ 0/],
  ["idleCount above limit", (r) => ((r.runner.limit = 2), (r.runner.idleCount = 5)), /^runner\.idleCount: got 5; expected at most runner\.limit \(2\)/],
  ["proxy URL without scheme", (r) => (r.proxy.httpProxy = "192.0.2.1:3128"), /^proxy\.httpProxy: got "192\.0\.2\.1:3128"; expected a URL with (a scheme|scheme http)/],
  ["proxy URL without port", (r) => (r.proxy.httpProxy = "http://192.0.2.1"), /^proxy\.httpProxy: .*explicit port/],
  ["proxy URL with credentials (password masked)", (r) => (r.proxy.httpProxy = "http://u:CANARY-pw@192.0.2.1:3128"),
    /^proxy\.httpProxy: got "http:\/\/u:\*\*\*\*@192\.0\.2\.1:3128"; expected a URL without credentials \(put user:password in the secret key proxyCredentials\)/],
  ["bad CIDR in noProxy", (r) => (r.proxy.noProxy = ["10.0.0.0/33"]), /^proxy\.noProxy\[0\]: got "10\.0\.0\.0\/33"; expected .*CIDR/],
  ["bad worker subnet CIDR", (r) => (r.workers.subnetCidr = "192.0.2.0"), /^workers\.subnetCidr: got "192\.0\.2\.0"; expected an IPv4 CIDR block/],
  ["malformed AMI id", (r) => (r.ami.baseAmi = "ami-XYZ"), /^ami\.baseAmi: got "ami-XYZ"; expected an AMI id/],
  ["malformed existing AMI id", (r) => (r.ami.existingAmi = "0a3eb6ca097b78895"), /^ami\.existingAmi: got "0a3eb6ca097b78895"/],
  ["CI host not IPv4", (r) => (r.ciServer.host = "192.0.2"), /^ciServer\.host: got "192\.0\.2"; expected an IPv4 address/],
  ["CI host missing", (r) => delete r.ciServer.host, /^ciServer\.host: got \(not set\)/],
  ["SSH port out of range", (r) => (r.ciServer.port = 70000), /^ciServer\.port: got 70000/],
  ["compose command unknown", (r) => (r.ciServer.composeCommand = "podman-compose"), /^ciServer\.composeCommand: got "podman-compose"; expected one of "auto", "docker compose", "docker-compose"/],
  ["relative app dir", (r) => (r.ciServer.appDir = "nop/docker/ci"), /^ciServer\.appDir: got "nop\/docker\/ci"; expected an absolute path/],
  ["region missing", (r) => delete r.region, /^aws:region: got \(not set\)/],
  ["region malformed", (r) => (r.region = "tokyo"), /^aws:region: got "tokyo"/],
  ["vpc id malformed", (r) => (r.workers.vpcId = "vpc-1"), /^workers\.vpcId: got "vpc-1"/],
  ["subnet missing", (r) => delete r.workers.subnetId, /^workers\.subnetId: got \(not set\)/],
  ["tag value with a comma", (r) => (r.workers.tags = { team: "a,b" }), /^workers\.tags\.team: got "a,b"; expected .*comma/],
  ["spot not a boolean", (r) => (r.workers.spot = "yes"), /^workers\.spot: got "yes"; expected true or false/],
  ["credentials mode unknown", (r) => (r.runner.credentials = "root"), /^runner\.credentials: got "root"/],
  ["instanceProfile mode without manager role", (r) => (r.runner.credentials = "instanceProfile"), /^runner\.managerRoleName: got \(not set\)/],
  ["autoscaling period with 5 fields", (r) => (r.runner.autoscaling = [{ periods: ["* 9-17 * * mon-fri"], idleCount: 1, idleTime: 600 }]), /^runner\.autoscaling\[0\]\.periods\[0\]: got "\* 9-17 \* \* mon-fri"; expected a 7-field cron/],
  ["autoscaling bad timezone", (r) => (r.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 1, idleTime: 600, timezone: "JST" }]), /^runner\.autoscaling\[0\]\.timezone: got "JST"/],
  ["upgrade image without a version tag", (r) => (r.upgrade = { gitlabImage: "gitlab/gitlab-ce:latest", runnerImage: "gitlab/gitlab-runner:ubuntu-v12.6.0" }), /^upgrade\.gitlabImage: got "gitlab\/gitlab-ce:latest"; expected an image with a version tag/],
  ["upgrade of the wrong image", (r) => (r.upgrade = { gitlabImage: "gitlab/gitlab-ce:12.6.8-ce.0", runnerImage: "nginx:1.25.0" }), /^upgrade\.runnerImage: got "nginx:1\.25\.0"/],
  ["unknown key (typo), with the key it means", (r) => (r.runner.idletime = 900), /^runner\.idletime: got 900; expected no such key; did you mean runner\.idleTime\? known keys here: .*idleTime/],
  ["unknown nested key far from any known one: no guess", (r) => (r.workers.colour = "blue"), /^workers\.colour: got "blue"; expected no such key; known keys here: vpcId/],
  ["misspelt top-level key (pulumi config set --path runer.idleTime 60)", (r) => (r.projectConfig = { runer: { idleTime: 60 } }),
    /^runer: got \{"idleTime":60\}; expected no such key in the gitlab-runner-autoscaling: namespace \(it would be ignored\); did you mean runner\? Run `pulumi config rm runer`, then `pulumi config set --path runner\.idleTime 60`; known keys: ciServer, upgrade, proxy, ami, workers, runner, cache, sshPrivateKey, proxyCredentials/],
  ["nested key set at the top level (pulumi config set idleTime 60)", (r) => (r.projectConfig = { idleTime: "60" }),
    /^idleTime: got "60"; expected .*did you mean runner\.idleTime\? Run `pulumi config rm idleTime`, then `pulumi config set --path runner\.idleTime 60`/],
  ["a path set without --path (pulumi config set runner.idleTime 60 makes one key named so)", (r) => (r.projectConfig = { "runner.idleTime": "60" }),
    /^runner\.idleTime: got "60"; expected no such key .*; set it with --path, which makes runner\.idleTime a value inside runner: run `pulumi config rm 'runner\.idleTime'`, then `pulumi config set --path runner\.idleTime 60`/],
  ["upgrade with empty image values", (r) => (r.upgrade = { gitlabImage: "", runnerImage: "" }), /^upgrade: got \{"gitlabImage":"","runnerImage":""\}; expected upgrade\.gitlabImage, upgrade\.runnerImage or both/],
  ["region in the project namespace instead of aws:", (r) => (r.projectConfig = { region: "ap-northeast-1" }),
    /^region: got "ap-northeast-1"; expected .*did you mean aws:region\? Run `pulumi config rm region`, then `pulumi config set aws:region ap-northeast-1`/],
  ["unknown top-level key with no near one", (r) => (r.projectConfig = { colour: "blue" }), /^colour: got "blue"; expected no such key .*; remove it with `pulumi config rm colour`; known keys/],
  ["plaintext sshPrivateKey (the CLI refuses it: declared secret)", (r) => (r.plaintextSecrets = ["sshPrivateKey"]),
    /^sshPrivateKey: got \[secret\] \(stored in plain text in the stack file\); expected an encrypted value: replace it with pulumi config set --secret sshPrivateKey < /],
  ["plaintext proxyCredentials", (r) => ((r.proxyCredentials = "u:CANARY-plain"), (r.plaintextSecrets = ["proxyCredentials"])),
    /^proxyCredentials: got \[secret\] .*pulumi config set --secret proxyCredentials \(then type user:password at the prompt, not on the command line\)/],
  ["a misspelt project namespace (its keys would be ignored)", (r) => (r.otherKeys = ["aws:region", "gitlab-runner-autoscale:runner"]),
    /^gitlab-runner-autoscale:runner: got \(not shown\); expected a key of the gitlab-runner-autoscaling: namespace: did you mean gitlab-runner-autoscaling:runner\?/],
  ["aws:regoin with no aws:region", (r) => (delete r.region, (r.otherKeys = ["aws:regoin"])), /^aws:regoin: got \(not shown\); expected aws:region \(did you mean it\?\)/],
  ["plaintext aws:secretKey", (r) => (r.plaintextSecrets = ["aws:secretKey"]), /^aws:secretKey: got \[secret\] \(stored in plain text in the stack file\); expected an encrypted value: replace it with pulumi config set --secret aws:secretKey$/],
  ["upgrade block with neither image", (r) => (r.upgrade = { readyTimeoutSeconds: 600 }), /^upgrade: got \{"readyTimeoutSeconds":600\}; expected upgrade\.gitlabImage, upgrade\.runnerImage or both/],
  ["worker group equals CI group", (r) => (r.workers.securityGroupId = r.ciServer.securityGroupId), /^workers\.securityGroupId: .*other than ciServer\.securityGroupId/],
  ["ssh key missing", (r) => delete r.sshPrivateKey, /^sshPrivateKey: got \(not set\)/],
  ["ssh key not a key (masked)", (r) => (r.sshPrivateKey = "hunter2-canary"), /^sshPrivateKey: got \[secret\]; expected a PEM or OpenSSH private key/],
  ["proxy credentials malformed (masked)", (r) => (r.proxyCredentials = "no-colon-canary"), /^proxyCredentials: got \[secret\]; expected user:password/],
  ["workers block missing", (r) => delete r.workers, /^workers: got \(not set\)/],
  // Every SSH peer is verified: a missing key says how to get it (ssh-keyscan) and store it.
  ["no CI server host key", (r) => delete r.ciServer.hostKey,
    /^ciServer\.hostKey: got \(not set\); expected the CI server's SSH host key in authorized_keys form .*get it with `ssh-keyscan -t ed25519 192\.0\.2\.3` from a network you trust.*store the key .* with `pulumi config set --path ciServer\.hostKey 'ssh-ed25519 AAAA…'`; or connect unverified, knowingly, with `pulumi config set --path ciServer\.insecureSkipHostKeyCheck true`$/],
  ["no CI server host key, SSH on another port", (r) => (delete r.ciServer.hostKey, (r.ciServer.port = 2222)), /^ciServer\.hostKey: got \(not set\); .*`ssh-keyscan -t ed25519 -p 2222 192\.0\.2\.3`/],
  ["a host key pasted with ssh-keyscan's host name", (r) => (r.ciServer.hostKey = `192.0.2.3 ${r.ciServer.hostKey}`),
    /^ciServer\.hostKey: got "192\.0\.2\.3 ssh-ed25519 AAAA[^"]*"; expected a host key in authorized_keys form, e\.g\. ssh-ed25519 AAAA… \(the line `ssh-keyscan -t ed25519 192\.0\.2\.3` prints, without the host name before it\)$/],
  ["a host key cut short (the blob is not a whole key)", (r) => (r.ciServer.hostKey = r.ciServer.hostKey.slice(0, -8)), /^ciServer\.hostKey: got "ssh-ed25519 AAAA[^"]*"; expected a host key in authorized_keys form/],
  ["a host key of one type labelled as another", (r) => (r.ciServer.hostKey = r.ciServer.hostKey.replace("ssh-ed25519", "ssh-rsa")), /^ciServer\.hostKey: got "ssh-rsa AAAAC3Nza/],
  ["a bastion without its host key (the CI server's keyscan then runs on the bastion)", (r) => (delete r.ciServer.hostKey, (r.ciServer.bastion = { host: "198.51.100.7", port: 2022 })),
    /^ciServer\.bastion\.hostKey: got \(not set\); expected the bastion's SSH host key .*`ssh-keyscan -t ed25519 -p 2022 198\.51\.100\.7`.*`pulumi config set --path ciServer\.bastion\.hostKey 'ssh-ed25519 AAAA…'`/],
  ["the CI server's key missing behind a bastion", (r) => (delete r.ciServer.hostKey, (r.ciServer.bastion = { host: "198.51.100.7", port: 2022, hostKey: r.ciServer.hostKey ?? "" })),
    /^ciServer\.hostKey: got \(not set\); .*`ssh -p 2022 ec2-user@198\.51\.100\.7 ssh-keyscan -t ed25519 192\.0\.2\.3`/],
  ["a malformed bastion host key", (r) => (r.ciServer.bastion = { host: "198.51.100.7", hostKey: "AAAAC3NzaC1lZDI1NTE5" }), /^ciServer\.bastion\.hostKey: got "AAAAC3NzaC1lZDI1NTE5"; expected a host key .*`ssh-keyscan -t ed25519 198\.51\.100\.7`/],
  ["insecureSkipHostKeyCheck not a boolean", (r) => (r.ciServer.insecureSkipHostKeyCheck = "yes"), /^ciServer\.insecureSkipHostKeyCheck: got "yes"; expected true or false$/],
  // Nothing configured is silently ignored: refused where the operator clearly expects an effect.
  ["managerRoleName with access-key credentials", (r) => (r.runner.managerRoleName = "ci-server-role"),
    /^runner\.managerRoleName: got "ci-server-role"; expected unset unless runner\.credentials is instanceProfile \(the role then gets the runner's policy\): now it would be ignored$/],
  ["keyGeneration with instance-profile credentials", (r) => ((r.runner.credentials = "instanceProfile"), (r.runner.managerRoleName = "ci-server-role"), (r.runner.keyGeneration = 2)),
    /^runner\.keyGeneration: got 2; expected unset unless runner\.credentials is accessKey \(it rotates the IAM access key\): now it would be ignored$/],
  ["imdsV2 false with docker-autoscaler (its launch template always requires IMDSv2)", (r) => ((r.runner.executor = "docker-autoscaler"), (r.runner.maxInstances = 2), (r.workers.imdsV2 = false)),
    /^workers\.imdsV2: got false; expected unset unless runner\.executor is docker\+machine \(docker-autoscaler's launch template always requires IMDSv2\): now it would be ignored$/],
  ["docker-autoscaler keys with docker+machine", (r) => ((r.runner.maxInstances = 3), (r.runner.capacityPerInstance = 2), (r.runner.plugin = "aws:1.0.0")),
    /^runner\.maxInstances: got 3; expected unset unless runner\.executor is docker-autoscaler$/],
  ["proxyCredentials without proxy.httpProxy", (r) => (delete r.proxy, (r.proxyCredentials = "u:CANARY-pw")), /^proxyCredentials: got \[secret\]; expected unset unless proxy\.httpProxy is set$/],
  ["cache expiry with the operator's own bucket", (r) => (r.cache = { s3: { enabled: true, bucketName: "my-cache", expirationDays: 30 } }),
    /^cache\.s3\.expirationDays: got 30; expected unset unless cache\.s3\.bucketName is unset/],
  ["IMDSv2 with the runbook's runner 12.6 (its docker-machine lacks the flag)",
    (r) => (r.upgrade = { gitlabImage: "gitlab/gitlab-ce:12.6.8-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v12.6.0" }),
    /^workers\.imdsV2: got true \(the default\); expected false with upgrade\.runnerImage gitlab\/gitlab-runner:ubuntu-v12\.6\.0: its docker-machine predates amazonec2-metadata-token/],
];

describe("settings validation", () => {
  it("accepts the dev stack and applies the documented defaults", () => {
    const s = validateSettings(devRaw());
    assert.equal(s.region, "ap-northeast-1");
    assert.deepEqual(
      { user: s.ciServer.user, port: s.ciServer.port, appDir: s.ciServer.appDir, path: s.ciServer.runnerConfigPath, compose: s.ciServer.composeCommand },
      { user: "ec2-user", port: 22, appDir: "/home/ec2-user/nop/docker/ci", path: "/data/gitlab-runner/config/config.toml", compose: "auto" },
    );
    assert.equal(s.proxy?.httpsProxy, "http://192.0.2.1:3128", "httpsProxy defaults to httpProxy");
    assert.equal(s.ami.subnetId, s.workers.subnetId, "the builder defaults to the workers' subnet");
    assert.deepEqual(
      { ...s.runner, autoscaling: undefined },
      { name: undefined, concurrent: 3, limit: undefined, idleCount: 0, idleTime: 1800, maxBuilds: 100, machineName: "gitlab-docker-machine-%s", credentials: "accessKey", keyGeneration: 1, managerRoleName: undefined, autoscaling: undefined, gracefulStopSeconds: 600, drainTimeoutSeconds: 600, executor: "docker+machine" },
    );
    assert.equal(s.upgrade, undefined);
  });

  it(`has a table of ${BAD_INPUTS.length} distinct bad inputs`, () => assert.ok(BAD_INPUTS.length >= 25));

  for (const [what, mutate, expected] of BAD_INPUTS) {
    it(`rejects ${what}`, () => {
      const problems = problemsOf(mutate);
      assert.ok(problems.some((p) => expected.test(p)), `no problem matching ${expected} in:\n${problems.join("\n")}`);
    });
  }

  it("lists every problem at once", () => {
    const problems = problemsOf((r) => {
      r.workers.zone = "ap-northeast-1";
      r.runner.concurrent = 0;
      r.proxy.httpProxy = "proxy:3128";
      r.ami.baseAmi = "ami-1";
    });
    assert.deepEqual(problems.map((p) => p.split(":")[0]).sort(), ["ami.baseAmi", "proxy.httpProxy", "runner.concurrent", "workers.zone"]);
  });

  it("never prints a secret value", () => {
    let message = "";
    const raw = devRaw() as any;
    raw.sshPrivateKey = "CANARY-7f3a not a key";
    raw.proxyCredentials = "CANARY-7f3a";
    try {
      validateSettings(raw);
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, /sshPrivateKey/);
    assert.doesNotMatch(message, /CANARY/);
  });

  it("never prints a URL's password, wherever the URL was put", () => {
    let message = "";
    const raw = devRaw() as any;
    raw.proxy.httpProxy = "http://alice:CANARY-1@192.0.2.1:3128";
    raw.proxy.httpsProxy = "https://alice:CANARY-2@192.0.2.1:3128";
    raw.proxy.noProxy = ["http://bob:CANARY-3@example.com"];
    raw.ciServer.host = "http://carol:CANARY-4@192.0.2.3";
    raw.runner.colour = "http://dave:CANARY-5@x:1";
    raw.projectConfig = { mirror: "http://erin:CANARY-6@mirror:8080" };
    try {
      validateSettings(raw);
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, /http:\/\/alice:\*\*\*\*@192\.0\.2\.1:3128/);
    assert.match(message, /6 problem\(s\)/);
    assert.doesNotMatch(message, /CANARY/);
  });

  it("accepts the stack's own project keys, and keys the user set with the SDK's names", () => {
    const raw = devRaw() as any;
    raw.projectConfig = { ciServer: raw.ciServer, workers: raw.workers, runner: raw.runner, proxy: raw.proxy, ami: raw.ami, sshPrivateKey: "[secret]", proxyCredentials: "[secret]", upgrade: {} };
    delete raw.projectConfig.upgrade;
    assert.doesNotThrow(() => validateSettings(raw));
  });

  it("upgrades one image alone: GitLab only, or the runner only", () => {
    const gitlab = validateSettings(((r: any) => ((r.upgrade = { gitlabImage: "gitlab/gitlab-ce:16.0.8-ce.0" }), r))(devRaw()));
    // The defaults of the upgrade path: 30 min bounds per wait, a backup under /data, no edition change.
    const defaults = { readyTimeoutSeconds: 1800, migrationsTimeoutSeconds: 1800, backup: true, backupDir: "/data/gitlab-upgrade-backups", backupTimeoutSeconds: 7200, allowEditionChange: false, stopVersions: [] };
    assert.deepEqual(gitlab.upgrade, { gitlabImage: "gitlab/gitlab-ce:16.0.8-ce.0", ...defaults });
    const runner = validateSettings(((r: any) => ((r.upgrade = { runnerImage: "gitlab/gitlab-runner:ubuntu-v16.11.0" }), r))(devRaw()));
    assert.deepEqual(runner.upgrade, { runnerImage: "gitlab/gitlab-runner:ubuntu-v16.11.0", ...defaults });
    assert.deepEqual(gitlab.ciServer.snapshotWindow, { start: "23:00", end: "00:30" }, "Collaborage's cron window by default");
    assert.equal(gitlab.ciServer.allowInSnapshotWindow, false);
  });

  it("refuses, all at once, the upgrade path's bad inputs, each naming its key and the expected form", () => {
    const problems = problemsOf((r) => {
      r.upgrade = { gitlabImage: "gitlab/gitlab-ce:18.11.3-ce.0", runnerImage: "follow", stopVersions: ["18.3.1"], backupDir: "backups", migrationsTimeoutSeconds: 0 };
      r.ciServer.snapshotWindow = "23:00";
    });
    assert.deepEqual(problems.map((p) => p.split(":")[0]), ["ciServer.snapshotWindow", "upgrade.stopVersions", "upgrade.stopVersions", "upgrade.backupDir", "upgrade.migrationsTimeoutSeconds"]);
    assert.match(problems[0], /got "23:00"; expected HH:MM-HH:MM in the server's time \(Collaborage's cron: 23:00-00:30\), or none/);
    assert.match(problems[1], /got \["18\.3\.1"\]; expected a list of x\.y\.z on required stops' minors/);
    assert.match(problems[2], /expected the latest patch of each stop on the way to gitlab\/gitlab-ce:18\.11\.3-ce\.0 that this program does not know: 18\.2\.<patch>, 18\.5\.<patch>, 18\.8\.<patch>/);
    const follow = problemsOf((r) => { r.upgrade = { runnerImage: "follow" }; });
    assert.match(follow.join("\n"), /upgrade\.runnerImage: got "follow"; expected an explicit runner image when upgrade\.gitlabImage is not set/);
    const ok = validateSettings(((r: any) => ((r.upgrade = { gitlabImage: "gitlab/gitlab-ce:18.11.3-ce.0", runnerImage: "follow", stopVersions: ["18.2.8", "18.5.6", "18.8.7"] }), (r.ciServer.snapshotWindow = "none"), r))(devRaw()));
    assert.equal(ok.ciServer.snapshotWindow, undefined);
    assert.deepEqual(ok.upgrade?.stopVersions, ["18.2.8", "18.5.6", "18.8.7"]);
  });

  it("accepts numbers given as strings (plain `pulumi config set`) and booleans as strings", () => {
    const s = validateSettings(((r: any) => ((r.runner.idleTime = "900"), (r.workers.spot = "false"), r))(devRaw()));
    assert.equal(s.runner.idleTime, 900);
    assert.equal(s.workers.spot, false);
  });

  it("takes tag values set with --path as booleans or numbers as text", () => {
    const s = validateSettings(((r: any) => ((r.workers.tags = { gitlab: true, cost: 42 }), r))(devRaw()));
    assert.deepEqual(s.workers.tags, { gitlab: "true", cost: "42" });
  });
});
