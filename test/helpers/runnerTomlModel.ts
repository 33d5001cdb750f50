// The runner-toml model (test/real/runnerToml/): GitLab Runner's config.toml decoder and encoder
// (BurntSushi/toml v1.6.0, the runner's own library) on a struct made from the project's key list,
// standing in for `gitlab-runner lint` and SaveConfig while the real runner cannot be built here
// (test/host/README.md, "The real runner"). Built by scripts/real/build.sh (runner-toml) into its
// cache outside the work tree, keyed by the sources' hash; never a silent skip.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { FIXTURES } from "./fixtures";
import { realBinary } from "./realBinaries";

export const KNOWN_KEYS = path.join(FIXTURES, "runner-config/known-keys-detailed.json");

/** The model's binary: scripts/real/build.sh builds it once per source version (~10 s cold, the module from the Go proxy). */
export const runnerTomlModel = (): string => realBinary("runner-toml");

export interface ModelResult { status: number | null; stdout: string; stderr: string }

function runModel(args: string[]): ModelResult {
  const r = spawnSync(runnerTomlModel(), args, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `runner-toml check`: the runner's load of `file` (exit 0 "Configuration file is valid."). */
export const modelCheck = (file: string): ModelResult => runModel(["check", KNOWN_KEYS, file]);

/** `runner-toml load`: the runner's (re)load of `file`: "Configuration loaded", or the error it logs. */
export const modelLoad = (file: string): ModelResult => runModel(["load", KNOWN_KEYS, file]);

/** `runner-toml save`: SaveConfig after a token rotation of the named runners (NAME → new token). */
export const modelSave = (file: string, tokens: Record<string, string>): ModelResult =>
  runModel(["save", KNOWN_KEYS, file, ...Object.entries(tokens).map(([n, t]) => `${n}=${t}`)]);
