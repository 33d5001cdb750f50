import { strict as assert } from "node:assert";
import type { OfflineRun } from "../../offline/runOffline";
import { ACCOUNT, T, cachedRun, childrenOf, devStack, get, isSecretEnvelope, keyOf } from "../helpers/offlineWorld";

const WORKER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/example-worker-profile`;

type Statement = { Action: string[]; Resource: string | string[]; Effect: string };

describe("RunnerCredentials on the dev stack (accessKey mode)", () => {
  let run: OfflineRun;
  let statements: Statement[];
  before(async () => {
    run = await cachedRun(devStack());
    statements = JSON.parse(get(run, T.userPolicy, "runner-policy").inputs.policy).Statement;
  });

  it("creates a user, its policy and access key generation 1, as its children", () => {
    assert.equal(get(run, T.credentials, "runner").parent, undefined);
    assert.deepEqual(childrenOf(run, T.credentials, "runner").map(keyOf).sort(), [
      `${T.accessKey}::runner-key-1`,
      `${T.user}::runner-user`,
      `${T.userPolicy}::runner-policy`,
    ].sort());
    assert.equal(get(run, T.user, "runner-user").inputs.path, "/gitlab-runner-autoscaling/");
    assert.equal(get(run, T.userPolicy, "runner-policy").inputs.user, "runner-user");
    assert.equal(get(run, T.accessKey, "runner-key-1").inputs.user, "runner-user");
  });

  it("the policy grants no ec2:* (nor any bare *) action", () => {
    const actions = statements.flatMap((s) => s.Action);
    assert.ok(actions.includes("ec2:RunInstances"));
    for (const a of actions) assert.ok(!a.endsWith("*"), `wildcard action ${a}`);
    assert.ok(statements.every((s) => s.Effect === "Allow"));
  });

  it("iam:PassRole only on the worker profile's role", () => {
    const passRole = statements.filter((s) => s.Action.some((a) => a.startsWith("iam:")));
    assert.equal(passRole.length, 1);
    assert.deepEqual(passRole[0].Action, ["iam:PassRole"]);
    assert.equal(passRole[0].Resource, WORKER_ROLE_ARN);
  });

  it("the policy is plain (reviewable in a preview); no role policy in accessKey mode", () => {
    assert.equal(isSecretEnvelope(get(run, T.userPolicy, "runner-policy").inputs.policy), false);
    assert.equal(find(run, T.rolePolicy), undefined);
  });

  it("the stack exports the user name and the key id (not the secret)", () => {
    assert.equal(run.outputs.iamUserName, "runner-user");
    assert.equal(run.outputs.accessKeyId, get(run, T.accessKey, "runner-key-1").state.id);
    assert.deepEqual(Object.keys(run.outputs).filter((k) => /secret/i.test(k)), []);
  });
});

function find(run: OfflineRun, type: string) {
  return run.engine.resources.find((r) => r.type === type);
}
