// The remote scripts' shell, kept as .sh files under core/remote/sh/ (readable and shellchecked as
// files). Each is read once, at module load: `npm run plan`, `pulumi up` and the tests all run the
// program from its source tree, where the files sit beside this module.
import * as fs from "node:fs";
import * as path from "node:path";

export const SH_DIR = path.join(__dirname, "sh");

function walk(dir: string, rel = ""): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(dir, path.posix.join(rel, e.name)) : e.name.endsWith(".sh") ? [path.posix.join(rel, e.name)] : []);
}

const FILES: ReadonlyMap<string, string> = new Map(walk(SH_DIR).sort().map((rel) => [rel, fs.readFileSync(path.join(SH_DIR, rel), "utf8")]));

/** Names of every script file, relative to core/remote/sh/ (e.g. "lib/die.sh"). */
export const shFileNames = (): string[] => [...FILES.keys()];

/** Script files for a remote script: each one's shell after a `# <file>` line, so a reader of the script finds its source. */
export const shSections = (...rels: readonly string[]): string[] => rels.flatMap((rel) => [`# ${rel}`, ...shFile(rel)]);

/**
 * A script file's shell as lines, without its leading comment block (the file's own notes for a
 * reader: what it does and which preamble variables it expects; the text sent stays as it was).
 */
export function shFile(rel: string): string[] {
  const text = FILES.get(rel);
  if (text === undefined) throw new Error(`no script file core/remote/sh/${rel}`);
  const lines = text.replace(/\n$/, "").split("\n");
  let start = 0;
  while (start < lines.length && lines[start].startsWith("#")) start++;
  while (start < lines.length && lines[start] === "") start++;
  return lines.slice(start);
}
