// The cases pinned by serverBytes.test.ts: every bundled stack × every set of CI server files a
// test uses (examples/ci-server and each sandbox layout that holds a CI server). The golden copy
// under test/fixtures/server-bytes/ is written by `npx ts-node test/plan/writeServerBytes.ts`:
// each case's index.txt lists `<sha256>  <path>` for every file of its files/ and diffs/ trees,
// and blobs/<sha256> holds each distinct content once (most files are the same in many cases).
import * as fs from "node:fs";
import * as path from "node:path";
import { runPlanCli } from "../../offline/planCli";
import { LAYOUTS, COLLABORAGE_FIXTURES, type Layout } from "../host/layouts";
import { REPO, FIXTURES } from "../helpers/fixtures";
import { sha256Hex } from "../../core/remote/readResult";

export const GOLDEN = path.join(FIXTURES, "server-bytes");

export const STACKS: readonly string[] = [
  "Pulumi.dev.yaml",
  "Pulumi.autoscaler.yaml",
  "Pulumi.upgrade.yaml",
  ...fs.readdirSync(path.join(REPO, "examples")).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `examples/${f}`),
];

/** The layout files --server-files takes, under the same name at its top (offline/serverFiles.ts). */
const SERVER_NAMES: ReadonlySet<string> = new Set(["docker-compose.yml", "common.env", "config.toml", "daemon.json"]);

/** Layouts with CI server files (the AMI builder layout has none). */
export const SERVER_SOURCES: readonly string[] = [
  "examples-ci-server",
  ...(Object.keys(LAYOUTS) as Layout[]).filter((l) => LAYOUTS[l].files.some((f) => path.posix.basename(f.path) === "config.toml")),
];

/** Writes a layout's CI server files into dir as --server-files expects them. */
function layoutServerFiles(layout: Layout, dir: string): void {
  for (const f of LAYOUTS[layout].files) {
    const name = path.posix.basename(f.path);
    if (!SERVER_NAMES.has(name)) continue;
    const content = typeof f.content === "string" ? f.content : fs.readFileSync(path.join(COLLABORAGE_FIXTURES, f.content.fixture), "utf8");
    fs.writeFileSync(path.join(dir, name), content);
  }
}

/**
 * Runs `npm run plan -- --config-file STACK [--server-files ...] --out OUT` in this process; the
 * --out directory, or for a plan the program refuses (exit 1, e.g. an upgrade that skips stops:
 * nothing reaches the server) a directory holding only `refused` with the exit code.
 */
export async function planInto(stack: string, source: string, work: string): Promise<string> {
  const args = ["--config-file", path.join(REPO, stack)];
  if (source !== "examples-ci-server") {
    const dir = path.join(work, "server");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    layoutServerFiles(source as Layout, dir);
    args.push("--server-files", dir);
  }
  const out = path.join(work, "out");
  fs.rmSync(out, { recursive: true, force: true });
  let stderr = "";
  const code = await runPlanCli([...args, "--out", out], { stdout: () => {}, stderr: (t) => (stderr += t), env: { LANG: "C.UTF-8" } });
  if (code === 1 && /^plan failed: (upgrade: |The GitLab upgrade is refused before any hop ran)/m.test(stderr)) {
    fs.mkdirSync(path.join(out, "files"), { recursive: true });
    fs.writeFileSync(path.join(out, "files", "refused"), `exit ${code}\n`);
  } else if (code !== 0) throw new Error(`plan ${stack} with ${source}: exit ${code}\n${stderr}`);
  return out;
}

export const caseDir = (stack: string, source: string) => path.join(GOLDEN, stack.replace(/^examples\//, "examples_").replace(/\.ya?ml$/, ""), source);

/** Relative path → content for the files/ and diffs/ trees of a plan's --out. */
export function serverTrees(out: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(out, rel), { withFileTypes: true })) {
      const r = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else found.set(r, fs.readFileSync(path.join(out, r), "utf8"));
    }
  };
  for (const top of ["files", "diffs"]) if (fs.existsSync(path.join(out, top))) walk(top);
  return found;
}

export const BLOBS = path.join(GOLDEN, "blobs");

/** A case's golden trees: path → content, from its index.txt and the blobs. */
export function goldenTrees(stack: string, source: string): Map<string, string> {
  const index = path.join(caseDir(stack, source), "index.txt");
  const found = new Map<string, string>();
  if (!fs.existsSync(index)) return found;
  for (const line of fs.readFileSync(index, "utf8").split("\n").filter(Boolean)) {
    const [hash, rel] = [line.slice(0, 64), line.slice(66)];
    found.set(rel, fs.readFileSync(path.join(BLOBS, hash), "utf8"));
  }
  return found;
}

/** Writes a case's golden trees: its index.txt, and each content not yet among the blobs. */
export function writeGolden(stack: string, source: string, trees: Map<string, string>): void {
  fs.mkdirSync(caseDir(stack, source), { recursive: true });
  fs.mkdirSync(BLOBS, { recursive: true });
  const lines = [...trees.keys()].sort().map((rel) => {
    const content = trees.get(rel)!;
    const hash = sha256Hex(content);
    fs.writeFileSync(path.join(BLOBS, hash), content);
    return `${hash}  ${rel}\n`;
  });
  fs.writeFileSync(path.join(caseDir(stack, source), "index.txt"), lines.join(""));
}
