// The settings checks of issue 8 on the path `pulumi up` takes (index.ts → loadSettings, reading the
// SDK's config): a plain-text secret and a key of the project namespace the program does not read.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, runOffline } from "../../offline/runOffline";
import { SettingsError } from "../../settings/validate";
import { devStack, fixtureWorld, variant, type StackConfig } from "../helpers/offlineWorld";

/** Runs the program with only the given keys marked secret, as the CLI would pass them. */
async function rejection(config: StackConfig, secret: string[]): Promise<SettingsError> {
  try {
    await runOffline(config, fixtureWorld(), { secretKeys: secret.map((k) => (k.includes(":") ? k : `${PROJECT}:${k}`)) });
  } catch (e) {
    await (pulumi.runtime as any).waitForRPCs?.().catch(() => undefined);
    if (e instanceof SettingsError) return e;
    throw e;
  }
  return assert.fail("the run should have been refused");
}

describe("loadSettings (the pulumi up path) refuses what would be taken silently", function () {
  this.timeout(120000);

  it("proxyCredentials given in plain text (not set with --secret); its value is not shown", async () => {
    const e = await rejection(variant((c) => { c.proxyCredentials = "alice:CANARY-plain-creds"; }), ["sshPrivateKey"]);
    assert.deepEqual(e.problems.map((p) => p.key), ["proxyCredentials"]);
    assert.match(e.message, /proxyCredentials: got \[secret\] \(stored in plain text in the stack file\); expected an encrypted value: replace it with pulumi config set --secret proxyCredentials/);
    assert.doesNotMatch(e.message, /CANARY/);
  });

  it("a misspelt key of the project namespace (runer), from the SDK's whole config", async () => {
    const e = await rejection(variant((c) => { c.runer = { idleTime: 60 }; }), ["sshPrivateKey"]);
    assert.deepEqual(e.problems.map((p) => p.key), ["runer"]);
    assert.match(e.message, /did you mean runner\? Run `pulumi config rm runer`, then `pulumi config set --path runner\.idleTime 60`/);
  });

  it("the dev stack with its secret set as a secret passes", async () => {
    await assert.doesNotReject(runOffline(devStack(), fixtureWorld(), { secretKeys: [`${PROJECT}:sshPrivateKey`] }));
  });
});
