// Shell scripts for remote.Command. Pure: settings in, script text out. Each script is POSIX sh
// (dash on Ubuntu, bash as sh on CentOS 7). Values are interpolated only through core/remote/shell.ts;
// secret content arrives on stdin and is never echoed (the read script is the one exception: it
// prints the file, and its command is expected to run with logging off and secret outputs).
import * as posixPath from "node:path/posix";
import {
  asRoot, asUser, checkMode, shComment, shHeader, shLines, shPath, shPreamble, shUserPath,
  type ScriptOptions,
} from "./shell";
import { shSections } from "./shFiles";
import { sha256Hex } from "./readResult";
import { checkCompose, type ComposeCommand, type ComposeContext } from "./composeContext";
import { afterScript, checkAfter, restoreAfterScript, type AfterAction } from "./afterActions";
import { windowParams } from "./snapshotWindow";

export type { ScriptOptions } from "./shell";
export type { AfterAction, GracefulStop, HealthWait } from "./afterActions";

/** Backups and markers, one directory per guarded file: STATE_DIR/<key>/. */
export const STATE_DIR = "/var/lib/gitlab-runner-autoscaling";

export type { ComposeCommand, ComposeContext } from "./composeContext";

export interface GuardedWrite {
  /** Names STATE_DIR/<key>/ ([a-z0-9-]); one key per target file. */
  readonly key: string;
  /** Absolute target path. */
  readonly path: string;
  /** Mode if the file does not exist yet (default 0600); existing files keep owner, group and mode. */
  readonly newFileMode?: string;
  /** Validate the new content with `<compose> -f <tmp> --project-directory <appDir> config -q`. */
  readonly validate?: { readonly compose: ComposeContext };
  readonly after?: AfterAction;
  /** Managed values (secrets masked by the caller), shown as comments so preview diffs show them. */
  readonly summary: string[];
  /** What to tell the user when the file changed since it was read (default: refresh and up). */
  readonly rereadHint?: string;
  /** Timestamped backups kept besides the original (default KEEP_BACKUPS); also the bound on before-restore copies. */
  readonly keepBackups?: number;
}

export const KEEP_BACKUPS = 5;

// Exit codes, so callers and tests can tell failures apart.
export const EXIT = {
  usage: 2,
  changedSinceRead: 3,
  invalid: 4,
  afterActionFailed: 5,
  noCompose: 6,
  changedSinceWritten: 7,
  noProxyInDocker: 8,
  /** A recreate or an upgrade would run into Collaborage's snapshot window (lib/snapshot_window.sh). */
  snapshotWindow: 9,
  /** An upgrade gate's bound ran out with background migrations (or GitLab's health) still pending. */
  migrationsPending: 10,
  /** The upgrade's preflight found problems (window, disk); all are listed. */
  preflight: 11,
  backupFailed: 12,
  /** A batched background migration failed: the upgrade stops at once. */
  migrationsFailed: 13,
} as const;

const DEFAULT_REREAD_HINT =
  "Run \"pulumi refresh\" and then \"pulumi up\" again so that the file is read again and merged anew.";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * The stdin of a guarded write: a line with the state the merge was based on and the sha256 of
 * the new content, then the exact new bytes. The hash tells a complete stdin from one cut short by
 * a dropped connection, which ends in an ordinary EOF. `reverse` (core/remote/reverseEdit.ts's
 * formatReverse, how to undo this edit) goes base64 as a third field of that line: the content
 * still starts after the first newline, and a line cut short has no newline and is refused.
 */
export function guardedWriteStdin(expected: string, content: string, reverse?: string): string {
  if (expected !== "absent" && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new Error(`expected state must be "absent" or a sha256 hex: ${JSON.stringify(expected)}`);
  }
  const rev = reverse ? ` ${Buffer.from(reverse, "utf8").toString("base64")}` : "";
  return `${expected} ${sha256Hex(content)}${rev}\n${content}`;
}

export function checkKey(key: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(key)) throw new Error(`key must match [a-z0-9][a-z0-9-]*: ${JSON.stringify(key)}`);
  return key;
}

function composeCommandOf(w: GuardedWrite): ComposeCommand | undefined {
  const v = w.validate?.compose.command;
  const a = w.after?.kind === "compose-up" ? w.after.compose.command
    : w.after?.kind === "runner-reload" ? w.after.restartLeavingAutoscaler?.compose.command : undefined;
  if (v && a && v !== a) throw new Error(`${w.key}: validate and after must use the same compose command (${v} vs ${a})`);
  return v ?? a;
}

