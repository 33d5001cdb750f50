import { strict as assert } from "node:assert";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";
import { fixtureJson, repoFile } from "../helpers/fixtures";
import { stackConfig } from "../helpers/devConfig";

describe("Pulumi project files", () => {
  const schema = fixtureJson("pulumi/project.schema.json");
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);

  it("Pulumi.yaml validates against Pulumi's project schema", () => {
    const project = parse(repoFile("Pulumi.yaml")) as any;
    const valid: boolean = validate(project);
    assert.ok(valid, JSON.stringify(validate.errors, null, 2));
    assert.equal(project.name, "gitlab-runner-autoscaling");
    assert.equal(project.runtime.name, "nodejs");
  });

  it("the schema check can fail", () => {
    assert.equal(validate({ name: "x", runtime: "nodejs", config: { k: { type: "map" } } }), false);
  });

  it("tsconfig makes ts-node (and so pulumi up) transpile only", () => {
    assert.equal(JSON.parse(repoFile("tsconfig.json"))["ts-node"].transpileOnly, true);
  });

  it("Pulumi.dev.yaml has no secret values in plain text", () => {
    const config = stackConfig("dev");
    assert.equal(config.sshPrivateKey, undefined);
    assert.equal(config.proxyCredentials, undefined);
    assert.doesNotMatch(repoFile("Pulumi.dev.yaml"), /PRIVATE KEY|secret-key|secure:/);
  });
});
