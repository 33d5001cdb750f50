// What every real-engine scenario shares: the CI sandbox (Collaborage 2.1.0 behind a proxy) and the
// Ubuntu builder sandbox, the dev stack pointed at them, the secret canaries, and one RealStack per
// scenario file (one stack, one set of sandboxes: starting them is most of a scenario's cost).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CANARY_AWS_SECRET, CANARY_PROXY_PASSWORD, hostStackConfig, type StackConfig } from "../host/programRun";
import { useSandbox, type Sandbox } from "../host/sandbox";
import { REAL_BUILD_TIMEOUT_MS, realBinary } from "../helpers/realBinaries";
import { strict as assert } from "node:assert";
import type { OfflineWorld } from "../../offline/mockEngine";
import type { OfflineRun } from "../../offline/runOffline";
import { RealStack, SECRET_KEYS, type EngineRun } from "./engine";
import { divergences, offlineRunner, predictUp } from "./differential";


/** The builder accepts the stack's key, as EC2 puts the key pair's public key on the instance. */
export function authorize(target: Sandbox, privateKey: string): void {
  const keyFile = path.join(target.dir, "stack-key");
  fs.writeFileSync(keyFile, privateKey, { mode: 0o600 });
  const pub = execFileSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" }).trim();
  fs.rmSync(keyFile);
  fs.appendFileSync(path.join(target.dir, "root", ".sandbox", "authorized_keys"), `${pub}\n`);
}

/** Where the stub's cloud-init puts the builder's host key, and the sshd that must re-read it. */
function builderSshd(b: Sandbox): { keyFile: string; pid: number; port: number } {
  const sshd = b.processes().find((p) => /^(sshd: )?\/usr\/sbin\/sshd -D/.test(p.args));
  if (!sshd) throw new Error(`the builder sandbox's sshd was not found in its process list: ${JSON.stringify(b.processes())}`);
  return { keyFile: path.join(b.dir, "root", ".sandbox", "ssh_host_ed25519_key"), pid: sshd.pid, port: b.port };
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
        // The builder's host key comes from its user data, as cloud-init installs it (plugins/cloudInit.ts).
        GRA_BUILDER_SSHD: JSON.stringify(builderSshd(builder())),
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

/** A stack's ups, each previewed first; preview and up both compared with the offline prediction. */
export interface Changes {
  /** The first up (of a new stack), and the offline run it leaves. */
  start(config: StackConfig): Promise<EngineRun>;
  change(next: StackConfig): Promise<{ preview: EngineRun; up: EngineRun }>;
  /** The config of the last up. */
  config(): StackConfig;
  /** The stack reached `config` some other way (a failed up, then a retry): the prediction follows. */
  sync(config: StackConfig): Promise<void>;
}

export function changesOf(w: RealWorld, stackName: string, world: Partial<OfflineWorld> = {}): Changes {
  let last: OfflineRun | undefined;
  let renewed: string[] = [];
  let current: StackConfig | undefined;
  return {
    async start(config) {
      await w.stack().setConfig(config, SECRET_KEYS);
      const up = await w.stack().up();
      const predicted = await predictUp(undefined, offlineRunner(config, stackName, world));
      assert.deepEqual(divergences(predicted, up.operations), [], "up vs offline");
      last = predicted.after;
      current = config;
      return up;
    },
    async change(next) {
      await w.stack().setConfig(next, SECRET_KEYS);
      const predicted = await predictUp(last, offlineRunner(next, stackName, world), renewed);
      const preview = await w.stack().preview(true);
      assert.deepEqual(divergences(predicted, preview.operations), [], "preview vs offline");
      w.ci().clearEvents();
      w.ci().clearCalls();
      const up = await w.stack().up();
      assert.deepEqual(divergences(predicted, up.operations), [], "up vs offline");
      last = predicted.after;
      renewed = predicted.renewed;
      current = next;
      return { preview, up };
    },
    config: () => {
      if (!current) throw new Error("no up yet");
      return current;
    },
    async sync(config) {
      const predicted = await predictUp(last, offlineRunner(config, stackName, world), renewed);
      last = predicted.after;
      renewed = predicted.renewed;
      current = config;
    },
  };
}
