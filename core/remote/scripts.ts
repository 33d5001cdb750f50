// Shell scripts for remote.Command. Pure: settings in, script text out. Each script is POSIX sh
// (dash on Ubuntu, bash as sh on CentOS 7). Values are interpolated only through core/remote/shell.ts;
// secret content arrives on stdin and is never echoed (the read script is the one exception: it
// prints the file, and its command is expected to run with logging off and secret outputs).
import * as posixPath from "node:path/posix";
import { createHash } from "node:crypto";
import { pruneFn, reverseChainFn, stampFn } from "./reverseApply";
import {
  asRoot, asUser, checkMode, shComment, shPath, shQuote, shQuoteScript, shUserPath,
  type ScriptOptions,
} from "./shell";
import type { ComposeCommand, ComposeContext } from "./composeContext";
import { afterFns, checkAfter, restoreAfterLines, type AfterAction } from "./afterActions";

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
  return `${expected} ${createHash("sha256").update(content, "utf8").digest("hex")}${rev}\n${content}`;
}

export function checkKey(key: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(key)) throw new Error(`key must match [a-z0-9][a-z0-9-]*: ${JSON.stringify(key)}`);
  return key;
}

const lines = (...ls: (string | false | undefined | null)[][]) =>
  ls.flat().filter((l): l is string => typeof l === "string").join("\n") + "\n";

// ---- shared shell fragments -------------------------------------------------------------------

const DIE = [`die() { code=$1; shift; printf "%s\\n" "$*" >&2; exit "$code"; }`];

// sha256 of a file, or "absent". Explicit `|| return`: errexit is off inside `$(...)` on bash 4.2.
const STATE_OF = [
  "state_of() {",
  "  if [ -e \"$1\" ]; then",
  "    sum=$(sha256sum < \"$1\") || return 1",
  "    printf \"%s\\n\" \"${sum%% *}\"",
  "  else",
  "    echo absent",
  "  fi",
  "}",
];

// Small marker files, replaced atomically.
const PUT = [`put() { printf "%s\\n" "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }`];

// Moves a write's reverse edit (decoded from stdin) into place as the next link of the chain that
// restore applies, newest first; `added` names it, for the rollback after a failed after-action.
const keepReverse = (rollback: boolean) => [
  rollback && "added=",
  "keep_reverse() {",
  "  i=1",
  "  while [ -e \"$sd/reverse-$i\" ]; do i=$((i + 1)); done",
  "  mv -f \"$sd/reverse.tmp\" \"$sd/reverse-$i\"",
  rollback && "  added=\"$sd/reverse-$i\"",
  "}",
];

// sudo's secure_path may lack /usr/local/bin, where docker-compose v1 lives on CentOS 7 hosts.
const LOCAL_PATH = ["PATH=\"$PATH:/usr/local/sbin:/usr/local/bin\"", "export PATH"];

// A temp file in the target's directory, so that `mv` is an atomic rename. The traps come first:
// the EXIT trap removes it, the signal traps turn a kill into an exit so that the EXIT trap runs.
// PIPE too: a message to a dropped connection must not kill the script before its EXIT cleanup.
const SIGNAL_TRAPS = ["trap 'exit 129' HUP", "trap 'exit 130' INT", "trap 'exit 141' PIPE", "trap 'exit 143' TERM"];
const TMP_IN_DIR = [
  "tmp=",
  "trap 'rm -f \"$tmp\"' EXIT",
  ...SIGNAL_TRAPS,
  "tmp=$(mktemp \"$dir/.gra-tmp.XXXXXX\")",
];

function noLink(): string[] {
  return [
    "[ ! -L \"$target\" ] || die 2 \"$target is a symbolic link; replace it by the file it points to (a rename would replace the link).\"",
    "[ ! -e \"$target\" ] || [ -f \"$target\" ] || die 2 \"$target is not a regular file.\"",
  ];
}

