// Surgical merge of the runbook step "config.tomlを修正します" into an existing
// GitLab Runner config.toml text.
//
// Pure: text and settings in, text out. Only the managed values change
// (global `concurrent`; `executor`, `limit` and the `[runners.machine]` table of
// one [[runners]]). Every other byte stays as it was: comments, tokens, dates,
// blank lines, indentation, CRLF, a missing final newline. The document is never
// re-serialized as a whole (a TOML stringifier would rewrite 1800 as 1_800 and
// 1.0 as 1); only the managed values are formatted, by formatTomlValue below.
import * as TOML from "@iarna/toml";
import { ConfigTomlError } from "./configTomlError";
import { tomlItems, type Header, type Item, type KeyVal } from "./tomlItems";

export interface MachineAutoscaling {
  Periods: string[];
  IdleCount: number;
  IdleTime: number;
  Timezone: string;
}

export interface RunnerMachineEdit {
  /** Global `concurrent`. */
  concurrent: number;
  /** Which [[runners]] (its `name`); undefined = there must be exactly one [[runners]]. */
  runnerName?: string;
  /** [[runners]] `limit`; written only when defined. */
  limit?: number;
  /** "docker+machine" for the runbook. */
  executor: string;
  machine: {
    IdleCount: number;
    IdleTime: number;
    MaxBuilds: number;
    MachineDriver: string;
    MachineName: string;
    MachineOptions: string[];
    autoscaling: MachineAutoscaling[];
  };
}

export { ConfigTomlError } from "./configTomlError";

export type TomlValue = string | number | boolean | TomlValue[];

// ---------------------------------------------------------------------------
// Value formatting
// ---------------------------------------------------------------------------

/** A TOML basic string: `"` and `\` escaped, control characters as escapes. */
export function formatTomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += "\\u" + code.toString(16).toUpperCase().padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

/** One TOML value on one line. Integers plain (no `_`), floats keep a decimal point. */
export function formatTomlValue(v: TomlValue): string {
  if (typeof v === "string") return formatTomlString(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return "[" + v.map(formatTomlValue).join(", ") + "]";
  if (!Number.isFinite(v)) throw new ConfigTomlError(`cannot write ${v} as a TOML number`);
  if (Number.isInteger(v)) return String(v);
  const s = String(v);
  // String(1e21) style exponents are valid TOML floats; plain decimals always have "."
  return /[.eE]/.test(s) ? s : s + ".0";
}

// Locating: which lines are headers and where values start and end comes from a TOML parser
// with source locations (tomlItems.ts), so a "[x]" inside a multi-line string is never taken for
// a header.
export type { Header, Item, KeyVal, Pos } from "./tomlItems";

// ---------------------------------------------------------------------------
// Document model: lines with their own line endings, plus the scanned items.
// ---------------------------------------------------------------------------

export interface Line {
  text: string;
  eol: string; // "\n", "\r\n" or "" (last line without final newline)
}

export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const re = /\r?\n/g;
  let start = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    lines.push({ text: text.slice(start, m.index), eol: m[0] });
    start = m.index + m[0].length;
  }
  if (start < text.length) lines.push({ text: text.slice(start), eol: "" });
  return lines;
}

export const samePath = (a: string[], b: string[]) => a.length === b.length && a.every((p, i) => p === b[i]);
export const startsWithPath = (a: string[], prefix: string[]) => prefix.every((p, i) => a[i] === p);

/** A [[runners]] element: its header, own key/values, and sub-table headers. */
export interface RunnerSpan {
  header: Header;
  ownKeys: KeyVal[];
  subHeaders: Header[];
  items: Item[]; // everything from the header up to the next runner / non-runners table
}

export function findRunners(items: Item[]): RunnerSpan[] {
  const runners: RunnerSpan[] = [];
  let current: RunnerSpan | undefined;
  for (const item of items) {
    if (item.kind === "header") {
      if (item.isArray && samePath(item.path, ["runners"])) {
        current = { header: item, ownKeys: [], subHeaders: [], items: [] };
        runners.push(current);
      } else if (current && item.path[0] === "runners" && item.path.length > 1) {
        current.subHeaders.push(item);
      } else {
        current = undefined;
      }
    } else if (current && current.subHeaders.length === 0) {
      current.ownKeys.push(item);
    }
    if (current) current.items.push(item);
  }
  return runners;
}

