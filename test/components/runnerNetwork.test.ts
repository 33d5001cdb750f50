import { strict as assert } from "node:assert";
import type { OfflineRun } from "../../offline/runOffline";
import { T, cachedRun, childrenOf, devStack, get, ofType } from "../helpers/offlineWorld";

const CI_SG = "sg-0123456789abcdef0";
const WORKER_SG = "sg-0fedcba9876543210";

describe("RunnerNetwork on the dev stack", () => {
  let run: OfflineRun;
  before(async () => {
    run = await cachedRun(devStack());
  });

  it("is a top-level component whose only children are three ingress rules", () => {
    assert.equal(get(run, T.network, "network").parent, undefined);
    assert.deepEqual(
      childrenOf(run, T.network, "network").map((r) => `${r.type}::${r.name}`),
      ["network-nexus-from-workers", "network-docker-from-ci", "network-ssh-from-ci"].map((n) => `${T.ingress}::${n}`),
    );
  });

  const expected = [
    { name: "network-nexus-from-workers", port: 19081, into: CI_SG, from: WORKER_SG },
    { name: "network-docker-from-ci", port: 2376, into: WORKER_SG, from: CI_SG },
    { name: "network-ssh-from-ci", port: 22, into: WORKER_SG, from: CI_SG },
  ];
  for (const e of expected) {
    it(`${e.name}: tcp ${e.port} into ${e.into} from the group ${e.from}, by reference`, () => {
      const i = get(run, T.ingress, e.name).inputs;
      assert.equal(i.securityGroupId, e.into);
      assert.equal(i.referencedSecurityGroupId, e.from);
      assert.equal(i.ipProtocol, "tcp");
      assert.equal(i.fromPort, e.port);
      assert.equal(i.toPort, e.port);
      assert.equal(i.cidrIpv4, undefined);
      assert.equal(i.cidrIpv6, undefined);
      assert.match(i.description, /^gitlab-runner-autoscaling: /);
    });
  }

  it("no ingress rule of the whole stack is open to the world (0.0.0.0/0 or ::/0)", () => {
    const rules = ofType(run, T.ingress);
    assert.ok(rules.length >= 4, "the three runner rules and the AMI builder's SSH rule");
    for (const r of rules) {
      assert.notEqual(r.inputs.cidrIpv4, "0.0.0.0/0", r.name);
      assert.notEqual(r.inputs.cidrIpv6, "::/0", r.name);
      assert.ok(r.inputs.referencedSecurityGroupId || r.inputs.cidrIpv4, `${r.name} names its source`);
    }
  });

  it("the stack exports the three rule ids", () => {
    assert.deepEqual(run.outputs.securityGroupRuleIds, expected.map((e) => get(run, T.ingress, e.name).state.id));
  });
});