function composeFn(command: ComposeCommand): string[] {
  const missing = (what: string) =>
    `die 6 ${shQuote(`${what}; install the compose plugin or docker-compose, or set the compose command in the stack config.`)}`;
  if (command === "docker compose") {
    return [
      `docker compose version >/dev/null 2>&1 || ${missing("\"docker compose\" does not work on this server")}`,
      "compose() { docker compose \"$@\"; }",
    ];
  }
  if (command === "docker-compose") {
    return [
      `command -v docker-compose >/dev/null 2>&1 || ${missing("docker-compose is not on PATH on this server")}`,
      "compose() { docker-compose \"$@\"; }",
    ];
  }
  return [
    "if docker compose version >/dev/null 2>&1; then",
    "  compose() { docker compose \"$@\"; }",
    "elif command -v docker-compose >/dev/null 2>&1; then",
    "  compose() { docker-compose \"$@\"; }",
    "else",
    `  ${missing("neither \"docker compose\" nor docker-compose works on this server")}`,
    "fi",
  ];
}

function composeCommandOf(w: GuardedWrite): ComposeCommand | undefined {
  const v = w.validate?.compose.command;
  const a = w.after?.kind === "compose-up" ? w.after.compose.command
    : w.after?.kind === "runner-reload" ? w.after.restartLeavingAutoscaler?.compose.command : undefined;
  if (v && a && v !== a) throw new Error(`${w.key}: validate and after must use the same compose command (${v} vs ${a})`);
  return v ?? a;
}

function checkCompose(c: ComposeContext, what: string): void {
  shPath(c.appDir, `${what}.appDir`);
  if (!["auto", "docker compose", "docker-compose"].includes(c.command)) {
    throw new Error(`${what}.command must be auto, "docker compose" or docker-compose: ${JSON.stringify(c.command)}`);
  }
}

function checkWrite(w: GuardedWrite): void {
  checkKey(w.key);
  shPath(w.path, "path");
  if (w.path.endsWith("/")) throw new Error(`path must name a file: ${JSON.stringify(w.path)}`);
  if (w.newFileMode !== undefined) checkMode(w.newFileMode, "newFileMode");
  if (w.validate) checkCompose(w.validate.compose, "validate.compose");
  if (w.after) checkAfter(w.after, checkCompose);
  w.summary.forEach((s) => shComment(s));
  if (w.keepBackups !== undefined && (!Number.isInteger(w.keepBackups) || w.keepBackups < 1)) {
    throw new Error(`keepBackups must be a whole number >= 1, got ${w.keepBackups}`);
  }
}

function header(title: string, summary: readonly string[]): string {
  return [title, ...summary].map(shComment).join("\n") + "\n";
}

// ---- read --------------------------------------------------------------------------------------

export function readFileBody(path: string): string {
  return lines(
    ["set -eu", `target=${shPath(path)}`],
    DIE,
    noLink(),
    [
      "if [ -e \"$target\" ]; then",
      // One read of the file: the hash is taken from the same bytes that are printed.
      "  b64=$(base64 -w 0 < \"$target\")",
      "  sum=$(printf \"%s\" \"$b64\" | base64 -d | sha256sum)",
      "  printf \"v1 %s %s\\n\" \"${sum%% *}\" \"$b64\"",
      "else",
      "  echo \"v1 absent\"",
      "fi",
    ],
  );
}

/** Prints one line: "v1 absent" or "v1 <sha256> <base64>" (see core/remote/readResult.ts). */
export function readFileScript(path: string, opts: ScriptOptions = {}): string {
  return asRoot(readFileBody(path), opts);
}

// ---- guarded write -----------------------------------------------------------------------------

