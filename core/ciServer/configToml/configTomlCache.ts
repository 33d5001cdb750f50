// The shared S3 cache in config.toml: `[runners.cache]` (Type, Shared, Path) and
// `[runners.cache.s3]` (ServerAddress, BucketName, BucketLocation, AuthenticationType and, with
// an access key, AccessKey/SecretKey) of one [[runners]], merged into the existing text.
//
// Same rules as mergeRunnerConfig: the runner is selected by name, only the managed keys change
// (replaced in place, or added after the table's own keys), every other byte stays — other
// runners, comments, the operator's own keys in these tables (MaxUploadedArchiveSize, Insecure,
// ServerSideEncryption, …) and the sibling tables [runners.cache.gcs]/[runners.cache.azure].
import {
  ConfigTomlError, formatTomlValue, joinEdited, lastLineOf, openConfig, parseToml, replaceValue, samePath,
  type Edit, type Header, type KeyVal, type Line, type RunnerSpan, type TomlValue,
} from "./configToml";

export interface RunnerCacheEdit {
  /** Which [[runners]] (its `name`); undefined = there must be exactly one. */
  runnerName?: string;
  cache: { Type: "s3"; Shared: boolean; Path: string };
  s3: {
    ServerAddress: string;
    BucketName: string;
    BucketLocation: string;
    AuthenticationType: "iam" | "access-key";
    AccessKey?: string;
    /** Secret: only in the merged text, never in a summary. */
    SecretKey?: string;
  };
}

const CACHE = ["runners", "cache"];
const CACHE_S3 = ["runners", "cache", "s3"];

const entries = (o: Record<string, TomlValue | undefined>): [string, string][] =>
  Object.entries(o).flatMap(([k, v]) => (v === undefined ? [] : [[k, formatTomlValue(v)] as [string, string]]));

/** The managed values, one per line, the secret key masked: what the preview shows. */
export function cacheSummary(edit: RunnerCacheEdit): string[] {
  const s3 = { ...edit.s3, ...(edit.s3.SecretKey === undefined ? {} : { SecretKey: undefined }) };
  return [
    ...entries(edit.cache).map(([k, v]) => `[runners.cache] ${k} = ${v}`),
    ...entries(s3).map(([k, v]) => `[runners.cache.s3] ${k} = ${v}`),
    ...(edit.s3.SecretKey === undefined ? [] : ["[runners.cache.s3] SecretKey = [secret]"]),
  ];
}

/** Dotted key paths written for this edit (table "runners" = the selected runner). */
export function managedCacheKeys(edit: RunnerCacheEdit): string[] {
  return [
    ...Object.keys(edit.cache).map((k) => `runners.cache.${k}`),
    ...entries(edit.s3).map(([k]) => `runners.cache.s3.${k}`),
  ];
}

/** A table of the runner: its header and the key/values directly under it. */
interface Table {
  header: Header;
  keys: KeyVal[];
}

function tableOf(runner: RunnerSpan, path: string[]): Table | undefined {
  let current: Table | undefined;
  let found: Table | undefined;
  for (const item of runner.items) {
    if (item.kind === "header") {
      current = !item.isArray && samePath(item.path, path) ? { header: item, keys: [] } : undefined;
      if (current) found = current;
    } else if (current) {
      current.keys.push(item);
    }
  }
  return found;
}

/** The indentation step of the file (keys below their header), two spaces if it has none. */
function indentStep(runner: RunnerSpan): string {
  let header: Header | undefined;
  for (const item of runner.items) {
    if (item.kind === "header") header = item;
    else if (header && item.indent.length > header.indent.length && item.indent.startsWith(header.indent)) return item.indent.slice(header.indent.length);
  }
  return "  ";
}

