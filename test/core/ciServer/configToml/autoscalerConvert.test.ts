import { strict as assert } from "node:assert";
import { convertMachinePeriod, goDuration, idleSlots, isExactPluginVersion, isPluginReference } from "../../../../core/ciServer/configToml/autoscalerConvert";

describe("core/ciServer/configToml/autoscalerConvert", () => {
  describe("goDuration: whole seconds as Go's time.Duration.String()", () => {
    const cases: [number, string][] = [
      [0, "0s"], [1, "1s"], [59, "59s"], [60, "1m0s"], [90, "1m30s"], [600, "10m0s"], [1200, "20m0s"], [1800, "30m0s"],
      [3599, "59m59s"], [3600, "1h0m0s"], [3661, "1h1m1s"], [86400, "24h0m0s"], [90061, "25h1m1s"],
    ];
    for (const [s, d] of cases) it(`${s} → ${d}`, () => assert.equal(goDuration(s), d));
    it("refuses negative and fractional seconds", () => {
      assert.throws(() => goDuration(-1), /not a whole number of seconds/);
      assert.throws(() => goDuration(1.5), /not a whole number of seconds/);
    });
  });

  it("idle machines become idle job slots: × capacity per instance", () => {
    assert.equal(idleSlots(0, 4), 0);
    assert.equal(idleSlots(2, 1), 2);
    assert.equal(idleSlots(2, 3), 6);
  });

  describe("convertMachinePeriod: 7-field docker-machine cron → 5-field", () => {
    const ok: [string, string][] = [
      ["* * 9-17 * * mon-fri *", "* 9-17 * * mon-fri"],
      ["* * * * * sat,sun *", "* * * * sat,sun"],
      ["* * 0-8 * * * *", "* 0-8 * * *"],
      ["*   */15 8-20/2 1,15 jan-mar,dec 1-5 *", "*/15 8-20/2 1,15 jan-mar,dec 1-5"],
      ["* 0 12 ? * MON-FRI *", "0 12 * * MON-FRI"],
      ["* 30 23 31 12 0 *", "30 23 31 12 0"],
    ];
    for (const [from, to] of ok) it(`"${from}" → "${to}"`, () => assert.deepEqual(convertMachinePeriod(from), { period: to }));

    const refused: [string, string][] = [
      ["0 * 9-17 * * mon-fri *", `second "0" is not "*": the autoscaler's periods have minute resolution`],
      ["*/30 * * * * * *", `second "*/30" is not "*": the autoscaler's periods have minute resolution`],
      ["* * * * * * 2027", `year "2027" is not "*": the autoscaler's periods have no year field`],
      ["* * 9-17 * * mon-fri", "has 6 fields; docker-machine periods have 7 (second minute hour day-of-month month day-of-week year)"],
      ["* * * L * * *", `day of month "L" uses L, W or #, which 5-field cron has no equivalent for`],
      ["* * * 15W * * *", `day of month "15W" uses L, W or #, which 5-field cron has no equivalent for`],
      ["* * * * * fri#2 *", `day of week "fri#2" uses L, W or #, which 5-field cron has no equivalent for`],
      ["* * 24 * * * *", `hour "24": expected 0-23`],
      ["* 60 * * * * *", `minute "60": expected 0-59`],
      ["* * * 0 * * *", `day of month "0": expected 1-31`],
      ["* * * * 13 * *", `month "13": expected 1-12 or jan-dec`],
      ["* * * * * 7 *", `day of week "7": expected 0-6 or sun-sat`],
      ["* * 17-9 * * * *", `hour "17-9": a range must go upwards`],
      ["* * 9-17/0 * * * *", `hour "9-17/0" is not a cron field`],
    ];
    for (const [from, problem] of refused) it(`refuses "${from}": ${problem}`, () => assert.deepEqual(convertMachinePeriod(from), { problem }));
  });

  it("plugin references: exact pins, looser constraints, and what is not a reference", () => {
    for (const ok of ["aws:1.0.0", "aws:1", "aws:latest", "aws", "registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.0.0", "fleeting-plugin-aws", "mirror.example:5000/fleeting/aws:1.2"]) {
      assert.ok(isPluginReference(ok), ok);
    }
    for (const bad of ["aws:>=1", "AWS:1", "aws:1.0.0.0", "", "aws:v1"]) assert.ok(!isPluginReference(bad), bad);
    assert.ok(isExactPluginVersion("aws:1.0.0"));
    assert.ok(!isExactPluginVersion("aws:1"));
    assert.ok(!isExactPluginVersion("aws:latest"));
  });
});
