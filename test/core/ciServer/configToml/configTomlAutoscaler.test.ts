import { strict as assert } from "node:assert";
import { ConfigTomlError } from "../../../../core/ciServer/configToml/configToml";
import { managedAutoscalerKeys, mergeAutoscalerConfig, type RunnerAutoscalerEdit } from "../../../../core/ciServer/configToml/configTomlAutoscaler";
import { fixture, fixtureJson } from "../../../helpers/fixtures";
import { tomllibParse } from "../../../helpers/tomllib";

const EDIT: RunnerAutoscalerEdit = {
  concurrent: 4,
  autoscaler: {
    plugin: "aws:1.0.0",
    capacity_per_instance: 1,
    max_use_count: 100,
    max_instances: 4,
    delete_instances_on_shutdown: true,
    plugin_config: { name: "workers-asg-4f3c2b1", config_file: "/etc/gitlab-runner/fleeting-aws-config", credentials_file: "/etc/gitlab-runner/fleeting-aws-credentials" },
    connector_config: { username: "ubuntu", use_external_addr: false },
    policy: [
      { idle_count: 0, idle_time: "30m0s" },
      { periods: ["* 9-17 * * mon-fri"], timezone: "Asia/Tokyo", idle_count: 2, idle_time: "1h0m0s" },
    ],
  },
};

// What the merge makes of Collaborage's config.toml, byte for byte (below the fixture's header comments).
const COLLABORAGE_AFTER = `concurrent = 4
check_interval = 0
shutdown_timeout = 0

[session_server]
  session_timeout = 1800

[[runners]]
  name = "0123456789ab"
  url = "http://192.0.2.3/gitlab"
  id = 1
  token = "glrt-REDACTED"
  token_obtained_at = 2023-09-25T00:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "docker-autoscaler"
  clone_url = "http://192.0.2.3/gitlab"
  [runners.custom_build_dir]
  [runners.cache]
    MaxUploadedArchiveSize = 0
    [runners.cache.s3]
    [runners.cache.gcs]
    [runners.cache.azure]
  [runners.autoscaler]
    plugin = "aws:1.0.0"
    capacity_per_instance = 1
    max_use_count = 100
    max_instances = 4
    delete_instances_on_shutdown = true
    [runners.autoscaler.plugin_config]
      name = "workers-asg-4f3c2b1"
      config_file = "/etc/gitlab-runner/fleeting-aws-config"
      credentials_file = "/etc/gitlab-runner/fleeting-aws-credentials"
    [runners.autoscaler.connector_config]
      username = "ubuntu"
      use_external_addr = false
    [[runners.autoscaler.policy]]
      idle_count = 0
      idle_time = "30m0s"
    [[runners.autoscaler.policy]]
      periods = ["* 9-17 * * mon-fri"]
      timezone = "Asia/Tokyo"
      idle_count = 2
      idle_time = "1h0m0s"
  [runners.docker]
    tls_verify = false
    image = "maven:3.9.3-amazoncorretto-17-debian"
    privileged = false
    disable_entrypoint_overwrite = false
    oom_kill_disable = false
    disable_cache = false
    volumes = ["/cache"]
    shm_size = 0
    pull_policy = ["if-not-present", "always"]
`;