export function mergeRunnerCache(current: string, edit: RunnerCacheEdit): string {
  const { lines, eol, finalEol, runner } = openConfig(current, edit.runnerName);

  // `cache.Type = …` or `cache = {…}` in the runner, or `s3 = {…}` in [runners.cache], would
  // clash with the tables written here: say so rather than produce a file the runner rejects.
  if (runner.ownKeys.some((kv) => kv.path[0] === "cache")) {
    throw new ConfigTomlError("the runner defines `cache` as dotted keys or an inline table; write it as a [runners.cache] table to let the cache be merged");
  }
  const cache = tableOf(runner, CACHE);
  if (cache?.keys.some((kv) => kv.path[0] === "s3")) {
    throw new ConfigTomlError("[runners.cache] defines `s3` as dotted keys or an inline table; write it as a [runners.cache.s3] table to let the cache be merged");
  }
  const s3 = tableOf(runner, CACHE_S3);

  const step = indentStep(runner);
  const firstSub = runner.subHeaders[0];
  const subHeaderIndent = firstSub?.indent ?? runner.ownKeys[0]?.indent ?? runner.header.indent + step;
  const cacheHeaderIndent = cache?.header.indent ?? subHeaderIndent;
  const cacheKeyIndent = cache?.keys[0]?.indent ?? cacheHeaderIndent + step;
  // Nested one level deeper, as `gitlab-runner register` and GitLab's docs write it.
  const s3HeaderIndent = s3?.header.indent ?? cacheKeyIndent;
  const s3KeyIndent = s3?.keys[0]?.indent ?? s3HeaderIndent + step;

  const edits: Edit[] = [];
  let seq = 0;
  const line = (text: string): Line => ({ text, eol });
  const keyLines = (values: [string, string][], indent: string) => values.map(([k, v]) => line(`${indent}${k} = ${v}`));

  /** Replace present keys in place; return the lines of the missing ones. */
  const upsert = (table: Table, values: [string, string][]): [string, string][] =>
    values.filter(([k, v]) => {
      const kv = table.keys.find((x) => samePath(x.path, [k]));
      if (kv) edits.push(replaceValue(lines, kv, v, seq++));
      return !kv;
    });
  const afterKeys = (t: Table) => (t.keys.length ? t.keys[t.keys.length - 1].endLine : t.header.line) + 1;

  const cacheValues = entries(edit.cache);
  const s3Values = entries(edit.s3);
  const s3Block = (values: [string, string][]) => [line(`${s3HeaderIndent}[runners.cache.s3]`), ...keyLines(values, s3KeyIndent)];

  if (cache) {
    const missing = upsert(cache, cacheValues);
    const at = afterKeys(cache);
    if (missing.length) edits.push({ start: at, deleteCount: 0, insert: keyLines(missing, cacheKeyIndent), seq: seq++ });
    // A new [runners.cache.s3] goes right after the cache's own keys, before gcs/azure.
    if (!s3) edits.push({ start: at, deleteCount: 0, insert: s3Block(s3Values), seq: seq++ });
  } else {
    // Where the runbook has it: before [runners.machine] if there is one, else at the runner's end.
    const block = [line(`${cacheHeaderIndent}[runners.cache]`), ...keyLines(cacheValues, cacheKeyIndent), ...(s3 ? [] : s3Block(s3Values))];
    const machine = runner.subHeaders.find((h) => h.path[0] === "runners" && h.path[1] === "machine");
    if (machine) {
      const spaced = machine.line > 0 && lines[machine.line - 1].text.trim() === "";
      edits.push({ start: machine.line, deleteCount: 0, insert: spaced ? [...block, line("")] : block, seq: seq++ });
    } else {
      const at = lastLineOf(runner.items[runner.items.length - 1]) + 1;
      const spaced = at < lines.length && lines[at].text.trim() === "";
      edits.push({ start: at, deleteCount: 0, insert: spaced ? [line(""), ...block] : block, seq: seq++ });
    }
  }
  if (s3) {
    const missing = upsert(s3, s3Values);
    if (missing.length) edits.push({ start: afterKeys(s3), deleteCount: 0, insert: keyLines(missing, s3KeyIndent), seq: seq++ });
  }

  const out = joinEdited(lines, edits, eol, finalEol);
  verify(out, edit);
  return out;
}

/** Re-parse the result: valid TOML, and the selected runner holds every managed value. */
function verify(out: string, edit: RunnerCacheEdit): void {
  const parsed = parseToml(out, "merged config.toml (internal error)");
  const runners = (parsed.runners ?? []) as Record<string, any>[];
  const runner = runners.find((r) => edit.runnerName === undefined || r.name === edit.runnerName);
  const cache = runner?.cache as Record<string, unknown> | undefined;
  const s3 = cache?.s3 as Record<string, unknown> | undefined;
  const ok = !!cache && !!s3 &&
    Object.entries(edit.cache).every(([k, v]) => cache[k] === v) &&
    Object.entries(edit.s3).every(([k, v]) => v === undefined || s3[k] === v);
  if (!ok) throw new ConfigTomlError("internal error: merged config.toml does not hold the managed cache values");
}
