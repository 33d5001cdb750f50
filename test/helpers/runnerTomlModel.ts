// The runner-toml model (test/real/runnerToml/): GitLab Runner's config.toml decoder and encoder
// (BurntSushi/toml v1.6.0, the runner's own library) on a struct made from the project's key list,
// standing in for `gitlab-runner lint` and SaveConfig while the real runner cannot be built here
// (test/host/README.md, "The real runner"). Built with the Go toolchain into the same cache as
// scripts/real/build.sh, outside the work tree, keyed by the source's hash; never a silent skip.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FIXTURES, REPO } from "./fixtures";

const SRC = path.join(REPO, "test/real/runnerToml");
export const KNOWN_KEYS = path.join(FIXTURES, "runner-config/known-keys-detailed.json");

function cacheDir(): string {
  if (process.env.GRA_REAL_CACHE) return process.env.GRA_REAL_CACHE;
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
  return path.join(base, "gitlab-runner-autoscaling/real");
}

let built: string | undefined;

/** The model's binary: built once per source version (~10 s cold, the module from the Go proxy). */
export function runnerTomlModel(): string {
  if (built) return built;
  const hash = createHash("sha256");
  for (const f of ["go.mod", "go.sum", "main.go"]) hash.update(fs.readFileSync(path.join(SRC, f)));
  const dest = path.join(cacheDir(), `runner-toml-${hash.digest("hex").slice(0, 12)}`, "runner-toml");
  if (!fs.existsSync(dest)) {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    // A private temp name, then a rename: parallel test processes never see half a binary.
    const partial = `${dest}.${process.pid}.partial`;
    const env = { ...process.env, GOTOOLCHAIN: "local", CGO_ENABLED: "0", GOFLAGS: "-mod=mod" };
    const r = spawnSync("go", ["build", "-trimpath", "-o", partial, "."], { cwd: SRC, env, encoding: "utf8" });
    if (r.error || r.status !== 0) {
      throw new Error(`(cd ${SRC} && go build -trimpath -o ${partial} .) failed: ${r.error?.message ?? r.stderr}`);
    }
    fs.renameSync(partial, dest);
  }
  return (built = dest);
}

export interface ModelResult { status: number | null; stdout: string; stderr: string }

/** `runner-toml check`: the runner's load of `file` (exit 0 "Configuration file is valid."). */
export function modelCheck(file: string): ModelResult {
  const r = spawnSync(runnerTomlModel(), ["check", KNOWN_KEYS, file], { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `runner-toml load`: the runner's (re)load of `file`: "Configuration loaded", or the error it logs. */
export function modelLoad(file: string): ModelResult {
  const r = spawnSync(runnerTomlModel(), ["load", KNOWN_KEYS, file], { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `runner-toml save`: SaveConfig after a token rotation of the named runners (NAME → new token). */
export function modelSave(file: string, tokens: Record<string, string>): ModelResult {
  const args = Object.entries(tokens).map(([n, t]) => `${n}=${t}`);
  const r = spawnSync(runnerTomlModel(), ["save", KNOWN_KEYS, file, ...args], { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
