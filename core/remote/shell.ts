// Quoting helpers for the remote scripts. Every value that goes into a script passes through one of
// these, so a path, service name or comment can never become code on the server.

/** Options that tests use to run the scripts on a sandbox; production uses the defaults. */
export interface ScriptOptions {
  /** Where backups and markers live (default STATE_DIR). */
  readonly stateDir?: string;
  /** Run the body through `sudo -n` (default true). false = plain `sh -c`, for tests. */
  readonly sudo?: boolean;
}

/**
 * Single-quotes a one-line value for POSIX sh. Newlines, carriage returns and NUL are refused:
 * no value this program interpolates (paths, service names, modes) legitimately contains one,
 * and a newline in a value is the usual way a quoted value is smuggled into a comment or log.
 */
export function shQuote(value: string, what = "value"): string {
  if (/[\n\r\0]/.test(value)) {
    throw new Error(`${what} must be one line without NUL: ${JSON.stringify(value)}`);
  }
  return quote(value);
}

/** Single-quotes a multi-line script body (used only to hand a body to `sh -c`). */
export function shQuoteScript(body: string): string {
  if (body.includes("\0")) throw new Error("script body contains NUL");
  return quote(body);
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A `# ` comment line; the text must be one line, else it would end the comment. */
export function shComment(text: string): string {
  if (/[\n\r\0]/.test(text)) {
    throw new Error(`comment line must be one line: ${JSON.stringify(text)}`);
  }
  return text === "" ? "#" : `# ${text}`;
}

/** An absolute path, quoted. Relative paths are refused: the remote working directory is not ours. */
export function shPath(path: string, what = "path"): string {
  if (!path.startsWith("/")) throw new Error(`${what} must be absolute: ${JSON.stringify(path)}`);
  return shQuote(path, what);
}

/** An absolute path checked as shPath checks it, unquoted: for shPreamble, which quotes it. */
export function shPathValue(path: string, what = "path"): string {
  shPath(path, what);
  return path;
}

/**
 * A path in the remote user's home as `"$HOME"/'rest'` (a quoted `~` would not expand),
 * or an absolute path.
 */
export function shUserPath(path: string, what = "path"): string {
  if (path.startsWith("~/")) {
    const rest = path.slice(2);
    if (rest === "") throw new Error(`${what} names the home directory itself, not a file`);
    return `"$HOME"/${shQuote(rest, what)}`;
  }
  return shPath(path, what);
}

/** A file mode such as 0644 or 600; returned normalised to 4 digits. */
export function checkMode(mode: string, what = "mode"): string {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new Error(`${what} must be octal like 0644: ${JSON.stringify(mode)}`);
  return mode.padStart(4, "0");
}

/** Docker compose service or container names; also keeps them from looking like options. */
export function checkName(name: string, what = "name"): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`${what} must match [A-Za-z0-9][A-Za-z0-9_.-]*: ${JSON.stringify(name)}`);
  }
  return name;
}

/** A positive whole number of seconds. */
export function checkSeconds(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number >= 1, got ${n}`);
  return n;
}

/** Runs a body as root: `sudo -n` never prompts (no TTY over remote.Command); stdin passes through. */
export function asRoot(body: string, opts: ScriptOptions = {}): string {
  return `${opts.sudo === false ? "" : "sudo -n "}sh -c ${shQuoteScript(body)}`;
}

/** Runs a body under POSIX sh as the remote user, whatever their login shell is. */
export function asUser(body: string): string {
  return `sh -c ${shQuoteScript(body)}`;
}

/** A script's text: the lines of its parts, each ending in a newline; false, undefined or null (a part left out) is dropped. */
export const shLines = (...parts: (string | false | undefined | null)[][]): string =>
  parts.flat().filter((l): l is string => typeof l === "string").join("\n") + "\n";

/** The `# ` lines a script starts with: its title, then the managed values (scriptHeader reads them back). */
export function shHeader(title: string, summary: readonly string[]): string {
  return [title, ...summary].map(shComment).join("\n") + "\n";
}

/** The `# ` lines a script starts with (its title, then the managed values), without the marker. */
export function scriptHeader(script: string): string[] {
  const out: string[] = [];
  for (const line of script.split("\n")) {
    if (!line.startsWith("#")) break;
    out.push(line.replace(/^# ?/, ""));
  }
  return out;
}

/**
 * The body a script carries after its header, when asRoot/asUser made it: the inverse of their
 * quoting. undefined for a plain command.
 */
export function scriptBody(script: string): string | undefined {
  const rest = script.split("\n").slice(scriptHeader(script).length).join("\n");
  const m = /^(?:sudo -n )?sh -c '([\s\S]*)'$/.exec(rest);
  if (!m) return undefined;
  const pieces = m[1].split(`'\\''`);
  if (pieces.some((p) => p.includes("'"))) throw new Error(`unescaped quote in a wrapped script: ${rest.slice(0, 80)}`);
  return pieces.join("'");
}

/**
 * The preamble that hands a script file its parameters: one `name='value'` line each, every value
 * quoted here. A script file reads its parameters only from these variables (or from stdin).
 */
export function shPreamble(vars: Readonly<Record<string, string | number>>): string[] {
  return Object.entries(vars).flatMap(([name, value]) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`preamble variable must match [a-z_][a-z0-9_]*: ${JSON.stringify(name)}`);
    if (typeof value === "number") {
      if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number >= 0, got ${value}`);
      return [`${name}=${value}`];
    }
    // Literal text: a backtick or $ in it is not meant to run, a leading ~ not meant to expand
    // (shellcheck would suspect either).
    const literal = [...(/[`$]/.test(value) ? ["SC2016"] : []), ...(value.startsWith("~") ? ["SC2088"] : [])];
    return [...(literal.length ? [`# shellcheck disable=${literal.join(",")}`] : []), `${name}=${shQuote(value, name)}`];
  });
}