export const lastLineOf = (item: Item) => (item.kind === "keyval" ? item.endLine : item.line);

/**
 * Consecutive runs of items whose header path starts with `prefix`.
 * `end` is the line after the run's last key/value or header, so blank lines
 * and comments that lead into the next table stay with that table.
 */
export function tableRuns(items: Item[], prefix: string[]): { start: number; end: number; headers: Header[] }[] {
  const runs: { start: number; end: number; headers: Header[] }[] = [];
  let run: { start: number; end: number; headers: Header[] } | undefined;
  for (const item of items) {
    if (item.kind === "header") {
      if (startsWithPath(item.path, prefix)) {
        if (!run) runs.push((run = { start: item.line, end: item.line + 1, headers: [] }));
        run.headers.push(item);
      } else {
        run = undefined;
      }
    }
    if (run) run.end = lastLineOf(item) + 1;
  }
  return runs;
}

// ---------------------------------------------------------------------------
// Edits: replace `deleteCount` lines at `start` with `insert`. Applied bottom-up;
// at the same start, the edit planned first ends up first in the text.
// ---------------------------------------------------------------------------

export interface Edit {
  start: number;
  deleteCount: number;
  insert: Line[];
  seq: number;
}

export function applyEdits(lines: Line[], edits: Edit[]): Line[] {
  const out = lines.slice();
  const ordered = edits.slice().sort((a, b) => b.start - a.start || b.seq - a.seq);
  for (const e of ordered) out.splice(e.start, e.deleteCount, ...e.insert);
  return out;
}

/**
 * The edited text: only the last line may lack a line ending, and only if the input's did; new
 * lines take the file's own line ending.
 */
export function joinEdited(lines: Line[], edits: Edit[], eol: string, finalEol: string): string {
  const merged = applyEdits(lines, edits);
  merged.forEach((l, i) => {
    if (i === merged.length - 1) l.eol = finalEol;
    else if (l.eol === "") l.eol = eol;
  });
  return merged.map((l) => l.text + l.eol).join("");
}

/**
 * A runner's executor table as edits: the block replaces the first of `runs` (the others go), or,
 * when there is none, goes after the cache tables, else at the end of the runner.
 */
export function placeRunnerTable(lines: Line[], runner: RunnerSpan, runs: { start: number; end: number }[], block: Line[], eol: string, seq: number): Edit[] {
  if (runs.length > 0) {
    const [first, ...rest] = runs;
    return [
      { start: first.start, deleteCount: first.end - first.start, insert: block, seq },
      ...rest.map((r, k) => ({ start: r.start, deleteCount: r.end - r.start, insert: [], seq: seq + 1 + k })),
    ];
  }
  const cache = tableRuns(runner.items, ["runners", "cache"])[0];
  const at = cache ? cache.end : lastLineOf(runner.items[runner.items.length - 1]) + 1;
  // Files that put blank lines between tables get one before the new table too.
  const spaced = at < lines.length && lines[at].text.trim() === "";
  return [{ start: at, deleteCount: 0, insert: spaced ? [{ text: "", eol }, ...block] : block, seq }];
}

// ---------------------------------------------------------------------------
// Rendering the managed [runners.machine] table
// ---------------------------------------------------------------------------

export interface Indents {
  header: string; // of `[runners.machine]`
  key: string; // of the keys in it
}

/** Keys of [runners.machine] this program owns; any other key there is the operator's and stays. */
const MANAGED_MACHINE_KEYS = ["IdleCount", "IdleTime", "MaxBuilds", "MachineDriver", "MachineName", "MachineOptions"];

/** Raw lines of the operator's own keys (e.g. MaxGrowthRate, IdleCountMin) in an existing [runners.machine]. */
function unmanagedMachineLines(lines: Line[], runner: RunnerSpan): string[] {
  const kept: string[] = [];
  let table: string[] | undefined;
  for (const item of runner.items) {
    if (item.kind === "header") table = item.isArray ? undefined : item.path;
    else if (table && samePath(table, ["runners", "machine"]) && !MANAGED_MACHINE_KEYS.includes(item.path[0])) {
      for (let i = item.line; i <= item.endLine; i++) kept.push(lines[i].text);
    }
  }
  return kept;
}