function checkWrite(w: GuardedWrite): void {
  checkKey(w.key);
  shPath(w.path, "path");
  if (w.path.endsWith("/")) throw new Error(`path must name a file: ${JSON.stringify(w.path)}`);
  if (w.newFileMode !== undefined) checkMode(w.newFileMode, "newFileMode");
  if (w.validate) checkCompose(w.validate.compose, "validate.compose");
  if (w.after) checkAfter(w.after);
  w.summary.forEach((s) => shComment(s));
  if (w.keepBackups !== undefined && (!Number.isInteger(w.keepBackups) || w.keepBackups < 1)) {
    throw new Error(`keepBackups must be a whole number >= 1, got ${w.keepBackups}`);
  }
}

// ---- read --------------------------------------------------------------------------------------

export function readFileBody(path: string): string {
  shPath(path);
  return shLines(["set -eu"], shPreamble({ target: path }), shSections("lib/die.sh", "lib/no_link.sh", "read-file.sh"));
}

/** Prints one line: "v1 absent" or "v1 <sha256> <base64>" (see core/remote/readResult.ts). */
export function readFileScript(path: string, opts: ScriptOptions = {}): string {
  return asRoot(readFileBody(path), opts);
}

// ---- guarded write -----------------------------------------------------------------------------

/** The guarded write's body: its parameters as a preamble, the shared functions, the after-action, core/remote/sh/guarded-write.sh. */
export function guardedWriteBody(w: GuardedWrite, opts: ScriptOptions = {}): string {
  checkWrite(w);
  const stateDir = opts.stateDir ?? STATE_DIR;
  shPath(stateDir, "stateDir");
  const after = w.after && afterScript(w.after);
  // Only a write with a window carries its values and lib/snapshot_window.sh: the others stay as they were.
  const window = w.after?.kind === "compose-up" ? w.after.window : undefined;
  return shLines(
    ["set -eu"],
    shPreamble({
      target: w.path,
      dir: posixPath.dirname(w.path),
      root: stateDir,
      sd: posixPath.join(stateDir, w.key),
      hint: w.rereadHint ?? DEFAULT_REREAD_HINT,
      new_mode: checkMode(w.newFileMode ?? "0600"),
      keep: w.keepBackups ?? KEEP_BACKUPS,
      compose_cmd: composeCommandOf(w) ?? "",
      validate_dir: w.validate?.compose.appDir ?? "",
      has_after: w.after ? 1 : 0,
    }),
    after ? shPreamble(after.params) : [],
    window ? shPreamble(windowParams(window)) : [],
    shSections("lib/die.sh", "lib/state_of.sh", "lib/put.sh", "lib/keep_reverse.sh", "lib/stamp.sh", "lib/prune.sh", "lib/no_link.sh", "lib/compose_select.sh", "lib/signal_traps.sh", "lib/tmp_in_dir.sh"),
    window ? shSections("lib/snapshot_window.sh") : [],
    shSections(...(after?.files ?? [])),
    shSections("guarded-write.sh"),
  );
}

/**
 * Compare-and-swap write. Stdin: guardedWriteStdin(expected, content). Exit codes: EXIT.
 * Prints "unchanged: <path>" when the file already has the content (no backup, no after-action).
 */
export function guardedWriteScript(w: GuardedWrite, opts: ScriptOptions = {}): string {
  const body = guardedWriteBody(w, opts);
  return shHeader(`gitlab-runner-autoscaling: guarded write of ${w.path} (state ${w.key})`, w.summary) + asRoot(body, opts);
}

// ---- restore (the delete of a guarded write) ---------------------------------------------------

