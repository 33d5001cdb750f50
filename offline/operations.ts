// What the Pulumi engine will do with a stack, predicted from offline runs of the program: each
// resource's operation (create, update, replace, delete, same) and the order the engine must keep.
// The rules are the engine's (checked against the real CLI in test/real/):
//  - a resource only in the new run is created; only in the old one, deleted at the end;
//  - a changed input is an update; it is a replacement when it is `triggers` of a remote.Command,
//    a property the AWS provider cannot change in place (forceNew.ts), or when the
//    replacementTrigger option changed (null on either side never fires);
//  - a replacement's new copy gets new provider-made ids and addresses, so whatever the program
//    makes from them changes too: the new run is repeated with those resources renewed until no
//    new replacement appears;
//  - the old copy of a replacement is deleted at the end with the removed resources, after its
//    new copy exists (deleteBeforeReplace: deleted first); a resource is deleted before what it
//    depends on, a child before its parent; creates and updates follow dependencies.
import * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "node:util";
import { FORCE_NEW } from "./forceNew";
import { unwrapSecrets, type RecordedResource } from "./mockEngine";
import type { OfflineRun } from "./runOffline";

export type Op = "create" | "update" | "replace" | "delete" | "same";

export interface PlannedStep {
  /** `type::name`. */
  key: string;
  op: Op;
  /** Inputs that differ (update, replace). */
  changed: string[];
  /** Why a replacement replaces: the inputs or option that force it. */
  replaces: string[];
}

export interface Prediction {
  steps: PlannedStep[];
  /**
   * [first, then] pairs of step ids: `key` is the create/update/same of a resource or the creation of
   * a replacement's new copy; `key#delete` its deletion (removed, destroyed, or a replaced old copy).
   */
  order: [string, string][];
}

const COMMAND = "command:remote:Command";
export const keyOf = (r: Pick<RecordedResource, "type" | "name">) => `${r.type}::${r.name}`;
/** Provider resources (the rest are components and the stack, which never update). */
const isCustom = (r: Pick<RecordedResource, "type">) => /^(aws|command):/.test(r.type);
const isCustomKey = (key: string) => isCustom({ type: key.slice(0, key.indexOf("::")) });
const at = (o: any, path: string) => path.split(".").reduce((x, k) => (x === undefined || x === null ? undefined : x[k]), o);

async function settled(v: unknown): Promise<unknown> {
  const value = pulumi.Output.isInstance(v) ? await (v as any).promise() : v;
  return unwrapSecrets(value);
}

/** Inputs of `before` and `after` that differ (secrets opened), less the ignoreChanges option's. */
function changedInputs(before: RecordedResource, after: RecordedResource): string[] {
  const a = unwrapSecrets(before.inputs) as Record<string, unknown>;
  const b = unwrapSecrets(after.inputs) as Record<string, unknown>;
  const ignored = new Set(after.ignoreChanges ?? []);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !ignored.has(k) && !isDeepStrictEqual(a[k], b[k])).sort();
}

async function replacesOf(before: RecordedResource, after: RecordedResource, changed: string[]): Promise<string[]> {
  const [t0, t1] = await Promise.all([settled(before.replacementTrigger), settled(after.replacementTrigger)]);
  // shouldTriggerReplace: null or absent on either side never fires.
  if (t0 !== undefined && t0 !== null && t1 !== undefined && t1 !== null && !isDeepStrictEqual(t0, t1)) return ["replacementTrigger"];
  if (after.type === COMMAND) return changed.includes("triggers") ? ["triggers"] : [];
  const a = unwrapSecrets(before.inputs);
  const b = unwrapSecrets(after.inputs) as Record<string, unknown>;
  const forced = (FORCE_NEW[after.type] ?? []).filter((p) => changed.includes(p.split(".")[0]) && !isDeepStrictEqual(at(a, p), at(b, p)));
  if (after.type === "aws:ec2/instance:Instance" && b.userDataReplaceOnChange === true && changed.includes("userData")) forced.push("userData");
  return forced;
}

/** Each resource's operation when the stack goes from `before` (undefined: a new stack) to `after`. */
export async function stepsBetween(before: RecordedResource[] | undefined, after: RecordedResource[]): Promise<PlannedStep[]> {
  const old = new Map((before ?? []).map((r) => [keyOf(r), r]));
  const steps: PlannedStep[] = [];
  for (const r of after) {
    const prev = old.get(keyOf(r));
    if (!prev) {
      steps.push({ key: keyOf(r), op: "create", changed: [], replaces: [] });
      continue;
    }
    const changed = isCustom(r) ? changedInputs(prev, r) : [];
    const replaces = changed.length || r.replacementTrigger !== undefined ? await replacesOf(prev, r, changed) : [];
    steps.push({ key: keyOf(r), op: replaces.length ? "replace" : changed.length ? "update" : "same", changed, replaces });
  }
  const kept = new Set(after.map(keyOf));
  for (const r of before ?? []) if (!kept.has(keyOf(r))) steps.push({ key: keyOf(r), op: "delete", changed: [], replaces: [] });
  return steps;
}