function renderMachine(m: RunnerMachineEdit["machine"], ind: Indents, kept: string[]): string[] {
  const k = ind.key;
  const out = [
    `${ind.header}[runners.machine]`,
    `${k}IdleCount = ${formatTomlValue(m.IdleCount)}`,
    `${k}IdleTime = ${formatTomlValue(m.IdleTime)}`,
    `${k}MaxBuilds = ${formatTomlValue(m.MaxBuilds)}`,
    `${k}MachineDriver = ${formatTomlValue(m.MachineDriver)}`,
    `${k}MachineName = ${formatTomlValue(m.MachineName)}`,
  ];
  // One option per line with a trailing comma, as the runbook and the GitLab docs write it.
  if (m.MachineOptions.length === 0) out.push(`${k}MachineOptions = []`);
  else out.push(`${k}MachineOptions = [`, ...m.MachineOptions.map((o) => `${k}  ${formatTomlValue(o)},`), `${k}]`);
  out.push(...kept);
  for (const a of m.autoscaling) {
    out.push(
      `${k}[[runners.machine.autoscaling]]`,
      `${k}  Periods = ${formatTomlValue(a.Periods)}`,
      `${k}  IdleCount = ${formatTomlValue(a.IdleCount)}`,
      `${k}  IdleTime = ${formatTomlValue(a.IdleTime)}`,
      `${k}  Timezone = ${formatTomlValue(a.Timezone)}`,
    );
  }
  return out;
}

/** Indent like the runner's other sub-tables (those outside [runners.machine]). */
export function detectIndents(runner: RunnerSpan): Indents {
  let header: string | undefined;
  let key: string | undefined;
  let table: Header = runner.header;
  for (const item of runner.items) {
    if (item.kind === "header") {
      table = item;
      const usable = item !== runner.header && !startsWithPath(item.path, ["runners", "machine"]);
      if (usable && header === undefined) header = item.indent;
    } else if (table !== runner.header && !startsWithPath(table.path, ["runners", "machine"]) && key === undefined) {
      key = item.indent;
    }
  }
  header ??= runner.ownKeys[0]?.indent ?? runner.header.indent + "  ";
  return { header, key: key ?? header + "  " };
}

// ---------------------------------------------------------------------------
// The merge
// ---------------------------------------------------------------------------

export function parseToml(text: string, what: string): TOML.JsonMap {
  try {
    // @iarna/toml rejects CR in comments, although CRLF is a valid TOML newline.
    return TOML.parse(text.replace(/\r\n/g, "\n"));
  } catch (e) {
    // The parser's first line says where; the lines it quotes after it may hold the runner token.
    throw new ConfigTomlError(`${what} is not valid TOML: ${(e as Error).message.split("\n")[0]}`);
  }
}

function checkEdit(edit: RunnerMachineEdit): void {
  const ints: [string, number | undefined][] = [
    ["concurrent", edit.concurrent],
    ["limit", edit.limit],
    ["machine.IdleCount", edit.machine.IdleCount],
    ["machine.IdleTime", edit.machine.IdleTime],
    ["machine.MaxBuilds", edit.machine.MaxBuilds],
    ...edit.machine.autoscaling.flatMap((a, i): [string, number][] => [
      [`machine.autoscaling[${i}].IdleCount`, a.IdleCount],
      [`machine.autoscaling[${i}].IdleTime`, a.IdleTime],
    ]),
  ];
  // The runner reads these into Go ints: a float would make it reject the file.
  for (const [name, v] of ints) {
    if (v !== undefined && !Number.isSafeInteger(v)) throw new ConfigTomlError(`${name} must be an integer, got ${v}`);
  }
}

