// `npm run plan -- --from-server`: the thin shell around the pure parts. One `ssh` session runs
// the read script (offline/serverRead.ts) with the host key checked (offline/sshCommand.ts);
// the files are redacted (offline/redact.ts) before the plan sees them; the last up's text is
// rebuilt by planning against the backups its writes kept, and kept only when it matches the
// sha256 marker on the server; offline/drift.ts classifies each managed value.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sha256Hex } from "../core/remote/readResult";
import { maskCredentialsInText } from "../core/proxy/proxyFiles";
import type { Settings } from "../settings/types";
import { guardedWrites, type GuardedWriteView } from "./planReport";
import type { OfflineRun } from "./runOffline";
import { parseServerRead, serverReadScript, type ReadFile, type ServerRead } from "./serverRead";
import { sshInvocation, sshTargetOf, type SshTarget } from "./sshCommand";
import { redactServerText, SecretVault } from "./redact";
import { classifyFile, driftFormatOf, type FileDrift } from "./drift";
import { FROM_SERVER_MESSAGES } from "./fromServerMessages";
import type { Lang } from "./messages";

export interface FromServerOptions {
  /** --ssh-key FILE; else the SSH agent (SSH_AUTH_SOCK). */
  sshKey?: string;
  env: NodeJS.ProcessEnv;
  /** The ssh client (tests: the same binary; never anything else). */
  sshBinary?: string;
  /** The language of the errors (default en). */
  lang?: Lang;
}

/** Where the plan was read from, for its title: user@host:port (via bastion). */
export const whereOf = (t: SshTarget) => `${t.user}@${t.host}:${t.port}${t.bastion ? ` via ${t.bastion.user}@${t.bastion.host}:${t.bastion.port}` : ""}`;

/** Why ssh failed, in words that say what to check; ssh's own message is kept (it holds no secret). */
function sshFailure(t: SshTarget, code: number | null, stderr: string, lang: Lang): Error {
  const m = FROM_SERVER_MESSAGES[lang];
  const said = maskCredentialsInText(stderr.trim());
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|host key .* differs|No (ED25519|ECDSA|RSA) host key is known/i.test(stderr)) {
    return new Error(m.wrongHostKey(`${t.host}:${t.port}`, `ciServer.hostKey${t.bastion ? " / ciServer.bastion.hostKey" : ""}`, said));
  }
  if (code === 255) return new Error(m.unreachable(whereOf(t), said));
  return new Error(m.readFailed(whereOf(t), code, said));
}

/** Runs the read over SSH; throws with what to check when the host key, login or read fails. */
export async function readServer(s: Settings, paths: readonly string[], o: FromServerOptions): Promise<ServerRead> {
  const lang = o.lang ?? "en";
  // A missing host key never gets here: validateSettings refuses it unless the stack opted out.
  const target = sshTargetOf(s);
  if (!o.sshKey && !o.env.SSH_AUTH_SOCK) throw new Error(FROM_SERVER_MESSAGES[lang].noLoginKey);
  if (o.sshKey && !fs.existsSync(o.sshKey)) throw new Error(FROM_SERVER_MESSAGES[lang].noKeyFile(o.sshKey));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-plan-ssh-"));
  try {
    const inv = sshInvocation(target, serverReadScript(paths), { dir, sshKey: o.sshKey });
    for (const [file, content] of Object.entries(inv.files)) fs.writeFileSync(file, content, { mode: 0o600 });
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(o.sshBinary ?? "ssh", inv.args, { maxBuffer: 64 * 1024 * 1024, timeout: 120_000, env: { ...o.env, LC_ALL: "C" } }, (err, out, errOut) =>
        resolve({ code: err ? (typeof (err as any).code === "number" ? (err as any).code : 255) : 0, stdout: String(out), stderr: String(errOut) }));
      child.stdin?.end();
    });
    if (code !== 0) throw sshFailure(target, code, stderr, lang);
    return parseServerRead(stdout, paths);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The content each path has after the run's writes (the last write of it wins). */
export function finalContents(run: OfflineRun): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of guardedWrites(run.engine.resources)) out.set(w.path, w.content);
  return out;
}

