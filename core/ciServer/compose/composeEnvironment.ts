/**
 * Pure edit of one service's `environment:` in docker-compose.yml (Docker Autoscaler step: the
 * runner gets FLEETING_PLUGIN_PATH). Same method as core/ciServer/compose/composeFile.ts: the yaml Document API
 * only locates nodes, the new text is the original with splices (the edited scalar replaced, new
 * lines inserted), and the result is parsed again and compared with the intended data.
 *
 *  - no `environment:`: a block map is inserted after `env_file:` (one line), else after
 *    `restart:`, `image:` or `container_name:`, as the runbook places service keys;
 *  - a block map: a key with another value gets the new value (quoting style kept), a missing
 *    key is a new line after the last entry, same indentation;
 *  - a block list of `KEY=VALUE`: the item is replaced, or a `- KEY=VALUE` line appended;
 *  - flow forms (`{…}`, `[…]`) and anything else: an error asking for a hand edit.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, isSeq, parseDocument, type Document, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from "yaml";
import { ComposeEditError, type ComposeResult } from "./composeFile";

export interface EnvironmentEdit {
  readonly service: string;
  /** Variables to set (existing other variables are kept). */
  readonly vars: Readonly<Record<string, string>>;
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Values this program sets: paths and plain words. No quotes, backslashes, spaces, '#' or newlines.
const VALUE_RE = /^[A-Za-z0-9_./:@,+=-]*$/;
// A plain scalar that YAML reads back as this very string (no bool/null/number, no indicator first).
const PLAIN_RE = /^[A-Za-z_/][A-Za-z0-9_./:,+=-]*$/;
const YAML_WORDS = /^(?:y|n|yes|no|true|false|on|off|null)$/i;

const plainOrQuoted = (s: string) => (PLAIN_RE.test(s) && !YAML_WORDS.test(s) ? s : JSON.stringify(s));

interface Splice {
  start: number;
  end: number;
  text: string;
}

type Json = Record<string, unknown>;

function parse(text: string): { doc: Document.Parsed; services: YAMLMap } {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ComposeEditError(`docker-compose.yml is not parseable YAML: ${doc.errors.map((e) => e.message.split("\n")[0]).join("; ")}`);
  }
  const services = isMap(doc.contents) ? doc.contents.get("services", true) : undefined;
  if (!isMap(services)) throw new ComposeEditError("docker-compose.yml has no 'services:' mapping");
  return { doc, services };
}

const keyOf = (p: Pair) => (isScalar(p.key) ? String(p.key.value) : undefined);
const findPair = (m: YAMLMap, key: string) => m.items.find((p) => keyOf(p as Pair) === key) as Pair | undefined;
const lineStartOf = (text: string, pos: number) => text.lastIndexOf("\n", pos - 1) + 1;

function eolOf(text: string): string {
  const nl = text.indexOf("\n");
  return nl > 0 && text[nl - 1] === "\r" ? "\r\n" : "\n";
}

/** Splice inserting whole lines after the line that contains pos. */
function insertAfterLine(text: string, pos: number, lines: string[], eol: string): Splice {
  const nl = text.indexOf("\n", pos);
  if (nl < 0) return { start: text.length, end: text.length, text: lines.map((l) => eol + l).join("") };
  return { start: nl + 1, end: nl + 1, text: lines.map((l) => l + eol).join("") };
}

function indentOf(text: string, node: { range?: [number, number, number] | null }, what: string): string {
  const start = node.range![0];
  const indent = text.slice(lineStartOf(text, start), start);
  if (!/^[ ]*$/.test(indent)) throw new ComposeEditError(`${what} does not start its own line; edit it by hand`);
  return indent;
}

function oneLineScalar(text: string, node: unknown, what: string): Scalar {
  if (!isScalar(node) || !node.range || text.slice(node.range[0], node.range[1]).includes("\n") ||
    !(node.type === "PLAIN" || node.type === "QUOTE_SINGLE" || node.type === "QUOTE_DOUBLE") || node.anchor !== undefined || node.tag !== undefined) {
    throw new ComposeEditError(`${what} is not a simple one-line scalar; edit it by hand`);
  }
  return node;
}

function checkEdit(e: EnvironmentEdit): void {
  const names = Object.keys(e.vars);
  if (names.length === 0) throw new ComposeEditError("environment edit: no variables given");
  for (const [k, v] of Object.entries(e.vars)) {
    if (!KEY_RE.test(k)) throw new ComposeEditError(`invalid environment variable name for service '${e.service}': ${JSON.stringify(k)}`);
    if (typeof v !== "string" || !VALUE_RE.test(v)) {
      throw new ComposeEditError(`invalid value of ${k} for service '${e.service}' (expected [A-Za-z0-9_./:@,+=-]*): ${JSON.stringify(v)}`);
    }
  }
}