export function guardedWriteBody(w: GuardedWrite, opts: ScriptOptions = {}): string {
  checkWrite(w);
  const composeCmd = composeCommandOf(w);
  const dir = posixPath.dirname(w.path);
  const mode = checkMode(w.newFileMode ?? "0600");
  const hint = w.rereadHint ?? DEFAULT_REREAD_HINT;
  const stateDir = opts.stateDir ?? STATE_DIR;
  const keep = w.keepBackups ?? KEEP_BACKUPS;
  const v = w.validate?.compose;
  return lines(
    ["set -eu"],
    composeCmd ? LOCAL_PATH : [],
    [
      `target=${shPath(w.path)}`,
      `dir=${shPath(dir)}`,
      `root=${shPath(stateDir, "stateDir")}`,
      `sd=${shPath(posixPath.join(stateDir, w.key), "stateDir")}`,
    ],
    DIE, STATE_OF, PUT, keepReverse(!!w.after), stampFn(), pruneFn(),
    [
      // The hint is literal text for the user; backticks in it are not meant to run.
      "# shellcheck disable=SC2016",
      `hint=${shQuote(hint, "rereadHint")}`,
    ],
    noLink(),
    [
      "IFS=' ' read -r expected newsum rev || die 2 'stdin must start with a line: the state that was read (absent or its sha256) and the sha256 of the new content.'",
      "case $expected in",
      "  absent) ;;",
      "  *) printf \"%s\\n\" \"$expected\" | grep -Eqx \"[0-9a-f]{64}\" || die 2 \"first stdin line is neither absent nor a sha256.\" ;;",
      "esac",
      "printf \"%s\\n\" \"$newsum\" | grep -Eqx \"[0-9a-f]{64}\" || die 2 \"first stdin line lacks the sha256 of the new content.\"",
      "case $rev in *[!A-Za-z0-9+/=]*) die 2 \"the third field of the first stdin line (the reverse edit) is not base64.\" ;; esac",
      "[ -d \"$dir\" ] || (umask 022 && mkdir -p \"$dir\")",
      "umask 077",
    ],
    TMP_IN_DIR,
    [
      "cat > \"$tmp\"",
      "[ \"$(state_of \"$tmp\")\" = \"$newsum\" ] || die 2 \"the new content for $target arrived incomplete (connection dropped?); nothing was written.\"",
      "cur=$(state_of \"$target\")",
      "new=$(state_of \"$tmp\")",
      // Identifies this write's stdin; restore uses it to tell a replaced resource from the owner.
      "owner=$({ printf \"%s %s%s\\n\" \"$expected\" \"$newsum\" \"${rev:+ $rev}\"; cat \"$tmp\"; } | sha256sum)",
      "owner=${owner%% *}",
      "if [ \"$cur\" = \"$new\" ]; then",
      // A write of this content killed between its rename and its markers left its reverse edit.
      "  if [ -e \"$sd/reverse.tmp\" ] && [ \"$(head -n 1 \"$sd/reverse.tmp\")\" = \"gra-reverse v1 $new\" ]; then",
      "    keep_reverse",
      "    put \"$sd/written\" \"$new\"",
      "  fi",
      // This resource now owns the edit (a replacement's old delete must then do nothing). The
      // written marker stays: if the file got here by someone else's change, destroy must not
      // undo that change. Only a write killed between its rename and its markers sets it.
      "  if [ -e \"$sd/written\" ]; then",
      "    put \"$sd/owner\" \"$owner\"",
      "  elif [ -e \"$sd/original\" ] || [ -e \"$sd/original.absent\" ]; then",
      "    put \"$sd/written\" \"$new\"",
      "    put \"$sd/owner\" \"$owner\"",
      "  fi",
      "  echo \"unchanged: $target\"",
      "  exit 0",
      "fi",
      "[ \"$cur\" = \"$expected\" ] || die 3 \"$target changed on the server since it was read (expected $expected, found $cur). Someone or the runner edited it; nothing was written.\" \"$hint\"",
    ],
    composeCmd ? composeFn(composeCmd) : [],
    [
      "if [ \"$cur\" = absent ]; then",
      `  chmod ${mode} "$tmp"`,
      "else",
      "  chown --reference=\"$target\" \"$tmp\"",
      "  chmod --reference=\"$target\" \"$tmp\"",
      "fi",
    ],
    v
      ? [`compose -f "$tmp" --project-directory ${shPath(v.appDir)} config -q ||`,
        "  die 4 \"the new content of $target failed 'compose config -q' (output above); the file was left untouched.\""]
      : [],
    [
      "mkdir -p \"$sd\"",
      "chmod 0700 \"$root\" \"$sd\"",
      "rm -f \"$sd/reverse.tmp\"",
      // How to undo this edit on a file that changed later; root-only like the backups (secrets).
      "if [ -n \"$rev\" ] && [ \"$cur\" != absent ]; then",
      "  printf \"%s\" \"$rev\" | base64 -d > \"$sd/reverse.tmp\" || die 2 \"the reverse edit on stdin is not valid base64; nothing was written.\"",
      "  [ \"$(head -n 1 \"$sd/reverse.tmp\")\" = \"gra-reverse v1 $new\" ] || die 2 \"the reverse edit on stdin is not for the new content of $target; nothing was written.\"",
      "fi",
      w.after && "fresh=0",
      "if [ ! -e \"$sd/original\" ] && [ ! -e \"$sd/original.absent\" ]; then",
      w.after && "  fresh=1",
      // Reverse edits of an earlier life of this state dir (restored since) are not ours to apply.
      "  rm -f \"$sd\"/reverse-*",
      "  if [ \"$cur\" = absent ]; then",
      "    : > \"$sd/original.absent\"",
      "  else",
      "    cp -p \"$target\" \"$sd/original.tmp\"",
      "    mv -f \"$sd/original.tmp\" \"$sd/original\"",
      "  fi",
      "fi",
      "backup=",
      "if [ \"$cur\" != absent ]; then",
      "  stamp backup",
      "  backup=$stamped",
      "  cp -p \"$target\" \"$backup\"",
      `  prune backup ${keep}`,
      "fi",
      // Last look before the swap: the runner may have rewritten the file meanwhile.
      "[ \"$(state_of \"$target\")\" = \"$cur\" ] || die 3 \"$target changed on the server while it was being replaced; nothing was written.\" \"$hint\"",
      // A failed update leaves the old stdin in Pulumi's state: the owner must go back with the file.
      w.after && "prev_owner=",
      w.after && "[ ! -e \"$sd/owner\" ] || prev_owner=$(cat \"$sd/owner\")",
      "mv -f \"$tmp\" \"$target\"",
      "[ ! -e \"$sd/reverse.tmp\" ] || keep_reverse",
      "put \"$sd/written\" \"$new\"",
      "put \"$sd/owner\" \"$owner\"",
      "echo \"wrote: $target (backup: ${backup:-none, the file is new})\"",
    ],
    w.after ? afterFns(w.after) : [],
    w.after
      ? [
        "if ! after; then",
        "  if [ \"$cur\" = absent ]; then",
        "    rm -f \"$target\"",
        "  else",
        "    tmp=$(mktemp \"$dir/.gra-tmp.XXXXXX\")",
        "    cp -p \"$backup\" \"$tmp\"",
        "    mv -f \"$tmp\" \"$target\"",
        "  fi",
        "  if [ \"$fresh\" = 1 ]; then",
        "    rm -f \"$sd/original\" \"$sd/original.absent\" \"$sd/written\" \"$sd/owner\"",
        "  else",
        "    put \"$sd/written\" \"$cur\"",
        "    if [ -n \"$prev_owner\" ]; then put \"$sd/owner\" \"$prev_owner\"; else rm -f \"$sd/owner\"; fi",
        "  fi",
        "  [ -z \"$added\" ] || rm -f \"$added\"",
        "  after_again || true",
        "  die 5 \"$why; restored $target and $after_done; $after_check.\"",
        "fi",
      ]
      : [],
  );
}

