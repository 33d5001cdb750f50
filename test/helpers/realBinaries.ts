// The real programs the suite runs (the Pulumi CLI, gitlab-runner), built from their Go modules by
// scripts/real/build.sh into a cache outside the work tree. The first test that needs one calls
// realBinary() in a before() hook with a long timeout; the script's lock makes parallel test
// processes wait for one build. A build that cannot finish fails the run with the command and the
// answer it got: never a silent skip.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export type RealBinaryName = "pulumi" | "gitlab-runner";

export const REAL_BINARIES_ENV = "GRA_REAL_BINARIES";
const BUILD_SCRIPT = path.resolve(__dirname, "../../scripts/real/build.sh");

/** Parses the build script's "NAME: /absolute/path" lines. */
export function parseBuildOutput(stdout: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([a-z][a-z0-9-]*): (\/\S+)$/.exec(line.trim());
    if (m) found[m[1]] = m[2];
  }
  return found;
}

let cached: Record<string, string> | undefined;

/** A before() hook's timeout that a cold build fits in (tens of minutes on 2 cores). */
export const REAL_BUILD_TIMEOUT_MS = 80 * 60 * 1000;

/** Runs the build script (a no-op when everything is cached) and returns every binary's path. */
export function ensureRealBinaries(): Record<string, string> {
  if (cached) return cached;
  const fromEnv = process.env[REAL_BINARIES_ENV];
  if (fromEnv) return (cached = JSON.parse(fromEnv) as Record<string, string>);
  // stderr is inherited: a cold build says what it builds and how long that took.
  const r = spawnSync("bash", [BUILD_SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) {
    throw new Error(`${BUILD_SCRIPT} failed (exit ${r.status ?? r.signal}); its messages above name the command and the answer it got`);
  }
  cached = parseBuildOutput(r.stdout);
  process.env[REAL_BINARIES_ENV] = JSON.stringify(cached);
  return cached;
}

/** The absolute path of one real binary. */
export function realBinary(name: RealBinaryName): string {
  const p = ensureRealBinaries()[name];
  if (!p) throw new Error(`${BUILD_SCRIPT} printed no "${name}: PATH" line`);
  return p;
}
