import { strict as assert } from "node:assert";
import { SettingsError, validateSettings, type RawConfig } from "../../settings/validate";
import { devRaw } from "../helpers/devConfig";

type Mutation = (raw: any) => void;

/** The dev stack switched to the Docker Autoscaler with 4 instances, then `mutate`. */
function autoscalerRaw(mutate: Mutation = () => {}): RawConfig {
  const raw = devRaw() as any;
  raw.runner.executor = "docker-autoscaler";
  raw.runner.maxInstances = 4;
  delete raw.runner.concurrent;
  mutate(raw);
  return raw;
}

function problemsOf(raw: RawConfig): string[] {
  try {
    validateSettings(raw);
  } catch (e) {
    if (e instanceof SettingsError) return e.problems.map((p) => `${p.key}: got ${p.value}; expected ${p.expected}`);
    throw e;
  }
  return [];
}

const BAD: [string, RawConfig, RegExp][] = [
  ["an unknown executor", autoscalerRaw((r) => (r.runner.executor = "docker+autoscaler")), /^runner\.executor: got "docker\+autoscaler"; expected one of "docker\+machine", "docker-autoscaler"$/],
  ["no maxInstances", autoscalerRaw((r) => delete r.runner.maxInstances), /^runner\.maxInstances: got \(not set\); expected the most worker instances, 1–1000 .*required with runner\.executor docker-autoscaler$/],
  ["maxInstances 0", autoscalerRaw((r) => (r.runner.maxInstances = 0)), /^runner\.maxInstances: got 0; expected the most worker instances/],
  ["capacityPerInstance 0", autoscalerRaw((r) => (r.runner.capacityPerInstance = 0)), /^runner\.capacityPerInstance: got 0; expected a whole number of jobs per instance, 1–100$/],
  ["a plugin reference with a bad constraint", autoscalerRaw((r) => (r.runner.plugin = "aws:>=1")), /^runner\.plugin: got "aws:>=1"; expected a fleeting plugin reference pinned to a version, e.g\. aws:1\.0\.0$/],
  ["more idle machines than instances", autoscalerRaw((r) => (r.runner.idleCount = 5)), /^runner\.idleCount: got 5; expected at most runner\.maxInstances \(4\): idle machines become idle instances$/],
  ["a period with seconds", autoscalerRaw((r) => (r.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *", "0 * 9-17 * * mon-fri *"], idleCount: 1, idleTime: 600 }])),
    /^runner\.autoscaling\[0\]\.periods\[1\]: got "0 \* 9-17 \* \* mon-fri \*"; expected a period the docker-autoscaler can express .*: it second "0" is not "\*"/],
  ["a period with a year", autoscalerRaw((r) => (r.runner.autoscaling = [{ periods: ["* * * * * * 2027"], idleCount: 1, idleTime: 600 }])), /^runner\.autoscaling\[0\]\.periods\[0\]: .*year "2027" is not "\*"/],
  ["a period with L", autoscalerRaw((r) => (r.runner.autoscaling = [{ periods: ["* * * L * * *"], idleCount: 1, idleTime: 600 }])), /^runner\.autoscaling\[0\]\.periods\[0\]: .*day of month "L" uses L, W or #/],
  ["idleTime 0 (idle_time's minimum is 1s)", autoscalerRaw((r) => (r.runner.idleTime = 0)), /^runner\.idleTime: got 0; expected at least 1 second with runner\.executor docker-autoscaler/],
  ["an autoscaling idleTime of 0", autoscalerRaw((r) => (r.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 1, idleTime: 0 }])), /^runner\.autoscaling\[0\]\.idleTime: got 0; expected at least 1 second/],
  ["autoscaling idleCount above maxInstances", autoscalerRaw((r) => (r.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 9, idleTime: 600 }])), /^runner\.autoscaling\[0\]\.idleCount: got 9; expected at most runner\.maxInstances \(4\)/],
  ["a runner image older than 17.1 as the upgrade target",
    autoscalerRaw((r) => (r.upgrade = { gitlabImage: "gitlab/gitlab-ce:16.0.8-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v16.11.0" })),
    /^upgrade\.runnerImage: got "gitlab\/gitlab-runner:ubuntu-v16\.11\.0"; expected a runner image 17\.1 or later with runner\.executor docker-autoscaler/],
  ["autoscaler knobs with docker+machine", ((r: any) => ((r.runner.maxInstances = 3), (r.runner.plugin = "aws:1.0.0"), r))(devRaw()), /^runner\.maxInstances: got 3; expected unset unless runner\.executor is docker-autoscaler$/],
];

describe("settings validation: runner.executor docker-autoscaler", () => {
  it("defaults: docker+machine, no autoscaler settings", () => {
    const s = validateSettings(devRaw());
    assert.equal(s.runner.executor, "docker+machine");
    assert.equal(s.runner.autoscaler, undefined);
  });

  it("defaults in autoscaler mode: 1 job per instance, the plugin pinned, concurrent = maxInstances × capacity", () => {
    const s = validateSettings(autoscalerRaw((r) => (r.runner.capacityPerInstance = 2)));
    assert.deepEqual(s.runner.autoscaler, { capacityPerInstance: 2, maxInstances: 4, plugin: "aws:1.0.0" });
    assert.equal(s.runner.concurrent, 8);
    assert.equal(validateSettings(autoscalerRaw()).runner.concurrent, 4);
    assert.equal(validateSettings(autoscalerRaw((r) => (r.runner.maxInstances = 1))).runner.concurrent, 2, "never below the runbook's 2");
    assert.equal(validateSettings(autoscalerRaw((r) => (r.runner.concurrent = 3))).runner.concurrent, 3, "an explicit concurrent stays");
  });

  it("accepts convertible periods, a 17.1 upgrade target, and the runbook's IMDSv2 default with runner images of any age", () => {
    const s = validateSettings(autoscalerRaw((r) => {
      r.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *", "* * * * * ? *"], idleCount: 2, idleTime: 3600 }];
      r.upgrade = { gitlabImage: "gitlab/gitlab-ce:17.1.8-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v17.1.0" };
    }));
    assert.equal(s.runner.autoscaling[0].periods.length, 2);
  });

  it(`has ${BAD.length} bad inputs`, () => assert.ok(BAD.length >= 10));
  for (const [what, raw, expected] of BAD) {
    it(`rejects ${what}`, () => {
      const problems = problemsOf(raw);
      assert.ok(problems.some((p) => expected.test(p)), `no problem matching ${expected} in:\n${problems.join("\n")}`);
    });
  }

  it("lists the autoscaler problems together with the others", () => {
    const problems = problemsOf(autoscalerRaw((r) => {
      delete r.runner.maxInstances;
      r.workers.zone = "ap-northeast-1";
      r.runner.autoscaling = [{ periods: ["5 * * * * * *"], idleCount: 0, idleTime: 60 }];
    }));
    assert.deepEqual(problems.map((p) => p.split(":")[0]).sort(), ["runner.autoscaling[0].periods[0]", "runner.maxInstances", "workers.zone"]);
  });
});
