// The real programs the suite runs (the Pulumi CLI, and the runner-toml model), built from Go modules by
// scripts/real/build.sh into a cache outside the work tree. The first test that needs one calls
// realBinary() in a before() hook with REAL_BUILD_TIMEOUT_MS; the script's lock makes parallel test
// processes wait for one build. A build that cannot finish fails the run with the command and the
// answer it got: never a silent skip.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export type RealBinaryName = "pulumi" | "gitlab-runner" | "runner-toml";

const BUILD_SCRIPT = path.resolve(__dirname, "../../scripts/real/build.sh");

/** A before() hook's timeout that a cold build fits in (minutes to tens of minutes on 2 cores). */
export const REAL_BUILD_TIMEOUT_MS = 80 * 60 * 1000;

/** Parses the build script's "NAME: /absolute/path" lines. */
export function parseBuildOutput(stdout: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([a-z][a-z0-9-]*): (\/\S+)$/.exec(line.trim());
    if (m) found[m[1]] = m[2];
  }
  return found;
}

const cached = new Map<RealBinaryName, string>();

/** The absolute path of one real binary: the build script builds it when missing (a no-op when cached). */
export function realBinary(name: RealBinaryName): string {
  const hit = cached.get(name);
  if (hit) return hit;
  // stderr is inherited: a cold build says what it builds and how long that took.
  const r = spawnSync("bash", [BUILD_SCRIPT, name], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) {
    throw new Error(`${BUILD_SCRIPT} ${name} failed (exit ${r.status ?? r.signal}); its messages above name the command and the answer it got`);
  }
  const found = parseBuildOutput(r.stdout)[name];
  if (!found) throw new Error(`${BUILD_SCRIPT} ${name} printed no "${name}: PATH" line`);
  cached.set(name, found);
  return found;
}