/**
 * Compare-and-swap write. Stdin: guardedWriteStdin(expected, content). Exit codes: EXIT.
 * Prints "unchanged: <path>" when the file already has the content (no backup, no after-action).
 */
export function guardedWriteScript(w: GuardedWrite, opts: ScriptOptions = {}): string {
  const body = guardedWriteBody(w, opts);
  return header(`gitlab-runner-autoscaling: guarded write of ${w.path} (state ${w.key})`, w.summary) + asRoot(body, opts);
}

// ---- restore (the delete of a guarded write) ---------------------------------------------------

export function restoreBody(w: GuardedWrite, opts: ScriptOptions = {}): string {
  checkWrite(w);
  const composeCmd = composeCommandOf(w);
  const dir = posixPath.dirname(w.path);
  const stateDir = opts.stateDir ?? STATE_DIR;
  const keep = w.keepBackups ?? KEEP_BACKUPS;
  const a = w.after;
  const afterLines = restoreAfterLines(a, composeFn);
  return lines(
    ["set -eu"],
    composeCmd || a ? LOCAL_PATH : [],
    [
      `target=${shPath(w.path)}`,
      `dir=${shPath(dir)}`,
      `sd=${shPath(posixPath.join(stateDir, w.key), "stateDir")}`,
    ],
    DIE, STATE_OF, stampFn(), pruneFn(), reverseChainFn(),
    [
      "if [ ! -e \"$sd/written\" ]; then",
      "  echo \"nothing to restore: pulumi never changed $target\"",
      "  exit 0",
      "fi",
      // remote.Command runs delete with the stdin of its create. A replaced resource's delete runs
      // after its successor's create; its stdin then no longer matches the owner: leave the file.
      "if [ ! -t 0 ]; then",
      "  mine=$(sha256sum)",
      "  mine=${mine%% *}",
      `  if [ "$mine" != ${EMPTY_SHA256} ] && [ -e "$sd/owner" ] && [ "$(cat "$sd/owner")" != "$mine" ]; then`,
      "    echo \"nothing to restore: $target was written since by a newer pulumi resource\"",
      "    exit 0",
      "  fi",
      "fi",
      "exec < /dev/null",
      "written=$(cat \"$sd/written\")",
      "if [ -e \"$sd/original.absent\" ]; then",
      "  orig=absent",
      "elif [ -e \"$sd/original\" ]; then",
      "  orig=$(state_of \"$sd/original\")",
      "else",
      "  die 7 \"$sd/written exists but no original was saved; restore $target by hand, then remove $sd/written.\"",
      "fi",
      "[ ! -L \"$target\" ] || die 7 \"$target is now a symbolic link; nothing was changed.\"",
      "cur=$(state_of \"$target\")",
      "if [ \"$cur\" = \"$written\" ]; then",
      // What pulumi wrote is kept too: a restore never loses a version of the file.
      "  stamp before-restore",
      "  cp -p \"$target\" \"$stamped\"",
      `  prune before-restore ${keep}`,
      "  if [ \"$orig\" = absent ]; then",
      "    rm -f \"$target\"",
      "    echo \"removed: $target (it did not exist before pulumi)\"",
      "  else",
      "    umask 077",
      ...TMP_IN_DIR.map((t) => `    ${t}`),
      "    cp -p \"$sd/original\" \"$tmp\"",
      "    mv -f \"$tmp\" \"$target\"",
      "    echo \"restored: $target\"",
      "  fi",
      "elif [ \"$cur\" = \"$orig\" ]; then",
      "  echo \"$target already has its original content; finishing the restore\"",
      // Changed since (a later upgrade, a hand edit elsewhere): undo only pulumi's edits, newest
      // first, on a copy; the file is replaced only when every one of them applied.
      "elif [ \"$orig\" != absent ] && [ -e \"$sd/reverse-1\" ]; then",
      "  umask 077",
      "  work=",
      "  tmp=",
      "  trap 'rm -f \"$work\" \"$work.next\" \"$tmp\"' EXIT",
      ...SIGNAL_TRAPS.map((t) => `  ${t}`),
      "  work=$(mktemp \"$sd/.gra-work.XXXXXX\")",
      "  cp \"$target\" \"$work\"",
      "  reverse_chain \"$work\"",
      "  tmp=$(mktemp \"$dir/.gra-tmp.XXXXXX\")",
      "  cat \"$work\" > \"$tmp\"",
      "  chown --reference=\"$target\" \"$tmp\"",
      "  chmod --reference=\"$target\" \"$tmp\"",
      "  stamp before-restore",
      "  cp -p \"$target\" \"$stamped\"",
      `  prune before-restore ${keep}`,
      "  [ \"$(state_of \"$target\")\" = \"$cur\" ] || die 7 \"$target changed while destroy was undoing pulumi's edit; nothing was changed. Run pulumi destroy again.\"",
      "  mv -f \"$tmp\" \"$target\"",
      "  echo \"undid pulumi's edit of $target, keeping the changes made after it (before: $stamped)\"",
      "else",
      "  if [ \"$orig\" = absent ]; then where=\"it did not exist before pulumi ($sd/original.absent)\"; else where=\"the content from before pulumi is in $sd/original\"; fi",
      "  die 7 \"$target changed after pulumi wrote it (wrote $written, found $cur); nothing was changed.\" \"$where.\" " +
        shQuote("Put back the content you want by hand (timestamped backups are in the same directory), then run \"pulumi state delete <urn of this command>\" and destroy again."),
      "fi",
    ],
    afterLines,
    ["rm -f \"$sd/original\" \"$sd/original.absent\" \"$sd/written\" \"$sd/owner\" \"$sd/reverse.tmp\" \"$sd\"/reverse-*"],
  );
}