export function selectRunner(runners: RunnerSpan[], parsed: TOML.JsonMap, runnerName: string | undefined): RunnerSpan {
  const list = Array.isArray(parsed.runners) ? (parsed.runners as TOML.JsonMap[]) : [];
  if (runners.length === 0) throw new ConfigTomlError("config.toml has no [[runners]] table: register a runner first");
  if (runners.length !== list.length) {
    throw new ConfigTomlError("config.toml defines runners in a form this merge does not handle (not only [[runners]] tables)");
  }
  const names = list.map((r) => (typeof r.name === "string" ? r.name : ""));
  const shown = names.map((n) => JSON.stringify(n)).join(", ");
  // The stack key is runner.name; the fix is a command the user can paste (a name quoted for sh).
  const setName = (n: string) => `pulumi config set --path runner.name '${n.replace(/'/g, `'\\''`)}'`;
  if (runnerName === undefined) {
    if (runners.length > 1) {
      throw new ConfigTomlError(`config.toml has ${runners.length} [[runners]] (${shown}); set runner.name to the one to convert, e.g. ${setName(names[0])}`);
    }
    return runners[0];
  }
  const hits = names.flatMap((n, i) => (n === runnerName ? [i] : []));
  if (hits.length === 0) {
    throw new ConfigTomlError(`runner.name is ${JSON.stringify(runnerName)}, but config.toml has no [[runners]] of that name; found: ${shown}. Pick one, e.g. ${setName(names[0])}`);
  }
  if (hits.length > 1) {
    throw new ConfigTomlError(`runner.name ${JSON.stringify(runnerName)} names ${hits.length} [[runners]] in config.toml (${shown}); rename one in config.toml (and restart the runner) so that runner.name picks exactly one`);
  }
  return runners[hits[0]];
}

/** Replace the value of a key/value in place; spacing and a trailing comment stay. */
export function replaceValue(lines: Line[], kv: KeyVal, value: string, seq: number): Edit {
  const first = lines[kv.line].text.slice(0, kv.valueStart.col);
  const last = lines[kv.endLine];
  const text = first + value + last.text.slice(kv.valueEnd.col);
  return { start: kv.line, deleteCount: kv.endLine - kv.line + 1, insert: [{ text, eol: last.eol }], seq };
}

/** Global `concurrent`: replace, or insert before the first table after the leading comments. */
export function concurrentEdit(lines: Line[], items: Item[], value: number, eol: string, seq: number): Edit {
  const firstHeader = items.findIndex((i) => i.kind === "header");
  const topKeys = (firstHeader < 0 ? items : items.slice(0, firstHeader)) as KeyVal[];
  const existing = topKeys.find((kv) => samePath(kv.path, ["concurrent"]));
  const formatted = formatTomlValue(value);
  if (existing) return replaceValue(lines, existing, formatted, seq);

  const firstContent = items.length > 0 ? items[0].line : lines.length;
  let at = 0;
  for (let i = 0; i < firstContent; i++) if (lines[i].text.trimStart().startsWith("#")) at = i + 1;
  const insert = [{ text: `concurrent = ${formatted}`, eol }];
  // Keep a blank line between the global keys and a table header that would follow directly.
  if (items[0]?.kind === "header" && items[0].line === at) insert.push({ text: "", eol });
  return { start: at, deleteCount: 0, insert, seq };
}

/** config.toml as lines, with its line endings, its scanned items and the selected [[runners]]. */
export function openConfig(current: string, runnerName: string | undefined) {
  const parsed = parseToml(current, "config.toml");
  const lines = splitLines(current);
  const eol = lines.find((l) => l.eol !== "")?.eol ?? "\n";
  const finalEol = lines.length > 0 ? lines[lines.length - 1].eol : eol;
  const items = tomlItems(lines.map((l) => l.text).join("\n"));
  const runner = selectRunner(findRunners(items), parsed, runnerName);
  return { parsed, lines, eol, finalEol, items, runner };
}

/**
 * The global `concurrent` and the runner's `executor` and `limit` (its own keys, before its first
 * sub-table): replaced in place, or added after its last own key (limit right after executor).
 */
export function runnerKeyEdits(lines: Line[], items: Item[], runner: RunnerSpan, keys: { concurrent: number; executor: string; limit?: number }, eol: string): Edit[] {
  let seq = 0;
  const edits: Edit[] = [concurrentEdit(lines, items, keys.concurrent, eol, seq++)];
  const keyIndent = runner.ownKeys[0]?.indent ?? runner.header.indent + "  ";
  const executor = runner.ownKeys.find((kv) => samePath(kv.path, ["executor"]));
  const limit = runner.ownKeys.find((kv) => samePath(kv.path, ["limit"]));
  const newKeys: Line[] = [];
  if (executor) edits.push(replaceValue(lines, executor, formatTomlValue(keys.executor), seq++));
  else newKeys.push({ text: `${keyIndent}executor = ${formatTomlValue(keys.executor)}`, eol });
  if (keys.limit !== undefined) {
    if (limit) edits.push(replaceValue(lines, limit, formatTomlValue(keys.limit), seq++));
    else if (executor) {
      const text = `${keyIndent}limit = ${formatTomlValue(keys.limit)}`;
      edits.push({ start: executor.endLine + 1, deleteCount: 0, insert: [{ text, eol }], seq: seq++ });
    } else newKeys.push({ text: `${keyIndent}limit = ${formatTomlValue(keys.limit)}`, eol });
  }
  if (newKeys.length > 0) {
    const lastOwn = runner.ownKeys[runner.ownKeys.length - 1];
    const at = lastOwn ? lastOwn.endLine + 1 : runner.header.line + 1;
    edits.push({ start: at, deleteCount: 0, insert: newKeys, seq: seq++ });
  }
  return edits;
}

/**
 * An executor's merge, docker+machine's or docker-autoscaler's: the runner's keys, then the
 * executor's table (`block`, rendered from the opened file) in place of the first of the runner's
 * [runners.machine] and [runners.autoscaler] runs, else after the cache tables, else at the end of
 * the runner. The other runs go: each executor never reads the other's table, which names
 * machines or the Auto Scaling group and files that a move between them deletes.
 */
export function mergeExecutorTable(current: string, runnerName: string | undefined, keys: { concurrent: number; executor: string; limit?: number },
  block: (opened: { lines: Line[]; runner: RunnerSpan }) => string[]): string {
  const { lines, eol, finalEol, items, runner } = openConfig(current, runnerName);
  const edits = runnerKeyEdits(lines, items, runner, keys, eol);
  const runs = [...tableRuns(runner.items, ["runners", "machine"]), ...tableRuns(runner.items, ["runners", "autoscaler"])].sort((x, y) => x.start - y.start);
  edits.push(...placeRunnerTable(lines, runner, runs, block({ lines, runner }).map((text) => ({ text, eol })), eol, edits.length));
  return joinEdited(lines, edits, eol, finalEol);
}

export function mergeRunnerConfig(current: string, edit: RunnerMachineEdit): string {
  checkEdit(edit);
  const out = mergeExecutorTable(current, edit.runnerName, edit, ({ lines, runner }) =>
    renderMachine(edit.machine, detectIndents(runner), unmanagedMachineLines(lines, runner)));
  verify(out, edit);
  return out;
}

/** Re-parse the result: it must be valid TOML and hold the managed values. */
function verify(out: string, edit: RunnerMachineEdit): void {
  const parsed = parseToml(out, "merged config.toml (internal error)");
  const runners = parsed.runners as TOML.JsonMap[];
  const runner = runners.find((r) => edit.runnerName === undefined || r.name === edit.runnerName);
  const machine = runner?.machine as TOML.JsonMap | undefined;
  if (parsed.concurrent !== edit.concurrent || runner?.executor !== edit.executor || machine?.MachineName !== edit.machine.MachineName || runner.autoscaler !== undefined) {
    throw new ConfigTomlError("internal error: merged config.toml does not hold the managed values");
  }
}

/** Dotted key paths written by mergeRunnerConfig for this edit (table "runners" = the selected runner). */
export function managedKeys(edit: RunnerMachineEdit): string[] {
  const keys = ["concurrent", "runners.executor"];
  if (edit.limit !== undefined) keys.push("runners.limit");
  for (const k of ["IdleCount", "IdleTime", "MaxBuilds", "MachineDriver", "MachineName", "MachineOptions"]) {
    keys.push(`runners.machine.${k}`);
  }
  if (edit.machine.autoscaling.length > 0) {
    for (const k of ["Periods", "IdleCount", "IdleTime", "Timezone"]) keys.push(`runners.machine.autoscaling.${k}`);
  }
  return keys;
}