function mapSplices(text: string, env: YAMLMap, e: EnvironmentEdit, eol: string): Splice[] {
  const what = `environment of service '${e.service}'`;
  if (env.flow) throw new ComposeEditError(`${what} is a flow mapping ({...}); edit it by hand`);
  const splices: Splice[] = [];
  const append: string[] = [];
  const last = env.items[env.items.length - 1] as Pair | undefined;
  if (!last || !isScalar(last.key)) throw new ComposeEditError(`${what} is empty or unusual; edit it by hand`);
  const indent = indentOf(text, last.key, what);
  for (const [k, v] of Object.entries(e.vars)) {
    const pair = findPair(env, k);
    if (!pair) {
      append.push(`${indent}${k}: ${plainOrQuoted(v)}`);
      continue;
    }
    const val = oneLineScalar(text, pair.value, `${what}: ${k}`);
    if (typeof val.value === "string" && val.value === v) continue;
    if (val.range![0] === val.range![1]) throw new ComposeEditError(`${what}: ${k} has no value; edit it by hand`);
    splices.push({ start: val.range![0], end: val.range![1], text: val.type === "PLAIN" ? plainOrQuoted(v) : JSON.stringify(v) });
  }
  if (append.length) {
    const lastEnd = (last.value as Scalar | null)?.range?.[1] ?? last.key.range![1];
    if (text.slice(last.key.range![0], lastEnd).includes("\n")) throw new ComposeEditError(`${what}: the last entry spans lines; edit it by hand`);
    splices.push(insertAfterLine(text, lastEnd, append, eol));
  }
  return splices;
}

function seqSplices(text: string, env: YAMLSeq, e: EnvironmentEdit, eol: string): Splice[] {
  const what = `environment of service '${e.service}'`;
  if (env.flow) throw new ComposeEditError(`${what} is a flow list ([...]); edit it by hand`);
  const items = env.items.map((it, i) => oneLineScalar(text, it, `${what} item ${i + 1}`));
  if (items.length === 0) throw new ComposeEditError(`${what} is an empty list; edit it by hand`);
  const splices: Splice[] = [];
  const append: string[] = [];
  const last = items[items.length - 1];
  const prefix = text.slice(lineStartOf(text, last.range![0]), last.range![0]);
  if (!/^[ ]*-[ ]+$/.test(prefix)) throw new ComposeEditError(`${what}: unusual list layout; edit it by hand`);
  for (const [k, v] of Object.entries(e.vars)) {
    const item = items.find((s) => String(s.value) === k || String(s.value).startsWith(`${k}=`));
    const want = `${k}=${v}`;
    if (!item) append.push(`${prefix}${plainOrQuoted(want)}`);
    else if (String(item.value) !== want) {
      splices.push({ start: item.range![0], end: item.range![1], text: item.type === "PLAIN" ? plainOrQuoted(want) : JSON.stringify(want) });
    }
  }
  if (append.length) splices.push(insertAfterLine(text, last.range![1], append, eol));
  return splices;
}

function expected(before: Json, e: EnvironmentEdit): Json {
  const data = structuredClone(before) as { services: Record<string, Json> };
  const svc = data.services[e.service];
  const cur = svc.environment;
  if (Array.isArray(cur)) {
    for (const [k, v] of Object.entries(e.vars)) {
      const i = cur.findIndex((x) => String(x) === k || String(x).startsWith(`${k}=`));
      if (i >= 0) cur[i] = `${k}=${v}`;
      else cur.push(`${k}=${v}`);
    }
  } else {
    svc.environment = { ...((cur as Json | undefined) ?? {}), ...e.vars };
  }
  return data;
}

/** Sets the variables in the service's `environment:`. Pure; idempotent; other bytes unchanged. */
export function setComposeEnvironment(current: string, e: EnvironmentEdit): ComposeResult {
  checkEdit(e);
  const { doc, services } = parse(current);
  const eol = eolOf(current);
  const svcPair = findPair(services, e.service);
  if (!svcPair || !isMap(svcPair.value)) {
    throw new ComposeEditError(`docker-compose.yml has no service '${e.service}' as a mapping`);
  }
  const svc = svcPair.value;
  if (svc.flow) throw new ComposeEditError(`service '${e.service}' is written as a flow mapping ({...}); edit it by hand`);
  const envPair = findPair(svc, "environment");
  let splices: Splice[];
  if (!envPair) {
    let anchor: Pair | undefined;
    for (const k of ["env_file", "restart", "image", "container_name"]) {
      const p = findPair(svc, k);
      if (p && isScalar(p.value) && p.value.range && !text(current, p).includes("\n")) {
        anchor = p;
        break;
      }
    }
    if (!anchor) throw new ComposeEditError(`service '${e.service}' has no one-line env_file, restart, image or container_name to place environment after; edit it by hand`);
    const indent = indentOf(current, anchor.key as Scalar, `service '${e.service}'`);
    const lines = [`${indent}environment:`, ...Object.entries(e.vars).map(([k, v]) => `${indent}  ${k}: ${plainOrQuoted(v)}`)];
    splices = [insertAfterLine(current, (anchor.value as Scalar).range![1], lines, eol)];
  } else if (isMap(envPair.value)) {
    splices = mapSplices(current, envPair.value, e, eol);
  } else if (isSeq(envPair.value)) {
    splices = seqSplices(current, envPair.value, e, eol);
  } else {
    throw new ComposeEditError(`environment of service '${e.service}' is neither a mapping nor a list; edit it by hand`);
  }
  if (splices.length === 0) return { text: current, changedServices: [] };

  let out = "";
  let pos = 0;
  for (const s of [...splices].sort((a, b) => a.start - b.start)) {
    out += current.slice(pos, s.start) + s.text;
    pos = s.end;
  }
  out += current.slice(pos);

  const got = parse(out).doc.toJS({ maxAliasCount: -1 }) as Json;
  if (!isDeepStrictEqual(got, expected(doc.toJS({ maxAliasCount: -1 }) as Json, e))) {
    throw new ComposeEditError("internal error: the edited docker-compose.yml does not say what was intended; edit it by hand");
  }
  return { text: out, changedServices: [e.service] };
}

function text(src: string, p: Pair): string {
  return src.slice((p.key as Scalar).range![0], (p.value as Scalar).range![1]);
}
