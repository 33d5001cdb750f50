// The order `pulumi destroy` deletes the recorded resources in (explicit dependencies only).
import type { RecordedResource } from "../../offline/mockEngine";
import { keyOf } from "./offlineWorld";

/**
 * The order `pulumi destroy` deletes in: a resource goes only when nothing that depends on it
 * is left. A dependency on a component is one on all its descendants (the SDK expands it), and
 * a parent goes after its children. Ties go to the EARLIEST registered resource, the opposite of
 * what the program's registration order suggests, so that only dependencies can put the cleanup
 * between config.toml and the credentials.
 */
export function destroyOrder(resources: readonly RecordedResource[]): string[] {
  const keys = resources.map(keyOf);
  const byKey = new Map(resources.map((r) => [keyOf(r), r]));
  const descendants = (k: string): string[] => resources.filter((r) => r.parent === k).flatMap((r) => [keyOf(r), ...descendants(keyOf(r))]);
  // needs.get(a) = what a depends on (must be deleted after a).
  const needs = new Map<string, Set<string>>(keys.map((k) => [k, new Set<string>()]));
  for (const r of resources) {
    for (const d of r.dependsOn) {
      if (!byKey.has(d)) throw new Error(`${keyOf(r)} depends on unknown ${d}`);
      needs.get(keyOf(r))!.add(d);
      for (const x of descendants(d)) needs.get(keyOf(r))!.add(x);
    }
    if (r.parent) needs.get(keyOf(r))!.add(r.parent);
  }
  const left = new Set(keys);
  const order: string[] = [];
  while (left.size) {
    const next = keys.find((k) => left.has(k) && ![...left].some((o) => needs.get(o)!.has(k)));
    if (!next) throw new Error(`dependency cycle among ${[...left].join(", ")}`);
    order.push(next);
    left.delete(next);
  }
  return order;
}
