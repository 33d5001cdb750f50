// What every real-engine scenario shares: the CI sandbox (Collaborage 2.1.0 behind a proxy) and the
// Ubuntu builder sandbox, the dev stack pointed at them, the secret canaries, and one RealStack per
// scenario file (one stack, one set of sandboxes: starting them is most of a scenario's cost).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CANARY_AWS_SECRET, CANARY_PROXY_PASSWORD, hostStackConfig, type StackConfig } from "../host/programRun";
import { useSandbox, type Sandbox } from "../host/sandbox";
import { REAL_BUILD_TIMEOUT_MS, realBinary } from "../helpers/realBinaries";
import { RealStack } from "./engine";

export const SECRET_KEYS = ["sshPrivateKey", "proxyCredentials"];

/** The builder accepts the stack's key, as EC2 puts the key pair's public key on the instance. */
export function authorize(target: Sandbox, privateKey: string): void {
  const keyFile = path.join(target.dir, "stack-key");
  fs.writeFileSync(keyFile, privateKey, { mode: 0o600 });
  const pub = execFileSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" }).trim();
  fs.rmSync(keyFile);
  fs.appendFileSync(path.join(target.dir, "root", ".sandbox", "authorized_keys"), `${pub}\n`);
}

export interface RealWorld {
  ci(): Sandbox;
  builder(): Sandbox;
  stack(): RealStack;
  /** The dev stack pointed at the sandboxes (the AMI built on the builder), changed by `change`. */
  config(change?: (c: StackConfig) => void): StackConfig;
}

/** Mocha hooks for one scenario file: sandboxes, the real CLI, and a stack named `stackName`. */
export function useRealWorld(stackName: string, initial: (c: StackConfig) => void = () => undefined): RealWorld {
  const ci = useSandbox("ci-2.1.0");
  const builder = useSandbox("builder");
  let stack: RealStack | undefined;
  const config = (change?: (c: StackConfig) => void) => hostStackConfig(ci(), (c) => {
    delete c.ami.existingAmi;
    initial(c);
    change?.(c);
  });
  before(async function () {
    this.timeout(REAL_BUILD_TIMEOUT_MS);
    const pulumi = realBinary("pulumi");
    authorize(builder(), ci().privateKey);
    stack = await RealStack.create({
      pulumi, stackName, config: config(), secretKeys: SECRET_KEYS,
      pluginEnv: {
        // The builder's private IP (a loopback address the stub picks), port 22: the builder sandbox.
        GRA_SSH_ROUTES: JSON.stringify({ "*:22": `127.0.0.1:${builder().port}` }),
        GRA_STUB_AWS_SECRET: CANARY_AWS_SECRET,
      },
    });
  });
  after(() => stack?.remove());
  return {
    ci, builder, config,
    stack: () => {
      if (!stack) throw new Error("the real stack is not set up (used outside its describe?)");
      return stack;
    },
  };
}

/** Every secret the stack holds or makes, in plain text: none may appear in the state file. */
export function canaries(w: RealWorld): string[] {
  const keyBody = w.ci().privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
  return [CANARY_PROXY_PASSWORD, CANARY_AWS_SECRET, ...keyBody.filter((l) => l.length >= 20)];
}
