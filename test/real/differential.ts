// The differential check: the operations the offline engine predicts (offline/operations.ts) against
// what the real engine reported, step by step and in order.
import { PROJECT, runOffline, type OfflineRun } from "../../offline/runOffline";
import { predictDestroy, predictUp, type Op, type Prediction } from "../../offline/operations";
import { fixtureWorld } from "../helpers/offlineWorld";
import { CANARY_AWS_SECRET, type StackConfig } from "../host/programRun";
import type { OfflineWorld } from "../../offline/mockEngine";
import { SECRET_KEYS, type Operation } from "./engine";

/** The engine's ops as the offline engine names them; a replacement's two halves are one replace. */
const OP: Record<string, Op | undefined> = {
  create: "create", update: "update", same: "same", delete: "delete",
  replace: "replace", "create-replacement": "replace", "delete-replaced": "replace",
  refresh: "same", read: "same",
};

/** Where each step finished: `key` (create, update, same, a replacement's new copy) or `key#delete`. */
function positions(ops: Operation[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const o of ops) {
    if (o.op === "replace") continue;
    const id = o.op === "delete" || o.op === "delete-replaced" ? `${o.key}#delete` : o.key;
    at.set(id, o.seq);
  }
  return at;
}

/** Every difference between the prediction and the engine's report; [] when they agree. */
export function divergences(predicted: Prediction, ops: Operation[]): string[] {
  const out: string[] = [];
  const real = new Map<string, Op>();
  for (const o of ops) {
    const op = OP[o.op];
    if (!op) out.push(`${o.key}: the engine reported op ${o.op}, which the comparison does not know`);
    else real.set(o.key, op);
  }
  const offline = new Map(predicted.steps.map((s) => [s.key, s.op]));
  for (const [k, op] of offline) {
    if (real.get(k) !== op) out.push(`${k}: offline ${op}, engine ${real.get(k) ?? "no step"}`);
  }
  for (const [k, op] of real) if (!offline.has(k)) out.push(`${k}: engine ${op}, offline no step`);
  const at = positions(ops);
  for (const [a, b] of predicted.order) {
    if (at.has(a) && at.has(b) && at.get(a)! > at.get(b)!) out.push(`order: offline puts ${a} before ${b}, the engine did it after`);
  }
  return out;
}

/** The steps of one kind, for readable assertions. */
export const stepsOf = (ops: Operation[], ...kinds: string[]) => ops.filter((o) => kinds.includes(o.op)).map((o) => o.key);

/** Where the step `key` with engine op `op` finished in `ops` (its seq); -1 when there is none. */
export const seqOf = (ops: Operation[], key: string, op: string) => ops.find((o) => o.key === key && o.op === op)?.seq ?? -1;

/** Runs the program offline with a real scenario's config (the CI server's files: the Collaborage fixtures, or `world`'s). */
export function offlineRunner(config: StackConfig, stack: string, world: Partial<OfflineWorld> = {}): (renewed: string[]) => Promise<OfflineRun> {
  const secretKeys = SECRET_KEYS.filter((k) => config[k] !== undefined).map((k) => `${PROJECT}:${k}`);
  return (renewed) => runOffline(config, { ...fixtureWorld({ providerSecret: CANARY_AWS_SECRET, ...world }), renewed }, { secretKeys, stack });
}

export { predictDestroy, predictUp };