/** What each resource waits for (explicit dependsOn, a component meaning all its descendants). */
function dependencies(resources: RecordedResource[]): Map<string, Set<string>> {
  const descendants = (k: string): string[] => resources.filter((r) => r.parent === k).flatMap((r) => [keyOf(r), ...descendants(keyOf(r))]);
  return new Map(resources.map((r) => [keyOf(r), new Set(r.dependsOn.flatMap((d) => [d, ...descendants(d)]))]));
}

/** The order constraints of a set of steps (see Prediction.order). */
export function orderOf(steps: PlannedStep[], before: RecordedResource[] | undefined, after: RecordedResource[]): [string, string][] {
  const order: [string, string][] = [];
  const op = new Map(steps.map((s) => [s.key, s.op]));
  const dbr = new Set(after.filter((r) => r.deleteBeforeReplace).map(keyOf));
  // Creates, updates, a replacement's new copy: after what they wait for. (A component reports its
  // outputs when they resolve, which its dependents do not wait for: only provider resources.)
  for (const [k, deps] of dependencies(after)) {
    if (!isCustomKey(k)) continue;
    for (const d of deps) if (isCustomKey(d) && op.has(d) && op.get(d) !== "delete") order.push([d, k]);
  }
  // Deletions: a resource before what it depends on and before its parent (the old run's graph).
  const deleted = new Set(steps.filter((s) => s.op === "delete" || s.op === "replace").map((s) => s.key));
  const oldResources = before ?? [];
  for (const [k, deps] of dependencies(oldResources)) {
    if (!deleted.has(k)) continue;
    for (const d of deps) if (deleted.has(d)) order.push([`${k}#delete`, `${d}#delete`]);
  }
  for (const r of oldResources) {
    if (r.parent && deleted.has(keyOf(r)) && deleted.has(r.parent)) order.push([`${keyOf(r)}#delete`, `${r.parent}#delete`]);
  }
  // A replaced old copy goes after its new copy exists, at the end with the removed resources;
  // deleteBeforeReplace: before its new copy.
  const live = steps.filter((s) => s.op !== "delete" && isCustomKey(s.key)).map((s) => s.key);
  for (const s of steps.filter((x) => x.op === "replace")) {
    if (dbr.has(s.key)) {
      order.push([`${s.key}#delete`, s.key]);
      continue;
    }
    for (const k of live) order.push([k, `${s.key}#delete`]);
  }
  for (const s of steps.filter((x) => x.op === "delete")) for (const k of live) order.push([k, `${s.key}#delete`]);
  return order;
}

/** A prediction of `pulumi up`, with the offline run of the stack it leaves. */
export interface UpPrediction extends Prediction {
  after: OfflineRun;
  /** The renewals `after` was run with: pass them to the next prediction of this stack. */
  renewed: string[];
}

/**
 * `pulumi up` from `before` (made with the renewals `earlier`) to the program run with new settings:
 * `run(renewed)` runs it offline with those resources' provider outputs renewed.
 */
export async function predictUp(before: OfflineRun | undefined, run: (renewed: string[]) => Promise<OfflineRun>, earlier: string[] = []): Promise<UpPrediction> {
  const now = new Set<string>();
  for (let round = 0; ; round++) {
    const renewed = [...earlier, ...now];
    const after = await run(renewed);
    const steps = await stepsBetween(before?.engine.resources, after.engine.resources);
    const replaced = steps.filter((s) => s.op === "replace").map((s) => s.key);
    if (replaced.every((k) => now.has(k))) {
      return { steps, order: orderOf(steps, before?.engine.resources, after.engine.resources), after, renewed };
    }
    // Each round renews at least one more resource; a cascade deeper than this is a bug, not a prediction.
    if (round > 10) throw new Error(`predictUp: replacements still cascading after ${round + 1} runs: ${replaced.filter((k) => !now.has(k)).join(", ")}`);
    replaced.forEach((k) => now.add(k));
  }
}

/** `pulumi destroy` of the stack the run made. */
export function predictDestroy(last: OfflineRun): Prediction {
  const resources = last.engine.resources;
  const steps = resources.map((r) => ({ key: keyOf(r), op: "delete" as const, changed: [], replaces: [] }));
  return { steps, order: orderOf(steps, resources, []) };
}
