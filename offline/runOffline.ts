// Runs the real program — index.ts, exactly what `pulumi up` runs — under the offline engine with a
// given stack config and server files.
import * as pulumi from "@pulumi/pulumi";
import { OfflineEngine, type OfflineWorld } from "./mockEngine";

const INDEX = require.resolve("../index");

export const PROJECT = "gitlab-runner-autoscaling";

export interface OfflineRun {
  engine: OfflineEngine;
  outputs: Record<string, unknown>;
}

/** `config` is Pulumi.<stack>.yaml's config map (values may be objects); `secretKeys` are full keys. */
export async function runOffline(config: Record<string, unknown>, world: OfflineWorld, opts: { stack?: string; secretKeys?: string[] } = {}): Promise<OfflineRun> {
  const engine = new OfflineEngine(world);
  const stack = opts.stack ?? "dev";
  pulumi.runtime.setMocks(engine, PROJECT, stack, false);
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) flat[k.includes(":") ? k : `${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(flat, opts.secretKeys ?? []);

  const stackOutputs = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(engine.transformation);
    // A fresh evaluation per run: the module cache would otherwise hand back the first run's resources.
    delete require.cache[INDEX];
    return require(INDEX);
  });
  // Let the last registrations (the stack's outputs) finish, so nothing is left in flight.
  await pulumi.runtime.disconnect();
  return { engine, outputs: (stackOutputs ?? {}) as Record<string, unknown> };
}
