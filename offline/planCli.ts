// `npm run plan` itself, apart from the process: its arguments, environment and output streams
// are passed in, its exit code returned. scripts/plan.ts runs it for the user; the plan tests
// run it in their own process too (a child process per plan cost ~2.7 s of CPU each).
import * as fs from "node:fs";
import * as path from "node:path";
import { maskCredentialsInText } from "../core/proxy/proxyFiles";
import { formatProblemsIn, langOf, LANGS, MESSAGES, warningText, type Lang } from "./messages";
import { buildPlan } from "./planReport";
import { PLACEHOLDER_PROVIDER_SECRET } from "./placeholders";
import { runOffline } from "./runOffline";
import { rawConfigOf, readStackConfig } from "./stackConfig";
import { EXAMPLE_SERVER_FILES, serverFilesFrom } from "./serverFiles";
import { SettingsError, validateSettings } from "../settings/validate";

export interface PlanIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** For the language (LC_ALL, LC_MESSAGES, LANG). */
  env: NodeJS.ProcessEnv;
}

const REPO = path.resolve(__dirname, "..");
const USAGE = "usage: npm run plan -- [--stack NAME | --config-file PATH] [--server-files DIR] [--out DIR] [--lang en|ja]";

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): { stack: string; configFile: string; serverFiles: string; out?: string; lang: Lang } {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!["--stack", "--config-file", "--server-files", "--out", "--lang"].includes(flag) || argv[i + 1] === undefined) throw new Error(`unknown or incomplete option ${flag}\n${USAGE}`);
    args[flag.slice(2)] = argv[++i];
  }
  if (args.stack && args["config-file"]) throw new Error(`--stack and --config-file exclude each other\n${USAGE}`);
  if (args.lang !== undefined && !LANGS.includes(args.lang as Lang)) throw new Error(`--lang ${args.lang}: expected one of ${LANGS.join(", ")}\n${USAGE}`);
  const stack = args.stack ?? (args["config-file"] ? path.basename(args["config-file"]).replace(/^Pulumi\.|\.ya?ml$/g, "") : "dev");
  return {
    stack,
    configFile: args["config-file"] ?? path.join(REPO, `Pulumi.${stack}.yaml`),
    serverFiles: args["server-files"] ?? EXAMPLE_SERVER_FILES,
    out: args.out,
    lang: langOf(args.lang, env),
  };
}

/** What a plan writes at the top of --out; an earlier plan's are removed first, so no stale file stays. */
const PLAN_ENTRIES = ["plan.txt", "plan.json", "files", "diffs", "scripts"];

function clearOut(dir: string, lang: Lang): void {
  if (!fs.existsSync(dir)) return;
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes("plan.json")) throw new Error(MESSAGES[lang].outNotAPlan(dir));
  for (const e of PLAN_ENTRIES) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
}

/** Runs the plan; 0 on success, 2 for settings errors, 1 for any other failure (reported on stderr). */
export async function runPlanCli(argv: string[], io: PlanIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  // Known before the arguments are parsed, so that even a bad option is reported in the user's language.
  let lang: Lang = langOf(undefined, io.env);
  // Where the server's files came from, for an error about a missing one.
  let serverFilesDir = EXAMPLE_SERVER_FILES;
  // The SDK prints the program's warnings with console.warn: shown in the plan's language, URL passwords masked.
  const sdkWarn = console.warn;
  console.warn = (...parts: unknown[]) => {
    const message = parts.map(String).join(" ").replace(/^warning: \[runtime\] /, "");
    io.stderr(`${maskCredentialsInText(warningText(lang, message))}\n`);
  };
  try {
    const opts = parseArgs(argv, io.env);
    lang = opts.lang;
    const config = readStackConfig(opts.configFile);
    // Every problem at once, before anything runs or is written.
    const settings = validateSettings(rawConfigOf(config));
    serverFilesDir = opts.serverFiles;
    const serverFiles = serverFilesFrom(opts.serverFiles, settings);
    const run = await runOffline(config.config, { serverFiles, providerSecret: PLACEHOLDER_PROVIDER_SECRET, account: "123456789012" }, { stack: opts.stack, secretKeys: config.secretKeys });
    const plan = buildPlan(run, serverFiles, opts.stack, opts.lang);
    io.stdout(plan.text);
    if (opts.out) {
      clearOut(opts.out, lang);
      for (const [rel, content] of Object.entries(plan.files)) {
        const file = path.join(opts.out, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
      }
      io.stdout(`\n${MESSAGES[opts.lang].wrote(Object.keys(plan.files).length, opts.out)}\n`);
    }
    return 0;
  } catch (e) {
    // The SDK wraps an error raised inside an output once per property it passed through.
    const message = e instanceof SettingsError
      ? formatProblemsIn(lang, e.problems)
      : `${MESSAGES[lang].planFailed}${String((e as Error).message ?? e).replace(/^(error serializing property "[^"]*": )+/, "")}` +
        // Offline, "on the CI server" means the --server-files directory.
        (/does not exist on the CI server/.test(String((e as Error).message)) ? `\n${MESSAGES[lang].offlineServerFiles(serverFilesDir)}` : "");
    // Whatever raised it, an error never shows a URL's password.
    io.stderr(`${maskCredentialsInText(message)}\n`);
    return e instanceof SettingsError ? 2 : 1;
  } finally {
    console.warn = sdkWarn;
  }
}
