// Every remote.Command the program registers pins the host key of each peer it reaches: the CI
// server's (ciServer.hostKey), the bastion's as proxy.hostKey (ciServer.bastion.hostKey), and the
// builder's derived key; a missing key only under ciServer.insecureSkipHostKeyCheck.
import { strict as assert } from "node:assert";
import type { OfflineRun } from "../../offline/runOffline";
import { BUILDER_HOST_KEY_COMMENT } from "../../core/workerImage/builderHostKey";
import { T, cachedRun, commands, devStack, rejectedRun, unwrapSecrets, variant } from "../helpers/offlineWorld";

const BASTION_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOYp73EpAJ9h7zZnLhWHu0O0FFZWcQn3qVXyjvtnBa7v";
const connections = (run: OfflineRun) => commands(run).map((r) => ({ name: r.name, c: unwrapSecrets(r.inputs.connection) as Record<string, any> }));
const isBuilder = (name: string) => name.startsWith("worker-ami-");

describe("host keys in every connection", function () {
  this.timeout(120_000);

  it("the dev stack: the CI server's commands pin ciServer.hostKey, the builder's its derived key", async () => {
    const run = await cachedRun(devStack());
    const all = connections(run);
    const ci = all.filter((x) => !isBuilder(x.name));
    const builder = all.filter((x) => isBuilder(x.name));
    assert.ok(ci.length > 5 && builder.length === 6, `${ci.length} CI, ${builder.length} builder commands`);
    for (const { name, c } of ci) assert.equal(c.hostKey, devStack().ciServer.hostKey, name);
    const builderKey = builder[0].c.hostKey;
    assert.match(builderKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}=?$/);
    for (const { name, c } of builder) assert.equal(c.hostKey, builderKey, name);
    const userData = unwrapSecrets(run.engine.find(T.instance, "worker-ami-builder")!.inputs.userData) as string;
    assert.ok(userData.includes(`ed25519_public: ${builderKey} ${BUILDER_HOST_KEY_COMMENT}\n`));
  });

  it("with a bastion: every connection pins the bastion's key as proxy.hostKey, and still the peer's own", async () => {
    const run = await cachedRun(variant((c) => (c.ciServer.bastion = { host: "198.51.100.7", port: 2022, hostKey: BASTION_KEY })));
    const all = connections(run);
    assert.ok(all.length > 10);
    for (const { name, c } of all) {
      assert.deepEqual({ host: c.proxy?.host, port: c.proxy?.port, hostKey: c.proxy?.hostKey }, { host: "198.51.100.7", port: 2022, hostKey: BASTION_KEY }, name);
      assert.ok(c.hostKey, `${name} pins its peer's key`);
    }
  });

  it("a bastion without its key is refused before any resource exists", async () => {
    const { error, registered } = await rejectedRun(variant((c) => (c.ciServer.bastion = { host: "198.51.100.7" })));
    assert.match(error.message, /ciServer\.bastion\.hostKey: got \(not set\); expected the bastion's SSH host key .*`ssh-keyscan -t ed25519 198\.51\.100\.7`/);
    assert.deepEqual(registered.filter((t) => t !== "pulumi:pulumi:Stack"), []);
  });

  it("insecureSkipHostKeyCheck: the CI server's connections carry no host key; the builder's stays pinned", async () => {
    const run = await cachedRun(variant((c) => (delete c.ciServer.hostKey, (c.ciServer.insecureSkipHostKeyCheck = true))));
    for (const { name, c } of connections(run)) {
      if (isBuilder(name)) assert.match(c.hostKey, /^ssh-ed25519 /, name);
      else assert.equal("hostKey" in c, false, name);
    }
  });
});
