// config.toml for the Docker Autoscaler executor: global `concurrent`, the selected runner's
// `executor = "docker-autoscaler"` (and `limit`), its `[runners.machine]` removed, and its
// `[runners.autoscaler]` tables written. Pure, text in and text out, with the scanner of
// core/ciServer/configToml/configToml.ts: every byte outside those tables stays as it was (other runners, comments,
// CRLF), and so do the operator's own keys inside the managed tables and sub-tables this program
// does not write (scale_throttle, state_storage, …). `[[runners.autoscaler.policy]]` entries are
// replaced as a whole: they are the idle policy.
import * as TOML from "@iarna/toml";
import {
  ConfigTomlError, detectIndents, formatTomlValue, mergeExecutorTable, parseToml,
  samePath, startsWithPath, type Line, type RunnerSpan, type TomlValue,
} from "./configToml";

export interface AutoscalerPolicy {
  /** 5-field cron; absent = always (the runner's default "* * * * *"). */
  periods?: string[];
  timezone?: string;
  /** Idle JOB SLOTS (not instances). */
  idle_count: number;
  /** Go duration, e.g. "30m0s". */
  idle_time: string;
}

export interface RunnerAutoscalerEdit {
  concurrent: number;
  /** Which [[runners]] (its `name`); undefined = there must be exactly one. */
  runnerName?: string;
  limit?: number;
  autoscaler: {
    plugin: string;
    capacity_per_instance: number;
    max_use_count: number;
    max_instances: number;
    delete_instances_on_shutdown: boolean;
    plugin_config: { name: string; config_file?: string; credentials_file?: string };
    connector_config: { username: string; use_external_addr: boolean; key_path?: string; use_static_credentials?: boolean };
    /** In order: the last policy whose period matches wins. */
    policy: AutoscalerPolicy[];
  };
}

export const AUTOSCALER_EXECUTOR = "docker-autoscaler";
const AUTOSCALER = ["runners", "autoscaler"];
/** Sub-tables written here; their other keys are the operator's and stay. */
const KEYED_TABLES = ["plugin_config", "connector_config"] as const;
/** Keys of [runners.autoscaler] itself that this merge owns (a dotted or inline sub-table would collide with the written ones). */
const OWNED_TOP_KEYS = ["plugin", "capacity_per_instance", "max_use_count", "max_instances", "delete_instances_on_shutdown", "plugin_config", "connector_config", "policy"];

type Pairs = [string, TomlValue][];

const defined = (o: Record<string, TomlValue | undefined>): Pairs =>
  Object.entries(o).filter((e): e is [string, TomlValue] => e[1] !== undefined);

function checkEdit(edit: RunnerAutoscalerEdit): void {
  const a = edit.autoscaler;
  const ints: [string, number | undefined][] = [
    ["concurrent", edit.concurrent], ["limit", edit.limit], ["capacity_per_instance", a.capacity_per_instance],
    ["max_use_count", a.max_use_count], ["max_instances", a.max_instances], ...a.policy.map((p, i): [string, number] => [`policy[${i}].idle_count`, p.idle_count]),
  ];
  for (const [name, v] of ints) {
    if (v !== undefined && !Number.isSafeInteger(v)) throw new ConfigTomlError(`${name} must be an integer, got ${v}`);
  }
  if (!a.plugin_config.name) throw new ConfigTomlError("plugin_config.name (the Auto Scaling group's name) is empty");
}

/** What stays of the existing [runners.autoscaler] tables: raw lines per place they go back. */
interface Kept {
  top: string[];
  plugin_config: string[];
  connector_config: string[];
  /** Other sub-tables, headers included, in their order. */
  other: string[];
}

function keptLines(lines: Line[], runner: RunnerSpan): Kept {
  const kept: Kept = { top: [], plugin_config: [], connector_config: [], other: [] };
  let table: string[] | undefined;
  let isArray = false;
  for (const item of runner.items) {
    if (item.kind === "header") {
      table = item.path;
      isArray = item.isArray;
      const sub = item.path[2];
      const otherTable = startsWithPath(item.path, AUTOSCALER) && item.path.length > 2 && sub !== "policy" && !(item.path.length === 3 && (KEYED_TABLES as readonly string[]).includes(sub));
      if (otherTable) kept.other.push(lines[item.line].text);
      continue;
    }
    if (!table || !startsWithPath(table, AUTOSCALER)) continue;
    const raw = () => Array.from({ length: item.endLine - item.line + 1 }, (_, i) => lines[item.line + i].text);
    if (samePath(table, AUTOSCALER)) {
      if (!OWNED_TOP_KEYS.includes(item.path[0])) kept.top.push(...raw());
    } else if (table.length === 3 && (KEYED_TABLES as readonly string[]).includes(table[2]) && !isArray) {
      const owned = table[2] === "plugin_config" ? ["name", "config_file", "credentials_file"] : ["username", "use_external_addr", "key_path", "use_static_credentials"];
      if (!owned.includes(item.path[0])) kept[table[2] as "plugin_config" | "connector_config"].push(...raw());
    } else if (table[2] !== "policy") {
      kept.other.push(...raw());
    }
  }
  return kept;
}

