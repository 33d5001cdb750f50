/**
 * Independent oracle for the generated scripts: Debian's `shellcheck`, run as POSIX sh
 * (`shellcheck -s sh -`, script on stdin). A missing shellcheck fails the test: never skipped.
 *
 * SC2016 ("expressions don't expand in single quotes") is not excluded: shellcheck already knows
 * that `sh -c '…'`, `trap '…'` and `awk '…'` take code. Callers may exclude checks by name
 * (see WRAPPED_EXCLUDES) and must say why.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const DEBIAN_PACKAGE = "shellcheck";

export interface ShellcheckResult {
  ok: boolean;
  status: number | null;
  /** shellcheck's report (gcc format: "-:LINE:COL: level: message [SCxxxx]"). */
  output: string;
}

function notInstalled(detail: string): Error {
  return new Error(
    `shellcheck is not usable (${detail}): install Debian package ${DEBIAN_PACKAGE} ` +
      `(apt-get update && apt-get install -y ${DEBIAN_PACKAGE})`,
  );
}

/**
 * For `sudo -n sh -c '<body>'` only: a value with a single quote is quoted twice ('it'\''s' inside
 * the body becomes …'\'\'… in the wrapper), and SC1003 (a note: "want to escape a single
 * quote?") fires on the `'\'` piece. That quoting is exact (the tests unquote the wrapper and get
 * the body back, and run it); the body itself is checked without exclusions.
 */
export const WRAPPED_EXCLUDES = ["SC1003"] as const;

/**
 * shellcheck's verdicts of one `npm test` run, shared by its parallel test processes (a directory
 * test/setup.ts makes for the run): several test files check the same generated scripts, and
 * shellcheck's answer depends on nothing but its input and options.
 */
export const SHELLCHECK_CACHE_ENV = "GRA_SHELLCHECK_CACHE";

function cached(args: string[], script: string, run: () => ShellcheckResult): ShellcheckResult {
  const dir = process.env[SHELLCHECK_CACHE_ENV];
  if (!dir) return run();
  const file = path.join(dir, `${createHash("sha256").update(JSON.stringify(args)).update("\0").update(script).digest("hex")}.json`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as ShellcheckResult;
  } catch {
    const r = run();
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(r));
    fs.renameSync(tmp, file);
    return r;
  }
}

export function shellcheck(script: string, exclude: readonly string[] = []): ShellcheckResult {
  const args = ["-s", "sh", "-f", "gcc", ...(exclude.length ? ["-e", exclude.join(",")] : []), "-"];
  return cached(args, script, () => {
    const r = spawnSync("shellcheck", args, { input: script, encoding: "utf8" });
    if (r.error) throw notInstalled((r.error as NodeJS.ErrnoException).code ?? r.error.message);
    // 0 = clean, 1 = findings; anything else (2 = file error, 3 = bad options, 4 = ...) is ours.
    if (r.status !== 0 && r.status !== 1) throw notInstalled(`exit ${r.status}: ${r.stderr}`);
    return { ok: r.status === 0, status: r.status, output: r.stdout + r.stderr };
  });
}

/** Throws with shellcheck's report and a numbered listing when the script has findings. */
export function assertShellcheckClean(script: string, label: string, exclude: readonly string[] = []): void {
  const r = shellcheck(script, exclude);
  if (r.ok) return;
  const listing = script.split("\n").map((l, i) => `${String(i + 1).padStart(4)}  ${l}`).join("\n");
  throw new Error(`shellcheck found problems in ${label}:\n${r.output}\n--- script ---\n${listing}`);
}