/**
 * The delete of a guarded write: puts back the content from before the first write (or removes
 * the file if there was none), runs the after-action, keeps the timestamped backups.
 */
export function restoreScript(w: GuardedWrite, opts: ScriptOptions = {}): string {
  return header(`gitlab-runner-autoscaling: restore ${w.path} (state ${w.key})`, []) + asRoot(restoreBody(w, opts), opts);
}

// ---- plain install (AMI builder) ---------------------------------------------------------------

export function installFileBody(f: { path: string; mode: string }): string {
  const mode = checkMode(f.mode);
  return lines(
    ["set -eu", `target=${shPath(f.path)}`, `dir=${shPath(posixPath.dirname(f.path))}`],
    DIE, STATE_OF,
    noLink(),
    ["[ -d \"$dir\" ] || (umask 022 && mkdir -p \"$dir\")", "umask 077"],
    TMP_IN_DIR,
    [
      "cat > \"$tmp\"",
      "if [ \"$(state_of \"$target\")\" = \"$(state_of \"$tmp\")\" ]; then",
      "  chown 0:0 \"$target\"",
      `  chmod ${mode} "$target"`,
      "  echo \"unchanged: $target\"",
      "  exit 0",
      "fi",
      "chown 0:0 \"$tmp\"",
      `chmod ${mode} "$tmp"`,
      "mv -f \"$tmp\" \"$target\"",
      "echo \"installed: $target\"",
    ],
  );
}

