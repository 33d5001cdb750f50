// What the real engine hands a Node provider (`@pulumi/pulumi/provider` passes structs raw): secret
// values in their signature envelope, unknowns as a sentinel string (the SDK's own constants,
// runtime/rpc). Shared by the two test-double plugins (awsProvider.ts, commandProvider.ts).
import * as fs from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { isRpcSecret, specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";

export const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

/** Envelopes opened: the value a provider acts on. */
export function plain(v: unknown): any {
  if (isRpcSecret(v)) return plain((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function hasUnknown(v: unknown): boolean {
  if (v === unknownValue) return true;
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === "object") return Object.values(v).some(hasUnknown);
  return false;
}

/** Equal once secrets are opened (a value only wrapped differently is no change); unknown is a change. */
export const same = (a: unknown, b: unknown) => !hasUnknown(b) && isDeepStrictEqual(plain(a), plain(b));

/** `urn:pulumi:stack::project::type::name` → type, name. */
export function parseUrn(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const qualified = parts[2] ?? "";
  return { type: qualified.slice(qualified.lastIndexOf("$") + 1), name: parts.slice(3).join("::") };
}

/** A short stable hex from a name (ids that are the same on every run of the same stack). */
export function hexOf(text: string, len: number): string {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, "0").repeat(Math.ceil(len / 8) + 1).slice(0, len);
}

/** Appends one JSON line to the plugin's call log (GRA_STUB_LOG), which the tests read. */
export function logCall(entry: Record<string, unknown>): void {
  const file = process.env.GRA_STUB_LOG;
  if (!file) return;
  fs.appendFileSync(file, JSON.stringify({ pid: process.pid, ...entry }) + "\n");
}
