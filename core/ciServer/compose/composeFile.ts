/**
 * Pure edits of the CI server's docker-compose.yml (runbook steps
 * "GitLabのバージョンアップ" and "GitLab Runnerのプロキシの設定").
 *
 * How the text is edited
 * ----------------------
 * The file is parsed with `yaml`'s Document API only to LOCATE nodes (their
 * source ranges). The new text is then made by splicing the original string:
 * only the edited scalar is replaced, and only the new lines are inserted.
 * `Document.toString()` happens to round-trip the three Collaborage fixtures
 * unchanged, but on hand-edited files it re-indents sequences, normalises
 * flow collections (`["a",   "b"]` -> `[ "a", "b" ]`), moves trailing
 * comments and folds long plain scalars at 80 columns, so it is never used
 * to produce output. Everything outside the splices stays byte-identical.
 *
 * After splicing, the result is parsed again and compared (as plain data)
 * with the original data plus the intended change. Any difference is a bug
 * in this module and raises ComposeEditError rather than returning a file
 * that says something else than intended.
 *
 * Image comments (upgrade step)
 * -----------------------------
 * The runbook keeps the old line as a comment right above the new one:
 *
 *     #image: gitlab/gitlab-ce:12.4.2-ce.0
 *     image: gitlab/gitlab-ce:12.6.8-ce.0
 *
 * Policy, so that repeated upgrades do not stack comment lines:
 *  - If the line directly above `image:` is not an `#image: ...` comment, the
 *    old line is copied there with a `#` (first upgrade).
 *  - If it already is one, it is kept as it is: it records the ORIGINAL tag
 *    (the one shipped by Collaborage, or written by someone following the
 *    runbook by hand). At most one such line exists per service.
 *  - If the new image equals the image in that comment (going back to the
 *    original), the comment line is removed, so upgrading and then reverting
 *    gives back the original text byte for byte.
 *
 * env_file (proxy step)
 * ---------------------
 *  - missing: `env_file: <file>` is inserted on its own line after
 *    `restart:` (else after `image:`, else after `container_name:`, else
 *    before the first key), as in the runbook's snippet;
 *  - a string equal to <file> (`./common.env` == `common.env`): no change;
 *  - another string: it becomes a block list `[old, <file>]`;
 *  - a list: <file> is appended when missing.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, isSeq, parseDocument, Document, Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";

export interface ComposeEdit {
  /** Upgrade step: set image tag, keeping the original line as `#image: old` right above it. */
  images?: { service: string; image: string }[];
  /** Proxy step: service gets env_file <file> (merged with an existing env_file). */
  envFile?: { service: string; file: string };
}

export interface ComposeResult {
  text: string;
  /** Services whose definition changed, sorted; recreate only these (`up -d <svc>`). */
  changedServices: string[];
}

export class ComposeEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComposeEditError";
  }
}

// Docker image reference: [registry[:port]/]path[:tag][@digest]. Strict enough
// to be a safe plain YAML scalar and to never contain spaces, quotes or '#'.
const IMAGE_RE = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?\/)?[A-Za-z0-9][A-Za-z0-9._\-/]*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@[A-Za-z0-9]+:[A-Fa-f0-9]{32,})?$/;
// env_file path: relative or absolute path without spaces or YAML specials.
const ENV_FILE_RE = /^[A-Za-z0-9._~/-][A-Za-z0-9._~/@+-]*$/;
const IMAGE_COMMENT_RE = /^([ \t]*)#[ \t]*image:[ \t]*(.*?)[ \t]*\r?$/;

interface Splice {
  start: number;
  end: number;
  text: string;
}

interface Parsed {
  doc: Document.Parsed;
  services: YAMLMap;
}

