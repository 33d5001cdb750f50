// Checks shared by the scenario tests: the secret canaries, shellcheck on the program's scripts,
// listings of the state directory, compose recreates among the stand-in calls, and finding/killing a sandbox's processes from the host.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../../helpers/shellcheck";
import { CANARIES, type Executed, type ProgramCommand } from "../programRun";
import type { Proc, Sandbox } from "../sandbox";

// ---- state directory listings --------------------------------------------------------------------

export interface Entry {
  name: string;
  mode: number;
  owner: string;
  type: "f" | "d";
}

/** Files and dirs under `dir` (recursively, relative names), read as root over SSH. */
export async function listTree(sb: Sandbox, dir: string): Promise<Entry[]> {
  const r = await sb.exec(`sudo -n find '${dir}' -mindepth 1 -printf '%y %m %u %P\\n' 2>/dev/null || true`);
  return r.stdout.split("\n").filter(Boolean).map((l) => {
    const [type, mode, owner, ...name] = l.split(" ");
    return { type: type as "f" | "d", mode: parseInt(mode, 8), owner, name: name.join(" ") };
  }).sort((a, b) => a.name.localeCompare(b.name));
}

/** Names in a directory (not recursive), as root. */
export async function listDir(sb: Sandbox, dir: string): Promise<string[]> {
  return (await listTree(sb, dir)).filter((e) => !e.name.includes("/")).map((e) => e.name);
}

// ---- shellcheck ---------------------------------------------------------------------------------

const checked = new Set<string>();

/** `[# comments\n]…[sudo -n ]sh -c '<body>'` → body; undefined for a plain command. */
export function unwrapBody(script: string): string | undefined {
  const lines = script.split("\n");
  const first = lines.findIndex((l) => !l.startsWith("#"));
  const rest = lines.slice(first).join("\n");
  const m = /^(?:sudo -n )?sh -c '([\s\S]*)'$/.exec(rest);
  return m ? m[1].split(`'\\''`).join("'") : undefined;
}

/** Every create and delete string the program hands to remote.Command passes shellcheck -s sh. */
export function assertScriptsPassShellcheck(commands: ProgramCommand[]): number {
  let n = 0;
  for (const c of commands) {
    for (const [what, script] of [["create", c.create], ["delete", c.delete]] as const) {
      if (!script) continue;
      // The count is of clean scripts, checked now or by an earlier test of the same process.
      n++;
      if (checked.has(script)) continue;
      assertShellcheckClean(script, `${c.name} ${what}`, WRAPPED_EXCLUDES);
      const body = unwrapBody(script);
      if (body !== undefined) assertShellcheckClean(body, `${c.name} ${what} (body)`);
      checked.add(script);
    }
  }
  return n;
}

// ---- secret canaries ----------------------------------------------------------------------------

/** The test sandbox's backing dirs on the host and where they appear inside (see sandbox.ts). */
const BACKING: [string, string][] = [
  ["root", "/"],
  ["upper/etc", "/etc"],
  ["upper/var", "/var"],
  ["upper/usr-lib-systemd-system", "/usr/lib/systemd/system"],
  ["fs/etc-systemd-system", "/etc/systemd/system"],
  ["fs/etc-apt", "/etc/apt"],
];

function walk(hostDir: string, visit: (hostPath: string, rel: string) => void, rel = ""): void {
  let names: string[];
  try {
    names = fs.readdirSync(hostDir);
  } catch {
    return;
  }
  for (const n of names) {
    const hp = path.join(hostDir, n);
    const r = rel ? `${rel}/${n}` : n;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(hp);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(hp, visit, r);
    else if (st.isFile() && st.size < 8 * 1024 * 1024) visit(hp, r);
  }
}

const hasCanary = (text: string) => CANARIES.some((c) => text.includes(c));

/** Sandbox paths of files that hold a canary, with their mode and who else can read them. */
export function filesWithCanary(sb: Sandbox): { path: string; mode: string; owner: string; exposedTo: string[] }[] {
  const out: { path: string; mode: string; owner: string; exposedTo: string[] }[] = [];
  for (const [base, mount] of BACKING) {
    walk(path.join(sb.dir, base), (hp, rel) => {
      if (base === "root" && rel.startsWith(".sandbox/")) return; // control files, checked as logs
      if (!hasCanary(fs.readFileSync(hp, "latin1"))) return;
      const p = mount === "/" ? `/${rel}` : `${mount}/${rel}`;
      if (!sb.exists(p)) return; // hidden by an upper layer or gone
      const st = sb.stat(p);
      // Who besides the owner can reach it: every ancestor must be searchable for them.
      const ancestors: string[] = [];
      for (let d = path.posix.dirname(p); ; d = path.posix.dirname(d)) {
        ancestors.push(d);
        if (d === "/") break;
      }
      const others = (st.mode & 0o004) !== 0 && ancestors.every((d) => (sb.stat(d).mode & 0o001) !== 0);
      const group = (st.mode & 0o040) !== 0 && st.gid !== 0 && st.gid !== st.uid;
      out.push({ path: p, mode: (st.mode & 0o7777).toString(8).padStart(4, "0"), owner: st.owner, exposedTo: [...(others ? ["others"] : []), ...(group ? [`group ${st.gid}`] : [])] });
    });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

export interface CanaryEvidence {
  commands?: ProgramCommand[];
  executed?: Executed[];
  snapshots?: string[];
}

/** Every place a canary must not be, as a list of findings (empty = clean). */
export function canaryFindings(sb: Sandbox, ev: CanaryEvidence = {}): string[] {
  const found: string[] = [];
  for (const c of ev.commands ?? []) {
    if (hasCanary(c.create)) found.push(`${c.name}: create (the SSH command line)`);
    if (c.delete && hasCanary(c.delete)) found.push(`${c.name}: delete (the SSH command line)`);
  }
  for (const e of ev.executed ?? []) {
    // A read prints the file (its outputs are secret); anything else lands in state and logs.
    if (!e.name.endsWith("-read") && hasCanary(e.stdout + e.stderr)) found.push(`${e.name}: stdout/stderr`);
    if (e.snapshots.some(hasCanary)) found.push(`${e.name}: process list while it ran`);
  }
  if ((ev.snapshots ?? []).some(hasCanary)) found.push("process list snapshot");
  for (const line of sb.calls()) if (hasCanary(line)) found.push(`stand-in call log: ${line.slice(0, 80)}…`);
  if (hasCanary(sb.sshdLog())) found.push("sshd log");
  for (const f of filesWithCanary(sb)) {
    if (f.exposedTo.length) found.push(`${f.path} (${f.owner} ${f.mode}) holds a secret and is readable by ${f.exposedTo.join(", ")}`);
  }
  return found;
}

export function assertNoCanaryLeaks(sb: Sandbox, ev: CanaryEvidence = {}): void {
  const found = canaryFindings(sb, ev);
  assert.deepEqual(found, [], `secret canaries leaked:\n  ${found.join("\n  ")}`);
}

// ---- stand-in calls -----------------------------------------------------------------------------

/** The `up`s among the stand-in's calls, by compose v1 or v2 (a recreate of the services they name). */
export const composeUps = (calls: string[]) => calls.filter((c) => /^docker(-compose| compose) .*\bup\b/.test(c));

// ---- processes of a sandbox, seen from the host ---------------------------------------------------

export function descendants(procs: Proc[], pid: number): Proc[] {
  const kids = procs.filter((p) => p.ppid === pid);
  return kids.flatMap((k) => [k, ...descendants(procs, k.pid)]);
}

export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000, everyMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const kill = (pid: number, signal: NodeJS.Signals = "SIGKILL") => {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
};