/** The plan's server files: redacted text, null when absent; a link or non-text file is refused. */
export function redactedFiles(read: ServerRead, vault: SecretVault): Record<string, string | null> {
  return Object.fromEntries(Object.entries(read.files).map(([p, f]) => [p, redactedOrNull(p, f, vault)]));
}

function redactedOrNull(p: string, f: ReadFile, vault: SecretVault): string | null {
  if (f.kind === "absent") return null;
  if (f.kind === "other") throw new Error(`${p} on the CI server is ${f.why}: the program does not edit such a file; replace it by a regular UTF-8 file`);
  return redactServerText(f.text, vault);
}

export interface LastUpBasis {
  /** Path → the file before the newest write of it (redacted; null = absent then); missing = unknown. */
  before: Record<string, string | null>;
  /** Path → the sha256 markers its writes left. */
  markers: Record<string, string[]>;
}

/** What the state dir says about each path the run writes: its writes' markers and the newest backup. */
export function lastUpBasis(read: ServerRead, writes: GuardedWriteView[], vault: SecretVault): LastUpBasis {
  const before: Record<string, string | null> = {};
  const markers: Record<string, string[]> = {};
  for (const p of new Set(writes.map((w) => w.path))) {
    const states = writes.filter((w) => w.path === p).map((w) => read.state[w.key]).filter((x) => x !== undefined);
    markers[p] = states.map((x) => x.written).filter((x): x is string => !!x);
    // Backups are named by UTC time (then -N): the greatest name is the newest write's.
    const backups = states.map((x) => x.backup).filter((b) => b !== undefined)
      .sort((a, b) => backupOrder(a!.name, b!.name));
    const newest = backups[backups.length - 1];
    if (newest && newest.file.kind === "text") before[p] = redactServerText(newest.file.text, vault);
    else if (!newest && states.some((x) => x.originalAbsent)) before[p] = null;
  }
  return { before, markers };
}

function backupOrder(a: string, b: string): number {
  const [ta, na = "0"] = a.split("-");
  const [tb, nb = "0"] = b.split("-");
  return ta < tb ? -1 : ta > tb ? 1 : Number(na) - Number(nb);
}

/** The report: each path the plan writes, classified. `rebuilt` is the plan of the backups (undefined when it failed). */
export function driftOf(read: ServerRead, files: Record<string, string | null>, plan: Map<string, string>, basis: LastUpBasis, rebuilt: Map<string, string> | undefined, vault: SecretVault): FileDrift[] {
  return [...plan.keys()].map((p) => {
    const f = read.files[p];
    const raw = f?.kind === "text" ? f.sha256 : undefined;
    const markers = basis.markers[p] ?? [];
    const marker = markers.length === 0 ? "none" as const : raw !== undefined && markers.includes(raw) ? "matches" as const : "differs" as const;
    // The rebuilt text counts only when its real bytes are what a write left (exact, else unused).
    const candidate = rebuilt?.get(p);
    const real = candidate === undefined ? undefined : vault.unredact(candidate);
    const lastUp = real !== undefined && markers.includes(sha256Hex(real)) ? candidate : undefined;
    return classifyFile({
      path: p,
      format: driftFormatOf(p),
      now: files[p] ?? null,
      desired: plan.get(p) ?? null,
      marker,
      ...(p in basis.before ? { before: basis.before[p] } : {}),
      ...(lastUp !== undefined ? { lastUp } : {}),
    });
  });
}

/**
 * The drift report's data for a plan `run` of the redacted server `files`: the last up's text is
 * rebuilt by `plan`ning the same stack against the backups its writes kept.
 */
export async function driftAgainst(read: ServerRead, vault: SecretVault, files: Record<string, string | null>, run: OfflineRun, plan: (files: Record<string, string | null>) => Promise<OfflineRun>): Promise<FileDrift[]> {
  const basis = lastUpBasis(read, guardedWrites(run.engine.resources), vault);
  let rebuilt: Map<string, string> | undefined;
  const shown = console.warn;
  console.warn = () => undefined; // the program's warnings were shown once, by the plan itself
  try {
    rebuilt = finalContents(await plan({ ...files, ...basis.before }));
  } catch {
    rebuilt = undefined; // the backups no longer plan (say, a downgrade): the last up's text stays unknown
  } finally {
    console.warn = shown;
  }
  return driftOf(read, files, finalContents(run), basis, rebuilt, vault);
}