/** The restore's body: its parameters as a preamble, the shared functions, the after-action, core/remote/sh/restore.sh. */
export function restoreBody(w: GuardedWrite, opts: ScriptOptions = {}): string {
  checkWrite(w);
  const stateDir = opts.stateDir ?? STATE_DIR;
  shPath(stateDir, "stateDir");
  const after = w.after && restoreAfterScript(w.after);
  return shLines(
    ["set -eu"],
    shPreamble({
      target: w.path,
      dir: posixPath.dirname(w.path),
      sd: posixPath.join(stateDir, w.key),
      keep: w.keepBackups ?? KEEP_BACKUPS,
      compose_cmd: composeCommandOf(w) ?? "",
      has_after: w.after ? 1 : 0,
      empty_sha256: EMPTY_SHA256,
    }),
    after ? shPreamble(after.params) : [],
    shSections("lib/die.sh", "lib/state_of.sh", "lib/stamp.sh", "lib/prune.sh", "lib/reverse_chain.sh", "lib/signal_traps.sh", "lib/tmp_in_dir.sh"),
    shSections(...(after?.files ?? [])),
    shSections("restore.sh"),
  );
}

/**
 * The delete of a guarded write: puts back the content from before the first write (or removes
 * the file if there was none), runs the after-action, keeps the timestamped backups.
 */
export function restoreScript(w: GuardedWrite, opts: ScriptOptions = {}): string {
  return shHeader(`gitlab-runner-autoscaling: restore ${w.path} (state ${w.key})`, []) + asRoot(restoreBody(w, opts), opts);
}

// ---- the AMI builder's steps (core/remote/sh/ami/) ----------------------------------------------

export function installFileBody(f: { path: string; mode: string }): string {
  shPath(f.path);
  return shLines(
    ["set -eu"],
    shPreamble({ target: f.path, dir: posixPath.dirname(f.path), mode: checkMode(f.mode) }),
    shSections("lib/die.sh", "lib/state_of.sh", "lib/no_link.sh", "lib/signal_traps.sh", "lib/tmp_in_dir.sh", "ami/install-file.sh"),
  );
}

/** Installs stdin at path (root:root, mode), atomically; for fresh hosts, so no backups. */
export function installFileScript(f: { path: string; mode: string }, opts: ScriptOptions = {}): string {
  return asRoot(installFileBody(f), opts);
}

/** `private`: the block holds a secret (proxy credentials), so the file loses group/other access. */
export function appendBlockBody(f: { path: string; marker: string; private?: boolean }): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._:/@-]*$/.test(f.marker)) {
    throw new Error(`marker must be plain text ([A-Za-z0-9 ._:/@-]): ${JSON.stringify(f.marker)}`);
  }
  shUserPath(f.path); // "~/x" or absolute; the file resolves "~/" to $HOME
  return shLines(
    ["set -eu"],
    shPreamble({ path: f.path, marker: f.marker, private: f.private ? 1 : 0 }),
    shSections("lib/die.sh", "lib/state_of.sh", "lib/no_link.sh", "lib/signal_traps.sh", "ami/append-block.sh"),
  );
}

/**
 * Puts stdin between "# BEGIN <marker>" and "# END <marker>" in a file of the remote user
 * (replacing an existing block, else appending). Runs without sudo. "~/x" means $HOME/x.
 */
export function appendBlockScript(f: { path: string; marker: string; private?: boolean }): string {
  return asUser(appendBlockBody(f));
}

export function dockerInstallBody(opts: { proxyEnvFromStdin: boolean }): string {
  return shLines(
    ["set -eu"],
    shSections("lib/die.sh", "lib/signal_traps.sh", ...(opts.proxyEnvFromStdin ? ["ami/proxy-env.sh"] : []), "ami/docker-install.sh"),
  );
}

/** Installs Docker CE from Docker's apt repository (the runbook's steps); a no-op when present. */
export function dockerInstallScript(opts: { proxyEnvFromStdin: boolean }, sopts: ScriptOptions = {}): string {
  return asRoot(dockerInstallBody(opts), sopts);
}

export function dockerProxyCheckBody(expectProxy: boolean): string {
  return shLines(["set -eu"], shPreamble({ expect_proxy: expectProxy ? 1 : 0 }), shSections("lib/die.sh", "ami/docker-proxy-check.sh"));
}

/** Reloads systemd, restarts dockerd and checks that it sees the proxy (exit 8 if not). */
export function dockerProxyCheckScript(expectProxy: boolean, opts: ScriptOptions = {}): string {
  return asRoot(dockerProxyCheckBody(expectProxy), opts);
}

export function waitForSshBody(): string {
  return shLines(["set -eu"], shSections("ami/wait-ssh.sh"));
}

/** First command on a fresh host, to be retried until sshd answers. */
export function waitForSshScript(): string {
  return asUser(waitForSshBody());
}