/** Installs stdin at path (root:root, mode), atomically; for fresh hosts, so no backups. */
export function installFileScript(f: { path: string; mode: string }, opts: ScriptOptions = {}): string {
  return asRoot(installFileBody(f), opts);
}

// ---- marked block in a user file ---------------------------------------------------------------

const BLOCK_AWK = [
  "function block(  line) {",
  "  print ENVIRON[\"GRA_BEGIN\"]",
  "  while ((getline line < ENVIRON[\"GRA_BLOCK\"]) > 0) print line",
  "  close(ENVIRON[\"GRA_BLOCK\"])",
  "  print ENVIRON[\"GRA_END\"]",
  "}",
  "skip { if ($0 == ENVIRON[\"GRA_END\"]) skip = 0; next }",
  "$0 == ENVIRON[\"GRA_BEGIN\"] { block(); skip = 1; done = 1; next }",
  "{ print }",
  "END { if (skip) exit 3; if (!done) block() }",
].join("\n");

/** `private`: the block holds a secret (proxy credentials), so the file loses group/other access. */
export function appendBlockBody(f: { path: string; marker: string; private?: boolean }): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._:/@-]*$/.test(f.marker)) {
    throw new Error(`marker must be plain text ([A-Za-z0-9 ._:/@-]): ${JSON.stringify(f.marker)}`);
  }
  return lines(
    [
      "set -eu",
      `target=${shUserPath(f.path)}`,
      `GRA_BEGIN=${shQuote(`# BEGIN ${f.marker}`)}`,
      `GRA_END=${shQuote(`# END ${f.marker}`)}`,
      "export GRA_BEGIN GRA_END",
      "dir=$(dirname -- \"$target\")",
    ],
    DIE, STATE_OF,
    noLink(),
    [
      "umask 077",
      "tmp=",
      "GRA_BLOCK=",
      "trap 'rm -f \"$tmp\" \"$GRA_BLOCK\"' EXIT",
      ...SIGNAL_TRAPS,
      "GRA_BLOCK=$(mktemp \"$dir/.gra-blk.XXXXXX\")",
      "export GRA_BLOCK",
      "tmp=$(mktemp \"$dir/.gra-tmp.XXXXXX\")",
      "cat > \"$GRA_BLOCK\"",
      // $(...) drops a trailing newline: non-empty output means the last byte is not one.
      "if [ -n \"$(tail -c 1 \"$GRA_BLOCK\")\" ]; then echo >> \"$GRA_BLOCK\"; fi",
      // The block goes where the old one was, else at the end; every other line is kept as is.
      `merge() { awk ${shQuoteScript(BLOCK_AWK)} "$1"; }`,
      "if [ -e \"$target\" ]; then",
      "  n=$(grep -c -x -F -e \"$GRA_BEGIN\" \"$target\") || true",
      "  [ \"${n:-0}\" -le 1 ] || die 2 \"$target has $n lines '$GRA_BEGIN'; remove all but one block by hand.\"",
      "  merge \"$target\" > \"$tmp\" ||",
      "    die 2 \"$target has '$GRA_BEGIN' without a later '$GRA_END'; fix it by hand.\"",
      "  chmod --reference=\"$target\" \"$tmp\"",
      "else",
      "  merge /dev/null > \"$tmp\"",
      "fi",
      f.private && "chmod go-rwx \"$tmp\"",
      "if [ \"$(state_of \"$target\")\" = \"$(state_of \"$tmp\")\" ]; then",
      f.private && "  chmod go-rwx \"$target\"",
      "  echo \"unchanged: $target\"",
      "  exit 0",
      "fi",
      "mv -f \"$tmp\" \"$target\"",
      "echo \"updated: $target\"",
    ],
  );
}

