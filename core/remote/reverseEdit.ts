// The reverse of a managed edit, as line hunks from the text pulumi writes back to the text it
// replaced. `pulumi destroy` runs only a fixed shell string, so this is computed at write time and
// travels (secret) on the write's stdin; the server keeps it root-only and applies it with the awk
// mini-patch of core/remote/sh/lib/reverse_chain.sh when the file changed after the write (a later
// upgrade, a hand edit elsewhere). Pure: texts in, text out.
//
// Each hunk carries the written lines to remove (each with the managed key it belongs to, so a
// refusal can name the key without printing a value, which may be a secret), the replaced lines
// to put back, and up to CONTEXT unchanged lines on each side to tell repeated lines apart.
import { sha256Hex } from "./readResult";

/** How to name the key a line belongs to, per file syntax; "lines" names the line number. */
export type LineFormat = "env" | "yaml" | "toml" | "lines";

export const CONTEXT = 3;

/** One line and whether a newline ends it (only a file's last line may lack one). */
export interface FileLine {
  readonly text: string;
  readonly nl: boolean;
}

export interface ReverseHunk {
  /** The managed keys the hunk concerns, for messages. */
  readonly label: string;
  readonly before: FileLine[];
  /** Lines pulumi wrote, to remove. */
  readonly remove: { line: FileLine; key: string }[];
  /** Lines that were there before, to put back. */
  readonly insert: FileLine[];
  readonly after: FileLine[];
}

/** Splits text into lines; CR stays part of its line, so CRLF files round-trip. */
export function splitLines(text: string): FileLine[] {
  if (text === "") return [];
  const parts = text.split("\n");
  const last = parts.pop()!;
  const out: FileLine[] = parts.map((t) => ({ text: t, nl: true }));
  if (last !== "") out.push({ text: last, nl: false });
  return out;
}

export function joinLines(lines: readonly FileLine[]): string {
  return lines.map((l) => l.text + (l.nl ? "\n" : "")).join("");
}

type Op = "=" | "-" | "+";

/**
 * Line diff a → b as ops ("=" keep, "-" a's line, "+" b's line): common prefix and suffix, then an
 * LCS table on the middle (files here are small; edits are local).
 */
export function lineDiff(a: readonly string[], b: readonly string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const x = a.slice(pre, a.length - suf);
  const y = b.slice(pre, b.length - suf);
  const w = y.length + 1;
  const t = new Uint32Array((x.length + 1) * w);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      t[i * w + j] = x[i] === y[j] ? t[(i + 1) * w + j + 1] + 1 : Math.max(t[(i + 1) * w + j], t[i * w + j + 1]);
    }
  }
  const ops: Op[] = Array<Op>(pre).fill("=");
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      ops.push("=");
      i++;
      j++;
    } else if (j >= y.length || (i < x.length && t[(i + 1) * w + j] >= t[i * w + j + 1])) {
      ops.push("-");
      i++;
    } else {
      ops.push("+");
      j++;
    }
  }
  return ops.concat(Array<Op>(suf).fill("="));
}

// ---- keys of lines, per syntax -------------------------------------------------------------------

const ENV_DEF = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*[=:]/;

function envKeys(lines: readonly string[]): string[] {
  return lines.map((l) => ENV_DEF.exec(l)?.[1] ?? "(not a variable line)");
}

