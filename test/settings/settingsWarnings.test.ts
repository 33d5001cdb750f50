// Keys that count only under a switch, set while it is off: the warned ones (settings/conditional.ts),
// and the opt-out of host key checks, warned about on every preview and plan.
import { strict as assert } from "node:assert";
import { CONDITIONAL_KEYS, settingsWarnings } from "../../settings/conditional";
import { warningText } from "../../offline/messages";
import { insecureHostKeyWarning, isHostKey, keyscanCommand } from "../../settings/hostKey";
import { validateSettings, type RawConfig } from "../../settings/validate";
import { devRaw, stackConfig, TEST_SSH_KEY } from "../helpers/devConfig";

type Mutation = (raw: any) => void;

function warningsOf(mutate: Mutation): string[] {
  const raw = devRaw() as any;
  mutate(raw);
  return settingsWarnings(raw as RawConfig, validateSettings(raw as RawConfig));
}

// Each row: a key set while its switch is off, and the warning that must name it and the switch.
const WARNED: [string, Mutation, RegExp][] = [
  ["workers.zone with docker-autoscaler", (r) => ((r.runner.executor = "docker-autoscaler"), (r.runner.maxInstances = 2), delete r.runner.concurrent),
    /^workers\.zone is set \("a"\) but has no effect: it counts only when runner\.executor is docker\+machine \(docker-autoscaler's instances take the zone of workers\.subnetId\)\. Remove it with `pulumi config rm --path workers\.zone`, or turn that on\.$/],
  ["workers.imdsV2 true with docker-autoscaler", (r) => ((r.runner.executor = "docker-autoscaler"), (r.runner.maxInstances = 2), (r.workers.imdsV2 = true)), /^workers\.imdsV2 is set \(true\) but has no effect: it counts only when runner\.executor is docker\+machine/],
  ["workers.subnetCidr without a proxy", (r) => delete r.proxy, /^workers\.subnetCidr is set \("192\.0\.2\.0\/24"\) but has no effect: it counts only when proxy\.httpProxy is set \(the subnet goes into NO_PROXY\)/],
  ["upgrade.readyTimeoutSeconds with a runner-only upgrade", (r) => (r.upgrade = { runnerImage: "gitlab/gitlab-runner:ubuntu-v16.11.0", readyTimeoutSeconds: 600 }),
    /^upgrade\.readyTimeoutSeconds is set \(600\) but has no effect: it counts only when upgrade\.gitlabImage is set/],
  ["ami.baseAmi with ami.existingAmi", (r) => (r.ami.existingAmi = "ami-0123456789abcdef0"), /^ami\.baseAmi is set \("ami-0a3eb6ca097b78895"\) but has no effect: it counts only when ami\.existingAmi is unset/],
  ["ami.instanceType with ami.existingAmi", (r) => (r.ami.existingAmi = "ami-0123456789abcdef0"), /^ami\.instanceType is set \("t2\.micro"\) but has no effect/],
  ["ami.subnetId with ami.existingAmi", (r) => ((r.ami.existingAmi = "ami-0123456789abcdef0"), (r.ami.subnetId = "subnet-0123456789abcdef0")), /^ami\.subnetId is set/],
  ["ami.sshSourceCidr with ami.existingAmi", (r) => ((r.ami.existingAmi = "ami-0123456789abcdef0"), (r.ami.sshSourceCidr = "198.51.100.7/32")), /^ami\.sshSourceCidr is set \("198\.51\.100\.7\/32"\)/],
  ["ami.sshUser with ami.existingAmi and docker+machine", (r) => ((r.ami.existingAmi = "ami-0123456789abcdef0"), (r.ami.sshUser = "ubuntu")),
    /^ami\.sshUser is set \("ubuntu"\) but has no effect: it counts only when ami\.existingAmi is unset, or runner\.executor is docker-autoscaler/],
  ...["expirationDays", "shared", "bucketName", "vpcEndpoint"].map((k): [string, Mutation, RegExp] =>
    [`cache.s3.${k} with the cache off`, (r) => (r.cache = { s3: { [k]: { expirationDays: 7, shared: false, bucketName: "my-cache", vpcEndpoint: true }[k] } }),
      new RegExp(`^cache\\.s3\\.${k} is set \\(.*\\) but has no effect: it counts only when cache\\.s3\\.enabled is true\\.`)]),
  ["cache.s3.routeTableIds with the cache off", (r) => (r.cache = { s3: { enabled: false, vpcEndpoint: true, routeTableIds: ["rtb-0123456789abcdef0"] } }), /^cache\.s3\.routeTableIds is set \(\["rtb-0123456789abcdef0"\]\) but has no effect/],
];

describe("settings warnings: keys that would be ignored", () => {
  for (const [what, mutate, expected] of WARNED) {
    it(`warns of ${what}`, () => {
      const warnings = warningsOf(mutate);
      assert.ok(warnings.some((w) => expected.test(w)), `no warning matching ${expected} in:\n${warnings.join("\n")}`);
    });
  }

  it("covers every conditional key the program has (each warned or refused in a table)", () => {
    // CONDITIONAL_KEYS rows; expirationDays appears twice (cache off; own bucket).
    assert.deepEqual([...new Set(CONDITIONAL_KEYS.map((c) => c.key))].sort(), [
      "ami.baseAmi", "ami.instanceType", "ami.sshSourceCidr", "ami.sshUser", "ami.subnetId",
      "cache.s3.bucketName", "cache.s3.expirationDays", "cache.s3.routeTableIds", "cache.s3.shared", "cache.s3.vpcEndpoint",
      "runner.keyGeneration", "runner.managerRoleName", "upgrade.allowEditionChange", "upgrade.backup", "upgrade.backupDir", "upgrade.backupTimeoutSeconds",
      "upgrade.migrationsTimeoutSeconds", "upgrade.readyTimeoutSeconds", "upgrade.stopVersions", "workers.imdsV2", "workers.subnetCidr", "workers.zone",
    ]);
  });

  it("nothing to warn of in the bundled stacks", () => {
    for (const stack of ["dev", "autoscaler"]) {
      const c = stackConfig(stack) as any;
      const raw = { ...c, region: c["aws:region"], sshPrivateKey: TEST_SSH_KEY } as RawConfig;
      assert.deepEqual(settingsWarnings(raw, validateSettings(raw)), [], stack);
    }
  });

  it("the same keys with their switch on: no warning", () => {
    assert.deepEqual(warningsOf((r) => ((r.cache = { s3: { enabled: true, expirationDays: 7, shared: false } }), (r.upgrade = { gitlabImage: "gitlab/gitlab-ce:12.6.8-ce.0", readyTimeoutSeconds: 600 }), (r.workers.imdsV2 = false))), []);
  });
});

describe("settings warnings: ciServer.insecureSkipHostKeyCheck", () => {
  it("lets a missing host key through, and says so on every run, naming the switch and how to pin the key", () => {
    const warnings = warningsOf((r) => (delete r.ciServer.hostKey, (r.ciServer.insecureSkipHostKeyCheck = true)));
    assert.deepEqual(warnings, [
      "ciServer.insecureSkipHostKeyCheck is true: SSH does not verify the CI server 192.0.2.3, so the login key, the proxy credentials and the runner's access key go to whatever answers there. " +
      "Pin it: `ssh-keyscan -t ed25519 192.0.2.3`, then `pulumi config set --path ciServer.hostKey 'ssh-ed25519 AAAA…'`; then `pulumi config rm --path ciServer.insecureSkipHostKeyCheck`.",
    ]);
  });

  it("names the bastion too when its key is missing; a key that is set is still used", () => {
    const raw = devRaw() as any;
    raw.ciServer.insecureSkipHostKeyCheck = "true";
    raw.ciServer.bastion = { host: "198.51.100.7", port: 2022 };
    const s = validateSettings(raw);
    assert.equal(s.ciServer.hostKey, raw.ciServer.hostKey);
    assert.equal(s.ciServer.bastion!.hostKey, undefined);
    const [w] = settingsWarnings(raw, s);
    assert.match(w, /^ciServer\.insecureSkipHostKeyCheck is true: SSH does not verify the bastion 198\.51\.100\.7, .*`ssh-keyscan -t ed25519 -p 2022 198\.51\.100\.7`, then `pulumi config set --path ciServer\.bastion\.hostKey /);
  });

  it("in Japanese (npm run plan --lang ja): both peers named, the commands kept as they are", () => {
    const w = insecureHostKeyWarning({ ci: { host: "192.0.2.3", port: 22, user: "ec2-user" }, bastion: { host: "198.51.100.7", port: 2022, user: "ec2-user" } });
    assert.equal(warningText("ja", w),
      "警告: ciServer.insecureSkipHostKeyCheck が true のため、SSH は 踏み台 198.51.100.7、CIサーバ 192.0.2.3 のホスト鍵を検証しません。" +
      "ログイン鍵・プロキシの認証情報・Runner のアクセスキーが、そのアドレスで応答した相手に送られます。" +
      "鍵を固定してください: `ssh-keyscan -t ed25519 -p 2022 198.51.100.7` の後に `pulumi config set --path ciServer.bastion.hostKey 'ssh-ed25519 AAAA…'`、" +
      "`ssh -p 2022 ec2-user@198.51.100.7 ssh-keyscan -t ed25519 192.0.2.3` の後に `pulumi config set --path ciServer.hostKey 'ssh-ed25519 AAAA…'`。" +
      "その後 `pulumi config rm --path ciServer.insecureSkipHostKeyCheck` を実行します。");
  });

  it("is useless with every key set: a warning says so", () => {
    assert.deepEqual(warningsOf((r) => (r.ciServer.insecureSkipHostKeyCheck = true)), [
      "ciServer.insecureSkipHostKeyCheck is true, but every host key is set and checked: it has no effect. Remove it with `pulumi config rm --path ciServer.insecureSkipHostKeyCheck`.",
    ]);
  });
});

describe("host keys", () => {
  it("accepts real keys of each type with or without a comment, and nothing that would not parse", () => {
    const ed = (stackConfig("dev") as any).ciServer.hostKey as string;
    assert.ok(isHostKey(ed));
    assert.ok(isHostKey(`${ed} root@ci`));
    for (const bad of ["ssh-ed25519", "ssh-ed25519 AAAA", `${ed.slice(0, -4)}`, `192.0.2.3 ${ed}`, ed.replace("ssh-ed25519", "ecdsa-sha2-nistp256"), "ssh-ed25519 not-base64!"]) {
      assert.ok(!isHostKey(bad), bad);
    }
  });

  it("ssh-keyscan: -p only off port 22, through the bastion when there is one", () => {
    assert.equal(keyscanCommand({ host: "192.0.2.3", port: 22, user: "ec2-user" }), "ssh-keyscan -t ed25519 192.0.2.3");
    assert.equal(keyscanCommand({ host: "192.0.2.3", port: 2222, user: "ec2-user" }, { host: "198.51.100.7", port: 22, user: "ops" }), "ssh ops@198.51.100.7 ssh-keyscan -t ed25519 -p 2222 192.0.2.3");
  });
});