function renderAutoscaler(edit: RunnerAutoscalerEdit, indents: { header: string; key: string }, kept: Kept): string[] {
  const a = edit.autoscaler;
  const k = indents.key;
  const keyLines = (ind: string, pairs: Pairs) => pairs.map(([key, v]) => `${ind}${key} = ${formatTomlValue(v)}`);
  const out = [
    `${indents.header}[runners.autoscaler]`,
    ...keyLines(k, [
      ["plugin", a.plugin],
      ["capacity_per_instance", a.capacity_per_instance],
      ["max_use_count", a.max_use_count],
      ["max_instances", a.max_instances],
      ["delete_instances_on_shutdown", a.delete_instances_on_shutdown],
    ]),
    ...kept.top,
    `${k}[runners.autoscaler.plugin_config]`,
    ...keyLines(`${k}  `, defined(a.plugin_config)),
    ...kept.plugin_config,
    `${k}[runners.autoscaler.connector_config]`,
    ...keyLines(`${k}  `, defined(a.connector_config)),
    ...kept.connector_config,
    ...kept.other,
  ];
  for (const p of a.policy) {
    out.push(`${k}[[runners.autoscaler.policy]]`, ...keyLines(`${k}  `, defined({ periods: p.periods, timezone: p.timezone, idle_count: p.idle_count, idle_time: p.idle_time })));
  }
  return out;
}

export function mergeAutoscalerConfig(current: string, edit: RunnerAutoscalerEdit): string {
  checkEdit(edit);
  const out = mergeExecutorTable(current, edit.runnerName, { concurrent: edit.concurrent, executor: AUTOSCALER_EXECUTOR, limit: edit.limit },
    ({ lines, runner }) => renderAutoscaler(edit, detectIndents(runner), keptLines(lines, runner)));
  verify(out, edit);
  return out;
}

/** Re-parse: valid TOML, the managed values in place, no [runners.machine] left on the runner. */
function verify(out: string, edit: RunnerAutoscalerEdit): void {
  const parsed = parseToml(out, "merged config.toml (internal error)");
  const runners = parsed.runners as TOML.JsonMap[];
  const runner = runners.find((r) => edit.runnerName === undefined || r.name === edit.runnerName);
  const autoscaler = runner?.autoscaler as TOML.JsonMap | undefined;
  const pluginConfig = autoscaler?.plugin_config as TOML.JsonMap | undefined;
  const policies = autoscaler?.policy as TOML.JsonMap[] | undefined;
  if (
    parsed.concurrent !== edit.concurrent || runner?.executor !== AUTOSCALER_EXECUTOR || runner.machine !== undefined ||
    pluginConfig?.name !== edit.autoscaler.plugin_config.name || autoscaler?.max_instances !== edit.autoscaler.max_instances ||
    (policies?.length ?? 0) !== edit.autoscaler.policy.length
  ) {
    throw new ConfigTomlError("internal error: merged config.toml does not hold the managed autoscaler values");
  }
}

/** Dotted key paths this edit writes (table "runners" = the selected runner). */
export function managedAutoscalerKeys(edit: RunnerAutoscalerEdit): string[] {
  const a = edit.autoscaler;
  const keys = ["concurrent", "runners.executor", ...(edit.limit === undefined ? [] : ["runners.limit"])];
  keys.push(...["plugin", "capacity_per_instance", "max_use_count", "max_instances", "delete_instances_on_shutdown"].map((k) => `runners.autoscaler.${k}`));
  keys.push(...defined(a.plugin_config).map(([k]) => `runners.autoscaler.plugin_config.${k}`));
  keys.push(...defined(a.connector_config).map(([k]) => `runners.autoscaler.connector_config.${k}`));
  const policyKeys = new Set(a.policy.flatMap((p) => defined({ periods: p.periods, timezone: p.timezone, idle_count: p.idle_count, idle_time: p.idle_time }).map(([k]) => k)));
  keys.push(...[...policyKeys].map((k) => `runners.autoscaler.policy.${k}`));
  return keys;
}
