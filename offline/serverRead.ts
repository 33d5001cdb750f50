// `npm run plan -- --from-server`: the one remote command it runs, and the parse of its output.
// Pure: paths in, script text out; stdout in, files and markers out. The script only reads: the
// managed files, and what every guarded write left in STATE_DIR/<key>/ (core/remote/sh/guarded-write.sh): the
// `written` marker (sha256 of what the last write put there), `original.absent`, and the newest
// timestamped backup (the file as it was just before that write). As root (`sudo -n`), the same
// way the program's own read script runs, since the state dir and config.toml are root-only.
import { asRoot, shPath, shQuote, type ScriptOptions } from "../core/remote/shell";
import { STATE_DIR } from "../core/remote/scripts";
import { sha256Hex } from "../core/remote/readResult";

export const READ_FORMAT = "gra-server-read v1";

export function serverReadBody(paths: readonly string[], stateDir = STATE_DIR): string {
  return [
    "set -eu",
    `root=${shPath(stateDir, "stateDir")}`,
    // One read of each file: the hash is taken from the bytes printed. A link or a non-file is named, not followed.
    "emit() {",
    "  if [ -L \"$2\" ]; then echo \"$1 link\"",
    "  elif [ -f \"$2\" ]; then",
    "    b64=$(base64 -w 0 < \"$2\")",
    "    sum=$(printf \"%s\" \"$b64\" | base64 -d | sha256sum)",
    "    printf \"%s v1 %s %s\\n\" \"$1\" \"${sum%% *}\" \"$b64\"",
    "  elif [ -e \"$2\" ]; then echo \"$1 notfile\"",
    "  else echo \"$1 absent\"",
    "  fi",
    "}",
    `echo ${shQuote(READ_FORMAT)}`,
    ...paths.map((p, i) => `emit 'file ${i}' ${shPath(p)}`),
    "if [ -d \"$root\" ]; then",
    "  for sd in \"$root\"/*/; do",
    "    [ -d \"$sd\" ] || continue",
    "    key=${sd%/}",
    "    key=${key##*/}",
    "    case $key in ''|*[!a-z0-9-]*) continue ;; esac",
    "    emit \"written $key\" \"${sd}written\"",
    "    if [ -e \"${sd}original.absent\" ]; then echo \"original-absent $key\"; fi",
    // The newest backup, in prune's order (core/remote/sh/lib/prune.sh): by time, then by the -N suffix.
    "    newest=$(for f in \"${sd}\"backup-*; do if [ -e \"$f\" ]; then printf \"%s\\n\" \"${f##*/backup-}\"; fi; done | LC_ALL=C sort -t - -k 1,1 -k 2,2n | tail -n 1)",
    "    if [ -n \"$newest\" ]; then emit \"backup $key $newest\" \"${sd}backup-$newest\"; fi",
    "  done",
    "fi",
    "echo end",
  ].join("\n") + "\n";
}

/** The remote command string: the body under `sudo -n sh -c` (tests run it without sudo). */
export function serverReadScript(paths: readonly string[], opts: ScriptOptions = {}): string {
  return asRoot(serverReadBody(paths, opts.stateDir), opts);
}

/** A file as read: its text, absent, or there but not readable as a regular UTF-8 file. */
export type ReadFile = { kind: "text"; text: string; sha256: string } | { kind: "absent" } | { kind: "other"; why: string };

export interface KeyState {
  /** sha256 of what the last write left (the `written` marker); undefined: no completed write. */
  written?: string;
  /** The first write found no file (destroy removes it). */
  originalAbsent: boolean;
  /** The newest backup: the file just before the last write that changed it. */
  backup?: { name: string; file: ReadFile };
}

export interface ServerRead {
  files: Record<string, ReadFile>;
  /** By state key (compose-proxy, config-toml, …). */
  state: Record<string, KeyState>;
}

function bad(why: string): Error {
  return new Error(`unexpected output from the read on the CI server (${why}). Check that the login shell prints nothing itself (e.g. from ~/.bashrc) and that sudo -n works for the login user.`);
}

function fileOf(fields: string[]): ReadFile {
  if (fields[0] === "absent") return { kind: "absent" };
  if (fields[0] === "link") return { kind: "other", why: "a symbolic link" };
  if (fields[0] === "notfile") return { kind: "other", why: "not a regular file" };
  if (fields[0] !== "v1" || !/^[0-9a-f]{64}$/.test(fields[1] ?? "")) throw bad("a file record is malformed");
  const bytes = Buffer.from(fields[2] ?? "", "base64");
  if (sha256Hex(bytes) !== fields[1]) throw bad("a file's sha256 does not match its content");
  const text = bytes.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(bytes)) return { kind: "other", why: "not UTF-8 text" };
  return { kind: "text", text, sha256: fields[1] };
}

/** Parses serverReadScript's stdout for the same `paths`; throws on anything cut short or foreign. */
export function parseServerRead(stdout: string, paths: readonly string[]): ServerRead {
  const lines = stdout.replace(/\n$/, "").split("\n");
  if (lines[0] !== READ_FORMAT) throw bad(`the first line is not "${READ_FORMAT}"`);
  if (lines[lines.length - 1] !== "end") throw bad("the output was cut short");
  const files: Record<string, ReadFile> = {};
  const state: Record<string, KeyState> = {};
  const stateOf = (key: string) => (state[key] ??= { originalAbsent: false });
  for (const line of lines.slice(1, -1)) {
    const f = line.split(" ");
    if (f[0] === "file" && /^\d+$/.test(f[1]) && Number(f[1]) < paths.length) files[paths[Number(f[1])]] = fileOf(f.slice(2));
    else if (f[0] === "written" && f[1]) {
      const m = fileOf(f.slice(2));
      if (m.kind === "text") stateOf(f[1]).written = m.text.trim();
      else stateOf(f[1]);
    } else if (f[0] === "original-absent" && f[1]) stateOf(f[1]).originalAbsent = true;
    else if (f[0] === "backup" && f[1] && f[2]) stateOf(f[1]).backup = { name: f[2], file: fileOf(f.slice(3)) };
    else throw bad("a line is neither a file nor a state record");
  }
  const missing = paths.filter((p) => !(p in files));
  if (missing.length) throw bad(`no record for ${missing.join(", ")}`);
  return { files, state };
}