/**
 * Puts stdin between "# BEGIN <marker>" and "# END <marker>" in a file of the remote user
 * (replacing an existing block, else appending). Runs without sudo. "~/x" means $HOME/x.
 */
export function appendBlockScript(f: { path: string; marker: string; private?: boolean }): string {
  return asUser(appendBlockBody(f));
}

// ---- Docker CE on the Ubuntu AMI builder -------------------------------------------------------

export function dockerInstallBody(opts: { proxyEnvFromStdin: boolean }): string {
  return lines(
    ["set -eu"], LOCAL_PATH, DIE,
    [
      "DEBIAN_FRONTEND=noninteractive",
      "export DEBIAN_FRONTEND",
    ],
    opts.proxyEnvFromStdin
      ? [
        // Proxy URLs may hold credentials: they come on stdin, never on the command line or in output.
        "n=0",
        "while IFS= read -r line || [ -n \"$line\" ]; do",
        "  n=$((n + 1))",
        "  case $line in",
        "    HTTP_PROXY=*) HTTP_PROXY=${line#HTTP_PROXY=}; http_proxy=$HTTP_PROXY; export HTTP_PROXY http_proxy ;;",
        "    HTTPS_PROXY=*) HTTPS_PROXY=${line#HTTPS_PROXY=}; https_proxy=$HTTPS_PROXY; export HTTPS_PROXY https_proxy ;;",
        "    NO_PROXY=*) NO_PROXY=${line#NO_PROXY=}; no_proxy=$NO_PROXY; export NO_PROXY no_proxy ;;",
        "    '') ;;",
        "    *) die 2 \"stdin line $n is not HTTP_PROXY=, HTTPS_PROXY= or NO_PROXY= (line not shown).\" ;;",
        "  esac",
        "done",
      ]
      : [],
    [
      "exec < /dev/null",
      "list=/etc/apt/sources.list.d/docker.list",
      "if docker --version >/dev/null 2>&1 && [ -f \"$list\" ]; then",
      "  echo \"docker already installed: $(docker --version)\"",
      "  exit 0",
      "fi",
      "work=",
      "trap 'rm -rf \"$work\"' EXIT",
      ...SIGNAL_TRAPS,
      "work=$(mktemp -d)",
      "apt-get update",
      "apt-get install -y ca-certificates curl gnupg",
      "install -d -m 0755 /etc/apt/keyrings",
      "curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o \"$work/docker.asc\"",
      "gpg --homedir \"$work\" --batch --yes --dearmor -o \"$work/docker.gpg\" \"$work/docker.asc\"",
      "chmod 0644 \"$work/docker.gpg\"",
      "mv -f \"$work/docker.gpg\" /etc/apt/keyrings/docker.gpg",
      "arch=$(dpkg --print-architecture)",
      "codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d '\"')",
      "[ -n \"$codename\" ] || die 2 'VERSION_CODENAME is missing from /etc/os-release; is this Ubuntu?'",
      "printf 'deb [arch=%s signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/ubuntu %s stable\\n' \"$arch\" \"$codename\" > \"$work/docker.list\"",
      "chmod 0644 \"$work/docker.list\"",
      "mv -f \"$work/docker.list\" \"$list\"",
      "apt-get update",
      "apt-get install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin",
      "docker --version",
    ],
  );
}

