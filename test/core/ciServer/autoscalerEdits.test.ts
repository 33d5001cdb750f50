import { strict as assert } from "node:assert";
import {
  asAutoscalerMode, autoscalerPolicies, awsConfigFile, awsCredentialsFile, configTomlAutoscalerEdit, fleetingAwsConfigEdit, fleetingCredentialsEdit, fleetingFile,
} from "../../../core/ciServer/autoscalerEdits";
import { validateSettings } from "../../../settings/validate";
import { devRaw } from "../../helpers/devConfig";
import { fixture } from "../../helpers/fixtures";
import { tomllibParse } from "../../helpers/tomllib";

function settings(change: (r: any) => void = () => {}) {
  const raw = devRaw() as any;
  Object.assign(raw.runner, { executor: "docker-autoscaler", maxInstances: 4, capacityPerInstance: 2, idleCount: 1, idleTime: 1800 });
  delete raw.runner.concurrent;
  raw.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 2, idleTime: 3600 }];
  change(raw);
  return asAutoscalerMode(validateSettings(raw));
}

describe("core/ciServer/autoscalerEdits", () => {
  it("idle machines become job slots (× capacityPerInstance), seconds become Go durations, periods 5-field", () => {
    assert.deepEqual(autoscalerPolicies(settings()), [
      { idle_count: 2, idle_time: "30m0s" },
      { periods: ["* 9-17 * * mon-fri"], timezone: "Asia/Tokyo", idle_count: 4, idle_time: "1h0m0s" },
    ]);
  });

  it("config.toml edit: the summary a preview shows, exactly", () => {
    const e = configTomlAutoscalerEdit({ settings: settings(), groupName: "workers-asg-4f3c2b1" });
    assert.equal(e.write.path, "/data/gitlab-runner/config/config.toml");
    // [runners.autoscaler] is not reloaded: a graceful restart (SIGQUIT, bounded wait, compose up).
    assert.deepEqual(e.write.after, {
      kind: "compose-up", compose: { appDir: "/home/ec2-user/nop/docker/ci", command: "auto" }, services: ["gitlab-runner"],
      gracefulStop: { container: "gitlab-runner", timeoutSeconds: 600 },
      // Not inside (or into) Collaborage's snapshot window: the graceful stop and a minute for the recreate.
      window: { start: "23:00", end: "00:30", boundSeconds: 660, settingKey: "ciServer.snapshotWindow", overrideKey: "ciServer.allowInSnapshotWindow" },
    });
    assert.deepEqual(e.write.summary, [
      "concurrent = 8",
      "[[runners]] (the only one)",
      `executor = "docker-autoscaler" ([runners.machine] removed)`,
      `autoscaler: plugin="aws:1.0.0" capacity_per_instance=2 max_use_count=100 max_instances=4 delete_instances_on_shutdown=true`,
      `autoscaler.plugin_config: name="workers-asg-4f3c2b1" config_file="/etc/gitlab-runner/fleeting-aws-config" credentials_file="/etc/gitlab-runner/fleeting-aws-credentials"`,
      `autoscaler.connector_config: username="ubuntu" use_external_addr=false`,
      `autoscaler.policy: idle_count=2 idle_time="30m0s" (idle machines 1 × 2 job slot(s) per instance: the autoscaler counts idle job slots)`,
      `autoscaler.policy: periods=["* 9-17 * * mon-fri"] timezone="Asia/Tokyo" idle_count=4 idle_time="1h0m0s" (idle machines 2 × 2 job slot(s) per instance: the autoscaler counts idle job slots)`,
      "then a graceful runner restart: [runners.autoscaler] is not reloaded",
    ]);
    const runner = tomllibParse(e.render(fixture("collaborage/config.toml"))).value.runners[0];
    assert.equal(runner.autoscaler.plugin_config.name, "workers-asg-4f3c2b1");
    assert.throws(() => e.render(null), /does not exist on the CI server/);
  });

  it("instanceProfile mode names no credentials file; a key path makes the connector static", () => {
    const s = settings((r) => Object.assign(r.runner, { credentials: "instanceProfile", managerRoleName: "ci-role" }));
    const e = configTomlAutoscalerEdit({ settings: s, groupName: "g", keyPath: "/etc/gitlab-runner/ssh/worker" });
    const a = tomllibParse(e.render(fixture("collaborage/config.toml"))).value.runners[0].autoscaler;
    assert.deepEqual(a.plugin_config, { name: "g", config_file: "/etc/gitlab-runner/fleeting-aws-config" });
    assert.deepEqual(a.connector_config, { username: "ubuntu", use_external_addr: false, key_path: "/etc/gitlab-runner/ssh/worker", use_static_credentials: true });
  });

  it("the AWS files: beside config.toml on the host, under /etc/gitlab-runner in the container, 0600", () => {
    const s = settings((r) => (r.ciServer.runnerConfigPath = "/srv/runner/config.toml"));
    assert.deepEqual(fleetingFile(s, "fleeting-aws-credentials"), { host: "/srv/runner/fleeting-aws-credentials", container: "/etc/gitlab-runner/fleeting-aws-credentials" });
    assert.equal(awsConfigFile("ap-northeast-1"), "[default]\nregion = ap-northeast-1\n");
    const config = fleetingAwsConfigEdit(s);
    assert.deepEqual({ path: config.write.path, mode: config.write.newFileMode, summary: config.write.summary }, { path: "/srv/runner/fleeting-aws-config", mode: "0600", summary: ["region = ap-northeast-1"] });
    assert.equal(config.render("anything"), "[default]\nregion = ap-northeast-1\n");
  });

  it("the credentials file: exact content, the secret never in the write's parameters", () => {
    const key = { id: "AKIAEXAMPLE0000000001", secret: "CANARY/secret+value=" };
    assert.equal(awsCredentialsFile(key), "[default]\naws_access_key_id = AKIAEXAMPLE0000000001\naws_secret_access_key = CANARY/secret+value=\n");
    const e = fleetingCredentialsEdit(settings(), key);
    assert.equal(e.write.newFileMode, "0600");
    assert.equal(e.render(null), awsCredentialsFile(key));
    assert.doesNotMatch(JSON.stringify(e.write), /CANARY/);
    assert.deepEqual(e.write.summary, ["aws_access_key_id = AKIAEXAMPLE0000000001", "aws_secret_access_key = [secret]"]);
    assert.throws(() => awsCredentialsFile({ id: "AKIA", secret: "a\nb" }), /cannot hold/);
  });

  it("refuses docker+machine settings", () => {
    assert.throws(() => asAutoscalerMode(validateSettings(devRaw())), /not docker-autoscaler/);
  });
});
