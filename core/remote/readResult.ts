// The read script prints one line: "v1 absent" or "v1 <sha256> <base64>". Base64 because
// remote.Command trims a trailing newline from stdout, and a file's last byte must survive.
import { createHash } from "node:crypto";

export interface ReadResult {
  exists: boolean;
  /** sha256 hex of the file's bytes; null when the file does not exist. */
  sha256: string | null;
  /** The file as UTF-8 text; "" when absent. */
  content: string;
}

const SHA = /^[0-9a-f]{64}$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function malformed(stdout: string, why: string): Error {
  const shown = stdout.length > 120 ? `${stdout.slice(0, 120)}…` : stdout;
  return new Error(
    `unexpected output from the remote read (${why}): ${JSON.stringify(shown)}. ` +
      `Expected one line "v1 absent" or "v1 <sha256> <base64>". ` +
      `Check that the remote login shell prints nothing itself (e.g. from ~/.bashrc).`,
  );
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function parseReadResult(stdout: string): ReadResult {
  const line = stdout.replace(/\r?\n$/, "");
  if (line.includes("\n")) throw malformed(stdout, "more than one line");
  if (line === "v1 absent") return { exists: false, sha256: null, content: "" };
  const parts = line.split(" ");
  if (parts[0] !== "v1") throw malformed(stdout, "no v1 prefix");
  // An empty file gives "v1 <sha> " with an empty third field; tolerate a trimmed space too.
  if (parts.length !== 3 && parts.length !== 2) throw malformed(stdout, "wrong number of fields");
  const [, sha, b64 = ""] = parts;
  if (!SHA.test(sha)) throw malformed(stdout, "bad sha256");
  if (b64.length % 4 !== 0 || !B64.test(b64)) throw malformed(stdout, "bad base64");
  const bytes = Buffer.from(b64, "base64");
  if (sha256Hex(bytes) !== sha) throw malformed(stdout, "sha256 does not match the content");
  const content = bytes.toString("utf8");
  // The merge works on text; a file that is not UTF-8 would be rewritten with other bytes.
  if (!Buffer.from(content, "utf8").equals(bytes)) {
    throw new Error("the remote file is not valid UTF-8 text; refusing to edit it");
  }
  return { exists: true, sha256: sha, content };
}

/** The read script's line for given content (null = absent): the inverse of parseReadResult. */
export function readResultLine(content: string | null): string {
  if (content === null) return "v1 absent";
  const bytes = Buffer.from(content, "utf8");
  return `v1 ${sha256Hex(bytes)} ${bytes.toString("base64")}`;
}

/** First line of a guarded write's stdin: the state the merge was based on. */
export function expectedState(r: ReadResult): string {
  return r.exists && r.sha256 !== null ? r.sha256 : "absent";
}