/** Installs Docker CE from Docker's apt repository (the runbook's steps); a no-op when present. */
export function dockerInstallScript(opts: { proxyEnvFromStdin: boolean }, sopts: ScriptOptions = {}): string {
  return asRoot(dockerInstallBody(opts), sopts);
}

// ---- docker proxy check ------------------------------------------------------------------------

export function dockerProxyCheckBody(expectProxy: boolean): string {
  return lines(
    ["set -eu"], LOCAL_PATH, DIE,
    ["systemctl daemon-reload", "systemctl restart docker"],
    expectProxy
      ? [
        "info=$(docker info 2>/dev/null) || die 8 'docker info failed after the restart; check \"journalctl -u docker\".'",
        "case $info in",
        // The value is not printed: a proxy URL may carry credentials.
        "  *'HTTP Proxy:'*) echo 'docker uses the proxy' ;;",
        "  *) die 8 'docker info shows no \"HTTP Proxy:\" after the restart: the docker.service drop-in was not applied.' ;;",
        "esac",
      ]
      : ["docker info > /dev/null", "echo 'docker is running'"],
  );
}

/** Reloads systemd, restarts dockerd and checks that it sees the proxy (exit 8 if not). */
export function dockerProxyCheckScript(expectProxy: boolean, opts: ScriptOptions = {}): string {
  return asRoot(dockerProxyCheckBody(expectProxy), opts);
}

/** First command on a fresh host, to be retried until sshd answers. */
export function waitForSshScript(): string {
  return "echo ready";
}