function parse(current: string): Parsed {
  if (typeof current !== "string") throw new ComposeEditError("docker-compose.yml: expected the file text as a string");
  let doc: Document.Parsed;
  try {
    doc = parseDocument(current, { merge: true, uniqueKeys: true, prettyErrors: true });
  } catch (e) {
    // First line only: the quoted lines after it may hold a proxy password from environment:.
    throw new ComposeEditError(`docker-compose.yml is not parseable YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc.errors.length > 0) {
    throw new ComposeEditError(
      `docker-compose.yml is not parseable YAML: ${doc.errors.map((e) => e.message.split("\n")[0]).join("; ")}`,
    );
  }
  if (!isMap(doc.contents)) throw new ComposeEditError("docker-compose.yml: the top level is not a mapping");
  const services = doc.contents.get("services", true);
  if (!isMap(services)) {
    throw new ComposeEditError(
      "docker-compose.yml has no 'services:' mapping (the legacy version-1 format without 'services:' is not supported)",
    );
  }
  return { doc, services };
}

function keyOf(p: Pair): string | undefined {
  const k = p.key;
  if (isScalar(k)) return String(k.value);
  return undefined;
}

function serviceNames(services: YAMLMap): string[] {
  return services.items.map((p) => keyOf(p as Pair)).filter((k): k is string => k !== undefined);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => keyOf(p as Pair) === key) as Pair | undefined;
}

function serviceMap(services: YAMLMap, service: string): YAMLMap {
  const pair = findPair(services, service);
  if (!pair) {
    throw new ComposeEditError(
      `docker-compose.yml has no service '${service}' (services: ${serviceNames(services).join(", ") || "none"})`,
    );
  }
  const v = pair.value;
  if (!isMap(v)) throw new ComposeEditError(`service '${service}' in docker-compose.yml is not a mapping`);
  if (v.flow) throw new ComposeEditError(`service '${service}' is written as a flow mapping ({...}); edit it by hand`);
  return v;
}

function lineStartOf(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/** Index just after the '\n' that ends the line containing pos, or -1 when that line is the last one without '\n'. */
function nextLineStart(text: string, pos: number): number {
  const nl = text.indexOf("\n", pos);
  return nl < 0 ? -1 : nl + 1;
}

function eolOf(text: string): string {
  const nl = text.indexOf("\n");
  return nl > 0 && text[nl - 1] === "\r" ? "\r\n" : "\n";
}

/** The whitespace before a block-map key, which must start its line. */
function keyIndent(text: string, key: Scalar, what: string): string {
  const start = key.range![0];
  const ls = lineStartOf(text, start);
  const indent = text.slice(ls, start);
  if (!/^[ ]*$/.test(indent)) throw new ComposeEditError(`${what}: key does not start its own line; edit it by hand`);
  return indent;
}

/** A splice that inserts a whole line after the line containing pos. */
function insertLineAfter(text: string, pos: number, line: string, eol: string): Splice {
  const at = nextLineStart(text, pos);
  if (at < 0) return { start: text.length, end: text.length, text: eol + line };
  return { start: at, end: at, text: line + eol };
}

function singleLineScalar(text: string, node: unknown, what: string): Scalar {
  if (!isScalar(node) || !node.range) throw new ComposeEditError(`${what} is not a scalar`);
  const src = text.slice(node.range[0], node.range[1]);
  if (
    src.includes("\n") ||
    !(node.type === "PLAIN" || node.type === "QUOTE_SINGLE" || node.type === "QUOTE_DOUBLE") ||
    node.anchor !== undefined ||
    node.tag !== undefined
  ) {
    throw new ComposeEditError(`${what} is not a simple one-line scalar; edit it by hand`);
  }
  return node;
}

function quoteLike(node: Scalar, value: string): string {
  if (node.type === "QUOTE_SINGLE") return `'${value}'`;
  if (node.type === "QUOTE_DOUBLE") return `"${value}"`;
  return value;
}

function unquote(s: string): string {
  if (s.length >= 2 && ((s[0] === "'" && s.endsWith("'")) || (s[0] === '"' && s.endsWith('"')))) return s.slice(1, -1);
  return s;
}

function normEnvPath(p: string): string {
  let s = p.trim().replace(/\/{2,}/g, "/");
  while (s.startsWith("./")) s = s.slice(2);
  return s;
}

function imageSplices(text: string, services: YAMLMap, service: string, image: string, eol: string): Splice[] {
  if (typeof image !== "string" || !IMAGE_RE.test(image)) {
    throw new ComposeEditError(`invalid image reference for service '${service}': ${JSON.stringify(image)}`);
  }
  const svc = serviceMap(services, service);
  const pair = findPair(svc, "image");
  if (!pair) throw new ComposeEditError(`service '${service}' has no 'image:' key (it may be built); not adding one`);
  const what = `image of service '${service}'`;
  const val = singleLineScalar(text, pair.value, what);
  if (typeof val.value !== "string") throw new ComposeEditError(`${what} is not a string`);
  if (val.value === image) return [];

  const key = pair.key as Scalar;
  const indent = keyIndent(text, key, what);
  const ls = lineStartOf(text, key.range![0]);
  const splices: Splice[] = [{ start: val.range![0], end: val.range![1], text: quoteLike(val, image) }];

  // The line directly above, if any.
  let prevComment: { start: number; end: number; image: string } | undefined;
  if (ls > 0) {
    const ps = lineStartOf(text, ls - 1);
    const m = IMAGE_COMMENT_RE.exec(text.slice(ps, ls - 1));
    if (m) prevComment = { start: ps, end: ls, image: unquote(m[2].replace(/[ \t]+#.*$/, "")) };
  }
  if (prevComment) {
    if (prevComment.image === image) splices.push({ start: prevComment.start, end: prevComment.end, text: "" });
  } else {
    const oldLine = text.slice(key.range![0], val.range![1]); // "image: old" as written
    splices.push({ start: ls, end: ls, text: `${indent}#${oldLine}${eol}` });
  }
  return splices;
}

function envFileSplices(text: string, services: YAMLMap, service: string, file: string, eol: string): Splice[] {
  if (typeof file !== "string" || !ENV_FILE_RE.test(file)) {
    throw new ComposeEditError(`invalid env_file path for service '${service}': ${JSON.stringify(file)}`);
  }
  const svc = serviceMap(services, service);
  const want = normEnvPath(file);
  const pair = findPair(svc, "env_file");
  const what = `env_file of service '${service}'`;

  if (!pair) {
    let anchor: Pair | undefined;
    for (const k of ["restart", "image", "container_name"]) {
      const p = findPair(svc, k);
      if (p && isScalar(p.value) && p.value.range && !text.slice((p.key as Scalar).range![0], p.value.range[1]).includes("\n")) {
        anchor = p;
        break;
      }
    }
    if (anchor) {
      const indent = keyIndent(text, anchor.key as Scalar, `service '${service}'`);
      return [insertLineAfter(text, (anchor.value as Scalar).range![1], `${indent}env_file: ${file}`, eol)];
    }
    const first = svc.items[0] as Pair | undefined;
    if (!first || !isScalar(first.key) || !first.key.range) {
      throw new ComposeEditError(`service '${service}' is empty; cannot place env_file`);
    }
    const indent = keyIndent(text, first.key, `service '${service}'`);
    const ls = lineStartOf(text, first.key.range[0]);
    return [{ start: ls, end: ls, text: `${indent}env_file: ${file}${eol}` }];
  }

  const v = pair.value;
  if (isScalar(v)) {
    const val = singleLineScalar(text, v, what);
    if (typeof val.value !== "string") throw new ComposeEditError(`${what} is not a string or a list`);
    if (normEnvPath(val.value) === want) return [];
    // string -> block list [old, new]; a trailing comment stays on the old item's line.
    const indent = keyIndent(text, pair.key as Scalar, what) + "  ";
    const oldSrc = text.slice(val.range![0], val.range![1]);
    const colon = text.indexOf(":", (pair.key as Scalar).range![1]);
    return [
      { start: colon + 1, end: val.range![1], text: `${eol}${indent}- ${oldSrc}` },
      insertLineAfter(text, val.range![1], `${indent}- ${file}`, eol),
    ];
  }
  if (isSeq(v)) {
    const seq = v as YAMLSeq;
    const paths = seq.items.map((it) => {
      if (isScalar(it)) return typeof it.value === "string" ? normEnvPath(it.value) : undefined;
      if (isMap(it)) {
        const p = it.get("path");
        return typeof p === "string" ? normEnvPath(p) : undefined;
      }
      return undefined;
    });
    if (paths.includes(want)) return [];
    if (seq.flow) {
      const end = seq.range![1];
      const close = text.lastIndexOf("]", end);
      if (close < seq.range![0]) throw new ComposeEditError(`${what}: cannot find the end of the flow list`);
      const sep = seq.items.length > 0 ? ", " : "";
      return [{ start: close, end: close, text: `${sep}${file}` }];
    }
    const last = seq.items[seq.items.length - 1];
    const lastNode = singleLineScalar(text, last, `last item of ${what}`);
    const ls = lineStartOf(text, lastNode.range![0]);
    const prefix = text.slice(ls, lastNode.range![0]);
    if (!/^[ ]*-[ ]+$/.test(prefix)) throw new ComposeEditError(`${what}: unusual list layout; edit it by hand`);
    return [insertLineAfter(text, lastNode.range![1], `${prefix}${file}`, eol)];
  }
  throw new ComposeEditError(`${what} is neither a string nor a list`);
}

function applySplices(text: string, splices: Splice[]): string {
  const sorted = [...splices].sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start < sorted[i - 1].end) throw new ComposeEditError("internal error: overlapping edits");
  }
  let out = "";
  let pos = 0;
  for (const s of sorted) {
    out += text.slice(pos, s.start) + s.text;
    pos = s.end;
  }
  return out + text.slice(pos);
}

