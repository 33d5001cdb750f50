// `npm run plan -- --from-server`: for each managed value on the CI server, is it still what the
// last `pulumi up` set, was it changed on the server since (drift), or what would this stack
// config make it. Pure: texts in (secrets already replaced, offline/redact.ts), a report out.
//
// Three texts per file: the server's now; what `up` would write now (the plan); what the last up
// wrote (rebuilt: the plan's edits of the backup the last write kept, checked against the sha256
// `written` marker that write left, so it is exact or not used). A file whose bytes still match a
// marker is exactly what the last up left.
import { lineKeys } from "../core/remote/reverseEdit";
import { maskCredentialsInText } from "../core/proxy/proxyFiles";
import { displayRedacted } from "./redact";
import type { Lang } from "./messages";

export type DriftFormat = "env" | "yaml" | "toml" | "json" | "systemd";

/** A file's syntax, from its name (the drop-in is a systemd unit, the fleeting files are ini). */
export function driftFormatOf(p: string): DriftFormat {
  if (/\.toml$/.test(p)) return "toml";
  if (/\.ya?ml$/.test(p)) return "yaml";
  if (/\.json$/.test(p)) return "json";
  if (/\.(conf|service)$/.test(p)) return "systemd";
  return "env";
}

/** Key → its lines (blank lines dropped), in the order they come; `(whole file)` when JSON does not parse. */
export function valuesOf(format: DriftFormat, text: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (text === null) return out;
  if (format === "json") {
    try {
      const doc = JSON.parse(text) as unknown;
      if (doc && typeof doc === "object" && !Array.isArray(doc)) {
        for (const [k, v] of Object.entries(doc)) out.set(k, JSON.stringify(v));
        return out;
      }
    } catch {
      /* compared whole below */
    }
    out.set("(whole file)", text.trim());
    return out;
  }
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  // A drop-in's values are its Environment= lines; the rest (section, comments) counts as one.
  const keys = format === "systemd"
    ? lines.map((l) => /^\s*Environment\s*=\s*"?([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1] ?? "(other lines)")
    : lineKeys(format, lines);
  lines.forEach((l, i) => {
    // A TOML table header is not a value: its keys are listed under it.
    if (l.trim() === "" || (format === "toml" && /^\s*\[/.test(l))) return;
    const k = keys[i];
    out.set(k, out.has(k) ? `${out.get(k)}\n${l}` : l);
  });
  return out;
}

export type DriftStatus =
  /** The value is what the last up set, and what this config sets. */
  | "as-set"
  /** Unchanged since the last up; this config changes it. */
  | "would-change"
  /** Changed on the server since the last up. */
  | "drifted"
  /** The file changed since the last up and the last up's text could not be rebuilt: differs from this config, cause unknown. */
  | "differs"
  /** No up has written this file yet; `up` would set it. */
  | "not-yet";

export interface DriftEntry {
  key: string;
  status: DriftStatus;
  /** Undefined: the key is not in that text. */
  now?: string;
  lastUp?: string;
  desired?: string;
}

export interface FileDriftInput {
  path: string;
  format: DriftFormat;
  /** The server's file now (null = absent). */
  now: string | null;
  /** What `up` would leave there with this config (null: the plan writes nothing). */
  desired: string | null;
  /** none: no pulumi write left a marker; matches: the file's bytes are what a write left; differs: changed since. */
  marker: "none" | "matches" | "differs";
  /** The file before the last write (its backup; null = absent), when kept. */
  before?: string | null;
  /** What the last up wrote, rebuilt and verified against its marker; undefined when not known exactly. */
  lastUp?: string | null;
}

export interface FileDrift {
  path: string;
  marker: FileDriftInput["marker"];
  /** The file is missing on the server now. */
  missing: boolean;
  lastUpKnown: boolean;
  entries: DriftEntry[];
}

/**
 * The managed keys are those an edit changes: between the file before the last write and what
 * the last up wrote, and between the file now and what up would write; plus any key that changed
 * since the last up. Each gets one status.
 */
export function classifyFile(f: FileDriftInput): FileDrift {
  const lastUpText = f.marker === "matches" ? f.now : f.lastUp;
  const lastUpKnown = f.marker === "matches" || f.lastUp !== undefined;
  const now = valuesOf(f.format, f.now);
  const desired = valuesOf(f.format, f.desired);
  const last = lastUpKnown ? valuesOf(f.format, lastUpText ?? null) : undefined;
  const before = f.before === undefined ? undefined : valuesOf(f.format, f.before);
  const keys = new Set<string>();
  const differing = (a: Map<string, string>, b: Map<string, string>) => {
    for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) keys.add(k);
  };
  if (f.desired !== null) differing(now, desired);
  if (last) differing(now, last);
  if (last && before) differing(before, last);
  // Order: as the keys come in what up writes, then the rest.
  const order = [...desired.keys(), ...(last?.keys() ?? []), ...now.keys()];
  const sorted = [...keys].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const entries = sorted.map((key): DriftEntry => {
    const n = now.get(key);
    const d = f.desired === null ? n : desired.get(key);
    const l = last?.get(key);
    const status: DriftStatus = f.marker === "none" ? (n === d ? "as-set" : "not-yet")
      : last ? (n !== l ? "drifted" : n === d ? "as-set" : "would-change")
      : n === d ? "as-set" : "differs";
    return { key, status, now: n, ...(last ? { lastUp: l } : {}), desired: d };
  });
  return { path: f.path, marker: f.marker, missing: f.now === null, lastUpKnown, entries };
}

// ---- the report ----------------------------------------------------------------------------------

const shown = (v: string | undefined, absent: string) => (v === undefined ? absent : `\`${maskCredentialsInText(displayRedacted(v)).split("\n").map((l) => l.trim()).join(" ")}\``);

/** The report's words; `now`, `desired` and `lastUp` come in already shown (`value`, or absent/removed). */
interface DriftCatalogue {
  title(where: string): string;
  file(d: FileDrift): string;
  status: Record<DriftStatus, string>;
  /** A value that is not there now or at the last up; one up would remove. */
  absent: string;
  removed: string;
  wouldChange(now: string, desired: string): string;
  /** `desired` undefined: up keeps the value as it is now (a key up does not manage). */
  drifted(now: string, lastUp: string, desired: string | undefined): string;
  /** differs and not-yet: what is there now, and what up would set. */
  upWouldSet(now: string, desired: string): string;
  none: string;
  totals(counts: Record<DriftStatus, number>): string;
  compares: string;
}

const EN: DriftCatalogue = {
  title: (where) => `Drift on the CI server (${where}, read over SSH just now, nothing written):`,
  file: (d) => d.missing && d.marker !== "none" ? "missing on the server: a pulumi up wrote it, something removed it since"
    : d.marker === "none" ? (d.missing ? "missing on the server; no pulumi up has written it" : "no pulumi up has written it yet (no marker in /var/lib/gitlab-runner-autoscaling)")
    : d.marker === "matches" ? "as the last pulumi up left it"
    : d.lastUpKnown ? "changed on the server since the last pulumi up"
    : "changed on the server since the last pulumi up; what that up wrote cannot be rebuilt (see README), so a difference below may be a hand edit or a stack config change",
  status: { "as-set": "as set  ", "would-change": "change  ", drifted: "DRIFTED ", differs: "differs ", "not-yet": "new     " },
  absent: "(absent)",
  removed: "(removed)",
  wouldChange: (now, desired) => `${now} (as the last up set it); up would set ${desired}`,
  drifted: (now, lastUp, desired) => `now ${now}, the last up set ${lastUp}; ${desired === undefined ? "up keeps it" : `up would set ${desired}`}`,
  upWouldSet: (now, desired) => `now ${now}; up would set ${desired}`,
  none: "    (no managed value)",
  totals: (c) => `  ${c.drifted} drifted, ${c["would-change"]} to change, ${c["as-set"]} as set, ${c.differs} differing (cause unknown), ${c["not-yet"]} not yet written.`,
  compares: "  (compared: the server's files now, what the last up wrote there — rebuilt from its backup and checked against its sha256 marker — and what up would write with this stack config; secrets are shown as [secret] and compared only as placeholders)",
};

const JA: DriftCatalogue = {
  title: (where) => `CIサーバ上の差分（${where}、いま SSH で読み取り。書き込みはしていません）:`,
  file: (d) => d.missing && d.marker !== "none" ? "サーバにありません: pulumi up が書き込んだ後、削除されています"
    : d.marker === "none" ? (d.missing ? "サーバにありません。pulumi up はまだ書き込んでいません" : "pulumi up はまだ書き込んでいません（/var/lib/gitlab-runner-autoscaling に記録なし）")
    : d.marker === "matches" ? "前回の pulumi up が書き込んだままです"
    : d.lastUpKnown ? "前回の pulumi up の後、サーバ上で変更されています"
    : "前回の pulumi up の後、サーバ上で変更されています。その up が書き込んだ内容を復元できないため（README 参照）、下の差分は手作業の変更かスタック設定の変更か区別できません",
  status: { "as-set": "設定どおり", "would-change": "変更予定  ", drifted: "ドリフト  ", differs: "差分あり  ", "not-yet": "未適用    " },
  absent: "（なし）",
  removed: "（削除）",
  wouldChange: (now, desired) => `${now}（前回の up の設定どおり）。up で ${desired} になります`,
  drifted: (now, lastUp, desired) => `現在 ${now}、前回の up の設定 ${lastUp}。${desired === undefined ? "up はこのまま残します" : `up で ${desired} に戻ります`}`,
  upWouldSet: (now, desired) => `現在 ${now}。up で ${desired} になります`,
  none: "    （管理対象の値はありません）",
  totals: (c) => `  ドリフト ${c.drifted} 件、変更予定 ${c["would-change"]} 件、設定どおり ${c["as-set"]} 件、原因不明の差分 ${c.differs} 件、未適用 ${c["not-yet"]} 件。`,
  compares: "  （比較対象: サーバ上の現在のファイル、前回の up が書き込んだ内容（そのバックアップから再構成し、sha256 の記録で検証）、このスタック設定で up が書き込む内容。シークレットは [secret] と表示し、プレースホルダーとしてのみ比較します）",
};

/** One entry's text: the same choice for every language, the words from its catalogue. */
function entryText(m: DriftCatalogue, e: DriftEntry): string {
  const now = shown(e.now, m.absent);
  const desired = shown(e.desired, m.removed);
  switch (e.status) {
    case "as-set": return now;
    case "would-change": return m.wouldChange(now, desired);
    case "drifted": return m.drifted(now, shown(e.lastUp, m.absent), e.desired === e.now ? undefined : desired);
    case "differs":
    case "not-yet": return m.upWouldSet(now, desired);
  }
}

export const DRIFT_MESSAGES: Record<Lang, DriftCatalogue> = { en: EN, ja: JA };

export function driftReport(files: FileDrift[], where: string, lang: Lang): string {
  const m = DRIFT_MESSAGES[lang];
  const counts: Record<DriftStatus, number> = { "as-set": 0, "would-change": 0, drifted: 0, differs: 0, "not-yet": 0 };
  const out = [m.title(where)];
  for (const f of files) {
    out.push(`  ${f.path}: ${m.file(f)}`);
    if (!f.entries.length) out.push(m.none);
    for (const e of f.entries) {
      counts[e.status]++;
      out.push(`    ${m.status[e.status]} ${e.key}: ${entryText(m, e)}`);
    }
  }
  out.push(m.totals(counts), m.compares);
  return out.join("\n") + "\n";
}
