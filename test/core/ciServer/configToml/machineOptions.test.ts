import { strict as assert } from "node:assert";
import { parse as parseToml } from "@iarna/toml";
import { KNOWN_FLAGS, machineOptionProblems, machineOptions, maskMachineOptions } from "../../../../core/ciServer/configToml/machineOptions";
import { validateSettings } from "../../../../settings/validate";
import { devRaw } from "../../../helpers/devConfig";
import { fixture, fixtureJson } from "../../../helpers/fixtures";

const runbookSettings = () => {
  const s = validateSettings(devRaw());
  // The runbook's placeholders, so the result can be compared with the runbook's example.
  return { ...s, workers: { ...s.workers, vpcId: "VPC_ID", subnetId: "SUBNET_ID", iamInstanceProfile: "ROLE_NAME" }, proxy: undefined };
};
const runbookInput = () => ({
  settings: runbookSettings(),
  amiId: "ami-0a3eb6ca097b78895",
  securityGroupName: "SECURITY_GROUP_NAME",
  accessKey: { id: "ACCESS_KEY", secret: "SECRET_KEY" },
});

describe("MachineOptions", () => {
  it("gives the runbook's 16 options in its order, plus IMDSv2 (what the runbook lacks)", () => {
    const expected = (parseToml(fixture("collaborage/config.autoscaling.toml")) as any).runners[0].machine.MachineOptions as string[];
    assert.equal(expected.length, 16);
    assert.deepEqual(machineOptions(runbookInput()), [...expected, "amazonec2-metadata-token=required", "amazonec2-metadata-token-response-hop-limit=2"]);
  });

  it("uses only flags of the docker-machine fork (fixtures/amazonec2-options.json)", () => {
    const known = fixtureJson("runner-config/amazonec2-options.json");
    const names = new Set([...known.amazonec2, ...known.engine].map((o: any) => o.name));
    for (const flag of Object.keys(KNOWN_FLAGS)) assert.ok(names.has(flag), `${flag} is not a flag of the fork`);
    const repeatable = new Set([...known.amazonec2, ...known.engine].filter((o: any) => o.repeatable).map((o: any) => o.name));
    for (const [flag, kind] of Object.entries(KNOWN_FLAGS)) assert.equal(kind === "repeatable", repeatable.has(flag), flag);
  });

  it("adds engine-env proxy variables in proxy environments (docker-machine's drop-in would wipe the AMI's)", () => {
    const opts = machineOptions({ ...runbookInput(), proxyUrls: { http: "http://192.0.2.1:3128", https: "http://192.0.2.1:3128" }, noProxy: "localhost,192.0.2.3" });
    assert.deepEqual(opts.filter((o) => o.startsWith("engine-env=")), [
      "engine-env=HTTP_PROXY=http://192.0.2.1:3128",
      "engine-env=HTTPS_PROXY=http://192.0.2.1:3128",
      "engine-env=NO_PROXY=localhost,192.0.2.3",
    ]);
  });

  it("has no access keys in instanceProfile mode, and fails loudly in accessKey mode without one", () => {
    const settings = { ...runbookSettings(), runner: { ...runbookSettings().runner, credentials: "instanceProfile" as const } };
    const opts = machineOptions({ ...runbookInput(), settings, accessKey: undefined });
    assert.equal(opts.filter((o) => /access-key|secret-key/.test(o)).length, 0);
    assert.throws(() => machineOptions({ ...runbookInput(), accessKey: undefined }), /accessKey mode needs the access key/);
  });

  it("leaves out the IMDSv2 flags when workers.imdsV2 is false (docker-machine before the GitLab fork's gitlab.11)", () => {
    const s = runbookSettings();
    const opts = machineOptions({ ...runbookInput(), settings: { ...s, workers: { ...s.workers, imdsV2: false } } });
    assert.ok(!opts.some((o) => o.includes("metadata-token")), opts.join("\n"));
  });

  it("omits what is switched off and adds the root size when set", () => {
    const s = runbookSettings();
    const opts = machineOptions({ ...runbookInput(), settings: { ...s, workers: { ...s.workers, spot: false, privateAddressOnly: false, iamInstanceProfile: undefined, tags: {}, rootSize: 40 } } });
    assert.ok(!opts.some((o) => /spot|private-address-only|iam-instance-profile|amazonec2-tags|hop-limit/.test(o)), opts.join("\n"));
    assert.ok(opts.includes("amazonec2-root-size=40"));
  });

  it("reports each malformed entry", () => {
    assert.deepEqual(machineOptionProblems([
      "amazonec2-zone=ap-northeast-1",
      "amazonec2-security-group=sg-0123456789abcdef0",
      "amazonec2-tags=a,b,c",
      "amazonec2-request-spot-instance=yes",
      "amazonec2-root-size=big",
      "amazonec2-block-duration-minutes=60",
      "amazonec2-ami=a",
      "amazonec2-ami=b",
    ]), [
      "amazonec2-request-spot-instance=yes: expected true or false",
      "amazonec2-root-size=big: expected a whole number",
      "amazonec2-block-duration-minutes: not a flag of docker-machine's amazonec2 driver",
      "amazonec2-ami: given twice",
      "amazonec2-zone=ap-northeast-1: expected the zone letter (e.g. a), not a region or AZ name",
      "amazonec2-security-group=sg-0123456789abcdef0: docker-machine needs the group NAME, not its id",
      "amazonec2-tags=a,b,c: expected key,value pairs",
      "amazonec2-security-group-readonly=true is missing: docker-machine would open 22 and 2376 to the world",
    ]);
  });

  it("masks the secret key and proxy credentials for display", () => {
    assert.deepEqual(maskMachineOptions(["amazonec2-secret-key=abc", "engine-env=HTTP_PROXY=http://u:p@h:1", "amazonec2-ami=ami-1"]), [
      "amazonec2-secret-key=[secret]", "engine-env=HTTP_PROXY=http://[secret]@h:1", "amazonec2-ami=ami-1",
    ]);
  });
});