type Json = Record<string, unknown>;

function expectedData(before: Json, edit: ComposeEdit): Json {
  const data = structuredClone(before) as { services: Record<string, Json> };
  for (const { service, image } of edit.images ?? []) data.services[service].image = image;
  if (edit.envFile) {
    const svc = data.services[edit.envFile.service];
    const cur = svc.env_file;
    const want = normEnvPath(edit.envFile.file);
    const has = (x: unknown): boolean =>
      (typeof x === "string" && normEnvPath(x) === want) ||
      (typeof x === "object" && x !== null && typeof (x as Json).path === "string" && normEnvPath((x as Json).path as string) === want);
    if (cur === undefined) svc.env_file = edit.envFile.file;
    else if (typeof cur === "string") {
      if (!has(cur)) svc.env_file = [cur, edit.envFile.file];
    } else if (Array.isArray(cur)) {
      if (!cur.some(has)) cur.push(edit.envFile.file);
    }
  }
  return data;
}

/** Apply the edit to the docker-compose.yml text. Pure; idempotent. */
export function editCompose(current: string, edit: ComposeEdit): ComposeResult {
  const { doc, services } = parse(current);
  const eol = eolOf(current);
  const splices: Splice[] = [];
  const changed = new Set<string>();
  const seen = new Set<string>();

  for (const { service, image } of edit.images ?? []) {
    if (seen.has(service)) throw new ComposeEditError(`service '${service}' is listed twice in images`);
    seen.add(service);
    const s = imageSplices(current, services, service, image, eol);
    if (s.length) changed.add(service);
    splices.push(...s);
  }
  if (edit.envFile) {
    const s = envFileSplices(current, services, edit.envFile.service, edit.envFile.file, eol);
    if (s.length) changed.add(edit.envFile.service);
    splices.push(...s);
  }
  if (splices.length === 0) return { text: current, changedServices: [] };

  const text = applySplices(current, splices);

  // Self-check: the new text must mean exactly "old data + intended change".
  let after: Parsed;
  try {
    after = parse(text);
  } catch (e) {
    throw new ComposeEditError(`internal error: the edited docker-compose.yml does not parse: ${(e as Error).message}`);
  }
  const want = expectedData(doc.toJS({ maxAliasCount: -1 }) as Json, edit);
  const got = after.doc.toJS({ maxAliasCount: -1 }) as Json;
  if (!isDeepStrictEqual(got, want)) {
    throw new ComposeEditError("internal error: the edited docker-compose.yml does not say what was intended; edit it by hand");
  }
  return { text, changedServices: Array.from(changed).sort() };
}

