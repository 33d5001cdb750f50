/**
 * Pure edit of the CI server's common.env (runbook step
 * "GitLab Runnerのプロキシの設定": NO_PROXY / no_proxy for the runner).
 *
 * Rules:
 *  - A line defines KEY when it reads `KEY=...`, `export KEY=...` or the
 *    runbook's YAML-style `KEY: ...` (doc/autoscaling.md writes
 *    `NO_PROXY: 192.0.0.0/16`, which is not env-file syntax). The first such
 *    line is replaced by `KEY=VALUE`; a line that already reads exactly
 *    `KEY=VALUE` is left byte-identical.
 *  - Later lines defining the same KEY are REMOVED. Every env_file reader
 *    (docker-compose v1, compose v2, `docker run --env-file`) lets the last
 *    definition win, so keeping a later stale line would silently override
 *    the managed value; the key keeps the position of its first definition.
 *  - Keys not present are appended, in the order given, each as a complete
 *    line. If the file has no final newline (Collaborage ships common.env
 *    without one) a line break is added first, so nothing glues onto
 *    `TZ=Asia/Tokyo`. A file that is only edited in place keeps its
 *    final-newline state.
 *  - The file's line ending is kept: a CRLF file gets CRLF lines.
 *  - Comments, blank lines and all other lines are untouched.
 *  - Keys must be shell-style names. Values must be one line and must not
 *    contain characters that the different env-file parsers read
 *    differently (quotes, `#`, `$`, `\`, leading/trailing blanks); such a
 *    value is rejected rather than written ambiguously.
 *  - Idempotent: setEnvVars(setEnvVars(x, v), v) === setEnvVars(x, v).
 */

export class CommonEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommonEnvError";
  }
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEF_RE = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*[=:]/;

function checkVar(key: string, value: string): void {
  if (!KEY_RE.test(key)) throw new CommonEnvError(`invalid env key ${JSON.stringify(key)}`);
  if (typeof value !== "string") throw new CommonEnvError(`value of ${key} must be a string`);
  if (/[\r\n\0]/.test(value)) throw new CommonEnvError(`value of ${key} must be a single line (it contains a line break)`);
  if (/["'`#$\\]/.test(value)) {
    throw new CommonEnvError(`value of ${key} contains a quote, '#', '$' or '\\', which env-file parsers read differently`);
  }
  if (value !== value.trim()) throw new CommonEnvError(`value of ${key} has leading or trailing blanks`);
}

/** Set (or replace) KEY=VALUE lines in an env file's text. Pure; idempotent. */
export function setEnvVars(current: string, vars: Record<string, string>): string {
  if (typeof current !== "string") throw new CommonEnvError("common.env: expected the file text as a string");
  const entries = Object.entries(vars);
  for (const [k, v] of entries) checkVar(k, v);
  if (entries.length === 0) return current;

  const nl = current.indexOf("\n");
  const eol = nl > 0 && current[nl - 1] === "\r" ? "\r\n" : "\n";

  // Split into lines; a trailing "" element means the file ends with "\n".
  const parts = current.split("\n");
  const endsWithNewline = current.length > 0 && current.endsWith("\n");
  const lines = endsWithNewline ? parts.slice(0, -1) : current.length === 0 ? [] : parts;

  const wanted = new Map(entries);
  const done = new Set<string>();
  const out: string[] = [];
  for (const raw of lines) {
    const cr = raw.endsWith("\r") ? "\r" : "";
    const body = cr ? raw.slice(0, -1) : raw;
    const m = DEF_RE.exec(body);
    const key = m?.[1];
    if (key === undefined || !wanted.has(key)) {
      out.push(raw);
      continue;
    }
    if (done.has(key)) continue; // later duplicate: drop (it would override the managed value)
    done.add(key);
    const line = `${key}=${wanted.get(key)}`;
    out.push(body === line ? raw : line + cr);
  }

  const missing = entries.filter(([k]) => !done.has(k)).map(([k, v]) => `${k}=${v}`);
  let text = out.join("\n");
  if (missing.length === 0) return endsWithNewline ? text + "\n" : text;
  if (text.length > 0) {
    if (endsWithNewline) text += "\n";
    else text += eol === "\r\n" && !text.endsWith("\r") ? "\r\n" : "\n";
  }
  return text + missing.map((l) => l + eol).join("");
}