const body = (text: string) => text.replace(/^(#[^\n]*\n)+/, "");
const known = fixtureJson<Record<string, string[]>>("runner-config/known-keys.json");

/** Every table path → keys in a parsed runner's autoscaler, checked against GitLab Runner's config structs. */
function unknownAutoscalerKeys(autoscaler: Record<string, any>): string[] {
  const bad: string[] = [];
  const walk = (v: Record<string, any>, table: string) => {
    for (const [k, x] of Object.entries(v)) {
      if (!known[table]?.includes(k)) bad.push(`${table}.${k}`);
      const sub = `${table}.${k}`;
      if (Array.isArray(x) && x.length && typeof x[0] === "object") x.forEach((e) => walk(e, sub));
      else if (x && typeof x === "object" && !Array.isArray(x)) walk(x, sub);
    }
  };
  walk(autoscaler, "runners.autoscaler");
  return bad;
}

/** Lines outside the runner's machine/autoscaler tables, concurrent and executor: the merge must keep them, in order. */
function untouched(text: string): string[] {
  let inManaged = false;
  return text.split(/\r?\n/).filter((line) => {
    const t = line.trim();
    if (t.startsWith("[")) inManaged = /^\[\[?runners\.(machine|autoscaler)[\].]/.test(t);
    if (inManaged) return false;
    return !/^(concurrent|executor)\s*=/.test(t);
  });
}

function assertSubsequence(sub: string[], all: string[], what: string): void {
  let i = 0;
  for (const line of all) if (i < sub.length && line === sub[i]) i++;
  assert.equal(i, sub.length, `${what}: line ${JSON.stringify(sub[i])} is missing or out of order`);
}

const TWO_RUNNERS = `concurrent = 2

[[runners]]
  name = "shell-runner"
  url = "http://192.0.2.3/gitlab"
  token = "glrt-A"
  executor = "shell"
  [runners.cache]
    MaxUploadedArchiveSize = 0

[[runners]]
  name = "autoscaling"
  url = "http://192.0.2.3/gitlab"
  token = "glrt-B"
  executor = "docker+machine"
  limit = 3
  [runners.docker]
    image = "alpine:3"
  [runners.machine]
    IdleCount = 0
    IdleTime = 1800
    MaxGrowthRate = 1
    MachineDriver = "amazonec2"
    MachineName = "gitlab-docker-machine-%s"
    MachineOptions = ["amazonec2-region=ap-northeast-1"]
    [[runners.machine.autoscaling]]
      Periods = ["* * 9-17 * * mon-fri *"]
      IdleCount = 1
      IdleTime = 600
  [runners.cache]
    MaxUploadedArchiveSize = 0
`;

describe("core/ciServer/configToml/configTomlAutoscaler mergeAutoscalerConfig", () => {
  it("Collaborage's config.toml: exact output (executor, concurrent in place; the tables after the cache block)", () => {
    assert.equal(body(mergeAutoscalerConfig(fixture("collaborage/config.toml"), EDIT)), COLLABORAGE_AFTER);
  });

  const FILES = [
    "collaborage/config.toml",
    "collaborage/config.autoscaling.toml",
    "runner-config/gitlab-docs-docker-autoscaler-aws.toml",
    "runner-config/gitlab-docs-runner-autoscale-aws.toml",
    "runner-config/gitlab-docs-autoscale-complete.toml",
    "runner-config/pepperize-cdk-snapshot-docker-machine.toml",
  ];
  for (const file of FILES) {
    describe(file, () => {
      const input = fixture(file);
      const out = mergeAutoscalerConfig(input, EDIT);
      const doc = tomllibParse(out).value;
      const runner = doc.runners[0];

      it("parses with tomllib and holds the managed values; no [runners.machine] is left", () => {
        assert.equal(doc.concurrent, 4);
        assert.equal(runner.executor, "docker-autoscaler");
        assert.equal(runner.machine, undefined);
        assert.deepEqual(
          { ...runner.autoscaler, plugin_config: undefined, connector_config: undefined, policy: undefined, scale_throttle: undefined },
          { plugin: "aws:1.0.0", capacity_per_instance: 1, max_use_count: 100, max_instances: 4, delete_instances_on_shutdown: true, plugin_config: undefined, connector_config: undefined, policy: undefined, scale_throttle: undefined },
        );
        assert.equal(runner.autoscaler.plugin_config.name, "workers-asg-4f3c2b1");
        assert.deepEqual(runner.autoscaler.policy, EDIT.autoscaler.policy);
      });
      it("uses only keys of GitLab Runner's config structs (known-keys.json)", () => {
        assert.deepEqual(unknownAutoscalerKeys(runner.autoscaler), []);
      });
      it("keeps every line outside the managed tables, in order", () => {
        assertSubsequence(untouched(input), out.split("\n"), file);
      });
      it("keeps every other value of the document (tomllib)", () => {
        const before = tomllibParse(input).value;
        const strip = (d: any) => ({ ...d, concurrent: undefined, runners: d.runners.map((r: any) => ({ ...r, executor: undefined, machine: undefined, autoscaler: undefined })) });
        assert.deepEqual(strip(doc), strip(before));
      });
      it("is idempotent", () => assert.equal(mergeAutoscalerConfig(out, EDIT), out));
    });
  }

  it("GitLab's docker-autoscaler sample: the operator's own plugin_config keys stay, the policy is replaced", () => {
    const out = mergeAutoscalerConfig(fixture("runner-config/gitlab-docs-docker-autoscaler-aws.toml"), EDIT);
    const a = tomllibParse(out).value.runners[0].autoscaler;
    assert.deepEqual(a.plugin_config, { ...EDIT.autoscaler.plugin_config, profile: "default" });
    assert.equal(a.connector_config.use_external_addr, false);
    assert.equal(a.policy.length, 2);
    assert.ok(!out.includes('idle_time = "20m0s"'));
  });

  describe("two runners", () => {
    const out = mergeAutoscalerConfig(TWO_RUNNERS, { ...EDIT, runnerName: "autoscaling", limit: 4 });
    const doc = tomllibParse(out).value;

    it("converts only the named runner; the other one is untouched, byte for byte", () => {
      const first = TWO_RUNNERS.slice(TWO_RUNNERS.indexOf("[[runners]]"), TWO_RUNNERS.indexOf("[[runners]]", 20));
      assert.ok(out.includes(first));
      assert.deepEqual(doc.runners[0], tomllibParse(TWO_RUNNERS).value.runners[0]);
      assert.equal(doc.runners[1].executor, "docker-autoscaler");
      assert.equal(doc.runners[1].limit, 4);
      assert.equal(doc.runners[1].machine, undefined);
    });
    it("puts [runners.autoscaler] where [runners.machine] was, autoscaling entries and MaxGrowthRate gone with it", () => {
      const lines = out.split("\n");
      assert.equal(lines.indexOf('    image = "alpine:3"') + 1, lines.indexOf("  [runners.autoscaler]"));
      assert.ok(!/MaxGrowthRate|runners\.machine/.test(out));
    });
    it("refuses to guess without a name", () => {
      assert.throws(() => mergeAutoscalerConfig(TWO_RUNNERS, EDIT), /2 \[\[runners\]\] \("shell-runner", "autoscaling"\); set runner\.name/);
    });
  });

  it("keeps the operator's own [runners.autoscaler] keys and sub-tables it does not manage", () => {
    const input = `concurrent = 1
[[runners]]
  name = "a"
  executor = "docker-autoscaler"
  [runners.autoscaler]
    plugin = "aws:1"
    instance_ready_command = "cloud-init status --wait || test $? -eq 2"
    max_instances = 9
    [runners.autoscaler.plugin_config]
      name = "old-asg"
      profile = "ci"
    [runners.autoscaler.connector_config]
      username = "ec2-user"
      keepalive = "30s"
    [runners.autoscaler.scale_throttle]
      limit = 5
    [[runners.autoscaler.policy]]
      idle_count = 9
      idle_time = "5m0s"
`;
    const out = mergeAutoscalerConfig(input, EDIT);
    const a = tomllibParse(out).value.runners[0].autoscaler;
    assert.equal(a.instance_ready_command, "cloud-init status --wait || test $? -eq 2");
    assert.equal(a.plugin_config.profile, "ci");
    assert.equal(a.plugin_config.name, "workers-asg-4f3c2b1");
    assert.equal(a.connector_config.keepalive, "30s");
    assert.equal(a.connector_config.username, "ubuntu");
    assert.deepEqual(a.scale_throttle, { limit: 5 });
    assert.deepEqual(a.policy, EDIT.autoscaler.policy);
    assert.equal(a.max_instances, 4);
  });

  it("writes key_path and use_static_credentials only when given; CRLF and a missing final newline kept", () => {
    const input = fixture("collaborage/config.toml").replace(/\n/g, "\r\n").replace(/\r\n$/, "");
    const out = mergeAutoscalerConfig(input, { ...EDIT, autoscaler: { ...EDIT.autoscaler, connector_config: { ...EDIT.autoscaler.connector_config, key_path: "/etc/gitlab-runner/worker-key", use_static_credentials: true } } });
    assert.ok(!/[^\r]\n/.test(out), "every line ends in CRLF");
    assert.ok(!out.endsWith("\n"));
    const c = tomllibParse(out).value.runners[0].autoscaler.connector_config;
    assert.deepEqual(c, { username: "ubuntu", use_external_addr: false, key_path: "/etc/gitlab-runner/worker-key", use_static_credentials: true });
    assert.ok(!mergeAutoscalerConfig(fixture("collaborage/config.toml"), EDIT).includes("key_path"));
  });

  it("managed keys are all in known-keys.json", () => {
    for (const key of managedAutoscalerKeys({ ...EDIT, limit: 2 })) {
      const parts = key.split(".");
      const table = parts.length === 1 ? "global" : parts.slice(0, -1).join(".");
      assert.ok(known[table]?.includes(parts[parts.length - 1]), `${key} not in known-keys.json[${table}]`);
    }
  });

  it("refuses a non-integer count and an empty group name", () => {
    assert.throws(() => mergeAutoscalerConfig(fixture("collaborage/config.toml"), { ...EDIT, autoscaler: { ...EDIT.autoscaler, max_instances: 1.5 } }), ConfigTomlError);
    assert.throws(() => mergeAutoscalerConfig(fixture("collaborage/config.toml"), { ...EDIT, autoscaler: { ...EDIT.autoscaler, plugin_config: { name: "" } } }), /plugin_config\.name/);
  });
});