/** Dotted path by indentation: `services.gitlab-runner.env_file`; list items belong to their key. */
function yamlKeys(lines: readonly string[]): string[] {
  const stack: { indent: number; key: string }[] = [];
  const path = () => (stack.length ? stack.map((s) => s.key).join(".") : "(top level)");
  return lines.map((raw) => {
    const line = raw.replace(/\r$/, "");
    const content = line.trimStart();
    if (content === "" || content.startsWith("#")) return path();
    const indent = line.length - content.length;
    const item = content === "-" || content.startsWith("- ");
    while (stack.length && (item ? stack[stack.length - 1].indent > indent : stack[stack.length - 1].indent >= indent)) stack.pop();
    const m = item ? undefined : /^("[^"]*"|'[^']*'|[^\s:#][^:#]*?)[ \t]*:(?:[ \t]|$)/.exec(content);
    if (m) stack.push({ indent, key: m[1].replace(/^(["'])(.*)\1$/, "$2") });
    return path();
  });
}

/** Net `[`/`]` depth of a TOML line outside strings and comments. */
function bracketDepth(line: string): number {
  let d = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "#") break;
    if (c === '"' || c === "'") {
      for (i++; i < line.length && line[i] !== c; i++) if (c === '"' && line[i] === "\\") i++;
    } else if (c === "[") d++;
    else if (c === "]") d--;
  }
  return d;
}

/** `concurrent`, `[[runners]] "name" executor`, `[[runners]] "name" [runners.machine] IdleTime`. */
function tomlKeys(lines: readonly string[]): string[] {
  // Each [[runners]] is named by its `name` (before its first sub-table), else by its position.
  const names: string[] = [];
  let cur = -1;
  let top = false;
  for (const l of lines) {
    const t = l.trim();
    if (/^\[\[\s*runners\s*\]\]/.test(t)) {
      cur++;
      top = true;
    } else if (t.startsWith("[")) top = false;
    else if (top && names[cur] === undefined) {
      const m = /^name\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(t);
      if (m) names[cur] = JSON.parse(`"${m[1]}"`);
    }
  }
  let runner = -1;
  let runnerLabel = "";
  let table = "";
  let open: string | undefined;
  let depth = 0;
  return lines.map((l) => {
    const t = l.trim();
    if (open !== undefined) {
      const key = open;
      depth += bracketDepth(t);
      if (depth <= 0) open = undefined;
      return key;
    }
    const arr = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(t);
    const tab = arr ? undefined : /^\[\s*([^\]]+?)\s*\]/.exec(t);
    if (arr || tab) {
      const name = (arr ?? tab)![1];
      if (arr && name === "runners") {
        runner++;
        runnerLabel = `[[runners]] ${names[runner] !== undefined ? JSON.stringify(names[runner]) : `#${runner + 1}`}`;
        table = runnerLabel;
      } else {
        const head = arr ? `[[${name}]]` : `[${name}]`;
        table = runner >= 0 && name.startsWith("runners.") ? `${runnerLabel} ${head}` : head;
      }
      return table;
    }
    const kv = /^("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=(.*)$/.exec(t);
    if (!kv) return table || "(top level)";
    const key = table ? `${table} ${kv[1]}` : kv[1];
    const d = bracketDepth(kv[2]);
    if (d > 0) {
      open = key;
      depth = d;
    }
    return key;
  });
}

export function lineKeys(format: LineFormat, lines: readonly string[]): string[] {
  switch (format) {
    case "env": return envKeys(lines);
    case "yaml": return yamlKeys(lines);
    case "toml": return tomlKeys(lines);
    case "lines": return lines.map((_, i) => `line ${i + 1}`);
  }
}

// ---- hunks ---------------------------------------------------------------------------------------

const keyOf = (l: FileLine) => l.text + (l.nl ? "\n" : "");

/** `T a, b` for keys `T`, `T a`, `T b` (the table named once); else the keys joined. */
export function labelOf(keys: readonly string[]): string {
  const u = [...new Set(keys)];
  const under = (p: string) => u.every((k) => k === p || k.startsWith(`${p} `));
  let p = u[0] ?? "";
  while (p && !under(p)) p = p.includes(" ") ? p.slice(0, p.lastIndexOf(" ")) : "";
  if (!p) return u.join(", ");
  const rest = u.filter((k) => k !== p).map((k) => k.slice(p.length + 1));
  return rest.length ? `${p} ${rest.join(", ")}` : p;
}

/**
 * When `previous` lacked a final newline that `written` has (pulumi appended lines to a file like
 * Collaborage's common.env): the last line of `previous`, with its CR in a CRLF file. The hunks then
 * treat that line as ending in a newline, so a line pulumi did not change is not part of them, and
 * the newline goes again only if that line ends the file after the undo.
 */
export function finalNewlineAdded(written: string, previous: string): { text: string; crlf: boolean } | undefined {
  const p = splitLines(previous);
  const last = p[p.length - 1];
  if (!last || last.nl || (written !== "" && !written.endsWith("\n"))) return undefined;
  const crlf = p.length > 1 && p[0].text.endsWith("\r") && !last.text.endsWith("\r");
  return { text: last.text, crlf };
}

/** The hunks that turn `written` back into `previous`; [] when they are equal. */
export function reverseHunks(format: LineFormat, written: string, previous: string, context = CONTEXT): ReverseHunk[] {
  const w = splitLines(written);
  const p = splitLines(previous);
  const eof = finalNewlineAdded(written, previous);
  if (eof) p[p.length - 1] = { text: eof.crlf ? `${eof.text}\r` : eof.text, nl: true };
  const wKeys = lineKeys(format, w.map((l) => l.text));
  const pKeys = lineKeys(format, p.map((l) => l.text));
  const ops = lineDiff(w.map(keyOf), p.map(keyOf));
  const hunks: ReverseHunk[] = [];
  let i = 0; // in written
  let j = 0; // in previous
  for (let k = 0; k < ops.length;) {
    if (ops[k] === "=") {
      i++;
      j++;
      k++;
      continue;
    }
    const ws = i;
    const ps = j;
    for (; k < ops.length && ops[k] !== "="; k++) {
      if (ops[k] === "-") i++;
      else j++;
    }
    const remove = w.slice(ws, i).map((line, n) => ({ line, key: wKeys[ws + n] }));
    const label = labelOf(remove.length ? remove.map((r) => r.key) : pKeys.slice(ps, j));
    hunks.push({ label, before: w.slice(Math.max(0, ws - context), ws), remove, insert: p.slice(ps, j), after: w.slice(i, i + context) });
  }
  return hunks;
}

function checkOneLine(s: string, what: string): string {
  if (/[\n\0]/.test(s)) throw new Error(`${what} must be one line without NUL: ${JSON.stringify(s)}`);
  return s;
}

/**
 * The hunk file the server keeps, one record a line (core/remote/sh/lib/reverse_chain.sh reads it):
 *   `gra-reverse v1 <sha256 of the written text>`, then `$<text>` (`%<text>` for CRLF) when the
 *   result is to lose its final newline again if it ends with that line, then per hunk
 *   `@<label>`, context lines ` <text>`, removed lines `-<key>\t<text>`, restored lines `+<text>`;
 *   a line `\` after a line means that line has no final newline.
 */
export function formatReverse(writtenSha256: string, hunks: readonly ReverseHunk[], eof?: { text: string; crlf: boolean }): string {
  if (!/^[0-9a-f]{64}$/.test(writtenSha256)) throw new Error(`not a sha256: ${JSON.stringify(writtenSha256)}`);
  const out = [`gra-reverse v1 ${writtenSha256}`];
  if (eof) out.push((eof.crlf ? "%" : "$") + checkOneLine(eof.text, "line"));
  const put = (prefix: string, l: FileLine) => {
    out.push(prefix + checkOneLine(l.text, "line"));
    if (!l.nl) out.push("\\");
  };
  for (const h of hunks) {
    out.push(`@${checkOneLine(h.label, "label")}`);
    h.before.forEach((l) => put(" ", l));
    h.remove.forEach((r) => put(`-${checkOneLine(r.key.replace(/\t/g, " "), "key")}\t`, r.line));
    h.insert.forEach((l) => put("+", l));
    h.after.forEach((l) => put(" ", l));
  }
  return out.join("\n") + "\n";
}

/** The reverse edit of a write, as the server keeps it: what the write's stdin carries. */
export function reverseEdit(format: LineFormat, written: string, previous: string): string {
  return formatReverse(sha256Hex(written), reverseHunks(format, written, previous), finalNewlineAdded(written, previous));
}
