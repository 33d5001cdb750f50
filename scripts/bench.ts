// npm run bench [-- --runs N] [-- --skip-tests] [-- --skip-host] [-- --figures FILE]
// Median time of the whole program under the offline engine against a baseline program of one
// resource under the same engine, run after run in one process; then the test suite's wall time;
// then the restart counts of the host restart scenarios (counted, not timed).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { OfflineEngine, type OfflineWorld } from "../offline/mockEngine";
import { PLACEHOLDER_PROVIDER_SECRET } from "../offline/placeholders";
import { PROJECT, runOffline } from "../offline/runOffline";
import { rawConfigOf, readStackConfig } from "../offline/stackConfig";
import { EXAMPLE_SERVER_FILES, serverFilesFrom } from "../offline/serverFiles";
import { validateSettings } from "../settings/validate";
import { FIGURES_ENV, formatFigures, readFigures } from "../test/host/restartCounts";

const REPO = path.resolve(__dirname, "..");
/** The host scenarios that record restart counts (recordFigures), in the order the table lists them. */
const RESTART_SCENARIOS = ["test/host/scenarios/restarts.test.ts", "test/host/scenarios/gitlabPath.test.ts"];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function baseline(world: OfflineWorld): Promise<void> {
  pulumi.runtime.setMocks(new OfflineEngine(world), PROJECT, "bench", false);
  await pulumi.runtime.runInPulumiStack(async () => {
    new aws.iam.User("baseline");
    return {};
  });
  await pulumi.runtime.disconnect();
}

/**
 * Runs the host restart scenarios (real sshd sandboxes, root only) and prints what each stopped and
 * restarted, counted from the stand-in dockerd's events; `--figures FILE` prints a saved run.
 */
function restartFigures(argv: string[]): void {
  const saved = argv.includes("--figures") ? argv[argv.indexOf("--figures") + 1] : undefined;
  if (saved) {
    console.log(`restart counts per scenario (from ${saved}):\n${formatFigures(readFigures(saved))}`);
    return;
  }
  if (argv.includes("--skip-host")) return;
  if (process.getuid?.() !== 0) {
    console.log("restart counts: skipped, the host scenarios need root (run as root, or pass --skip-host)");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-bench-"));
  try {
    const file = path.join(dir, "figures.jsonl");
    fs.writeFileSync(file, "");
    const r = spawnSync("npx", ["mocha", "--no-config", "-r", "ts-node/register", "-r", "test/setup.ts", "--extension", "ts",
      "--timeout", "600000", ...RESTART_SCENARIOS], { cwd: REPO, encoding: "utf8", env: { ...process.env, [FIGURES_ENV]: file } });
    const summary = (r.stdout ?? "").split("\n").filter((l) => /passing|failing/.test(l)).map((l) => l.trim()).join(", ");
    console.log(`restart counts per scenario (host restart scenarios: exit ${r.status}; ${summary}):\n${formatFigures(readFigures(file))}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.includes("--figures")) return restartFigures(argv);
  const runs = Number(argv[argv.indexOf("--runs") + 1]) || 30;
  const config = readStackConfig(path.join(REPO, "Pulumi.dev.yaml"));
  const s = validateSettings(rawConfigOf(config));
  const world: OfflineWorld = { account: "123456789012", providerSecret: PLACEHOLDER_PROVIDER_SECRET, serverFiles: serverFilesFrom(EXAMPLE_SERVER_FILES, s) };
  const time = async (f: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  // Warm both paths once (module loading, JIT) before measuring.
  await runOffline(config.config, world, { secretKeys: config.secretKeys });
  await baseline(world);
  const program: number[] = [];
  const base: number[] = [];
  let resources = 0;
  for (let i = 0; i < runs; i++) {
    program.push(await time(async () => (resources = (await runOffline(config.config, world, { secretKeys: config.secretKeys })).engine.resources.length)));
    base.push(await time(() => baseline(world)));
  }
  const mp = median(program);
  const mb = median(base);
  console.log(`runs: ${runs} each, alternating, in one process (node ${process.version})`);
  console.log(`full program (${resources} resources incl. stack): median ${mp.toFixed(1)} ms  (min ${Math.min(...program).toFixed(1)}, max ${Math.max(...program).toFixed(1)})`);
  console.log(`baseline (1 resource):             median ${mb.toFixed(1)} ms  (min ${Math.min(...base).toFixed(1)}, max ${Math.max(...base).toFixed(1)})`);
  console.log(`ratio full/baseline: ${(mp / mb).toFixed(1)}x`);

  if (!argv.includes("--skip-tests")) {
    const t = Date.now();
    const r = spawnSync("npm", ["test", "--silent"], { cwd: REPO, encoding: "utf8" });
    const summary = (r.stdout ?? "").split("\n").filter((l) => /passing|failing|pending/.test(l)).map((l) => l.trim()).join(", ");
    console.log(`test suite (npm test): ${((Date.now() - t) / 1000).toFixed(1)} s wall, exit ${r.status}; ${summary}`);
    // A failing run's time is no figure to report without what failed.
    if (r.status !== 0) console.log((r.stdout ?? "").slice((r.stdout ?? "").search(/^\s*\d+ failing/m)));
  }
  restartFigures(argv);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