/** The image of a service as written (merge keys resolved), or undefined when it has none. */
export function imageOf(current: string, service: string): string | undefined {
  const { doc, services } = parse(current);
  if (!findPair(services, service)) {
    throw new ComposeEditError(
      `docker-compose.yml has no service '${service}' (services: ${serviceNames(services).join(", ") || "none"})`,
    );
  }
  const data = doc.toJS({ maxAliasCount: -1 }) as { services: Record<string, unknown> };
  const svc = data.services[service];
  if (typeof svc !== "object" || svc === null) return undefined;
  const img = (svc as Json).image;
  return typeof img === "string" ? img : undefined;
}

/** A service's data as written (merge keys resolved), or undefined when the file has no such service. */
export function serviceData(current: string, service: string): Record<string, unknown> | undefined {
  const { doc, services } = parse(current);
  if (!findPair(services, service)) return undefined;
  const data = doc.toJS({ maxAliasCount: -1 }) as { services: Record<string, unknown> };
  const svc = data.services[service];
  return typeof svc === "object" && svc !== null ? (svc as Record<string, unknown>) : {};
}

/** The host directory a service mounts at `target` (short "src:dst[:mode]" or long syntax), if a bind mount does. */
export function bindSource(service: Record<string, unknown>, target: string): string | undefined {
  const volumes = Array.isArray(service.volumes) ? service.volumes : [];
  for (const v of volumes) {
    if (typeof v === "string") {
      const [src, dst] = v.split(":");
      if (dst?.replace(/\/$/, "") === target && src?.startsWith("/")) return src.replace(/\/$/, "");
    } else if (v && typeof v === "object") {
      const { type, source, target: dst } = v as Record<string, unknown>;
      if ((type === undefined || type === "bind") && typeof source === "string" && source.startsWith("/") &&
        typeof dst === "string" && dst.replace(/\/$/, "") === target) return source.replace(/\/$/, "");
    }
  }
  return undefined;
}
