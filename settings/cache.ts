// Validation of `cache.s3` (the shared build cache). Off unless cache.s3.enabled is true; the other
// keys are checked either way, so a typo shows before the cache is turned on (and each set one draws a warning: settings/conditional.ts).
import { isIPv4 } from "../core/validators";
import type { CacheSettings } from "./types";

/**
 * What cacheSettings reads with: validate.ts's Reader, described here by shape so that this file
 * does not import validate.ts (which imports this one).
 */
export interface Reader {
  readonly obj: Record<string, unknown>;
  fail(name: string, value: unknown, expected: string): void;
  child(name: string, required?: boolean): Reader | undefined;
  str(name: string, opts: { def?: string; required?: boolean; check?: (s: string) => boolean; expected: string }): string | undefined;
  int(name: string, opts: { def?: number; required?: boolean; min?: number; max?: number; expected?: string }): number | undefined;
  bool(name: string, def: boolean): boolean;
  strings(name: string, check: (s: string) => boolean, expected: string): string[];
  unknownKeys(known: string[]): void;
}

/** S3's bucket naming rules (general purpose buckets), the ones a name typed by hand can break. */
export function isBucketName(s: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s) && !s.includes("..") && !isIPv4(s) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(s) && !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(s);
}

const ROUTE_TABLE_ID = /^rtb-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** `cache` → CacheSettings when cache.s3.enabled; problems go to the reader's list. */
export function cacheSettings(c: Reader | undefined, env: { proxy: boolean }): CacheSettings | undefined {
  if (!c) return undefined;
  c.unknownKeys(["s3"]);
  const r = c.child("s3");
  if (!r) return undefined;
  const enabled = r.bool("enabled", false);
  const vpcEndpoint = r.bool("vpcEndpoint", env.proxy);
  const s3 = {
    expirationDays: r.int("expirationDays", { def: 14, min: 1, expected: "a whole number of days ≥ 1" })!,
    shared: r.bool("shared", true),
    bucketName: r.str("bucketName", { check: isBucketName, expected: "an S3 bucket name (3–63 characters: a-z, 0-9, dots and hyphens) of a bucket in aws:region" }),
    vpcEndpoint,
    routeTableIds: r.obj.routeTableIds === undefined || r.obj.routeTableIds === null
      ? undefined
      : r.strings("routeTableIds", (s) => ROUTE_TABLE_ID.test(s), "a route table id, e.g. rtb-0123456789abcdef0"),
  };
  r.unknownKeys(["enabled", "expirationDays", "shared", "bucketName", "vpcEndpoint", "routeTableIds"]);
  if (s3.routeTableIds !== undefined && !vpcEndpoint) {
    r.fail("routeTableIds", r.obj.routeTableIds, "unset when cache.s3.vpcEndpoint is false (they are the endpoint's route tables)");
  }
  if (s3.routeTableIds?.length === 0 && Array.isArray(r.obj.routeTableIds) && r.obj.routeTableIds.length === 0) {
    r.fail("routeTableIds", r.obj.routeTableIds, "at least one route table id, or unset to use the workers' subnet's table");
  }
  return enabled ? { s3 } : undefined;
}
