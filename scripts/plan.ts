// npm run plan -- [--stack NAME | --config-file PATH] [--server-files DIR] [--out DIR] [--lang en|ja]
// Runs the real program offline and shows what `pulumi up` would do, file contents included.
import * as fs from "node:fs";
import * as path from "node:path";
import { maskCredentialsInText } from "../core/proxyFiles";
import { formatProblemsIn, langOf, LANGS, MESSAGES, warningText, type Lang } from "../offline/messages";
import { buildPlan } from "../offline/planReport";
import { PLACEHOLDER_PROVIDER_SECRET } from "../offline/placeholders";
import { runOffline } from "../offline/runOffline";
import { rawConfigOf, readStackConfig } from "../offline/stackConfig";
import { EXAMPLE_SERVER_FILES, serverFilesFrom } from "../offline/serverFiles";
import { SettingsError, validateSettings } from "../settings/validate";

const REPO = path.resolve(__dirname, "..");
const USAGE = "usage: npm run plan -- [--stack NAME | --config-file PATH] [--server-files DIR] [--out DIR] [--lang en|ja]";

function parseArgs(argv: string[]): { stack: string; configFile: string; serverFiles: string; out?: string; lang: Lang } {
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
    lang: langOf(args.lang),
  };
}

/** Known before the arguments are parsed, so that even a bad option is reported in the user's language. */
let lang: Lang = langOf(undefined);
/** Where the server's files came from, for an error about a missing one. */
let serverFilesDir = EXAMPLE_SERVER_FILES;

/** What a plan writes at the top of --out; an earlier plan's are removed first, so no stale file stays. */
const PLAN_ENTRIES = ["plan.txt", "plan.json", "files", "diffs"];

function clearOut(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes("plan.json")) throw new Error(MESSAGES[lang].outNotAPlan(dir));
  for (const e of PLAN_ENTRIES) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
}

async function main(): Promise<number> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const opts = parseArgs(process.argv.slice(2));
  lang = opts.lang;
  // The SDK prints the program's warnings with console.warn: shown in the plan's language, URL passwords masked.
  console.warn = (...parts: unknown[]) => {
    const message = parts.map(String).join(" ").replace(/^warning: \[runtime\] /, "");
    process.stderr.write(`${maskCredentialsInText(warningText(lang, message))}\n`);
  };
  const config = readStackConfig(opts.configFile);
  // Every problem at once, before anything runs or is written.
  const settings = validateSettings(rawConfigOf(config));
  serverFilesDir = opts.serverFiles;
  const serverFiles = serverFilesFrom(opts.serverFiles, settings);
  const run = await runOffline(config.config, { serverFiles, providerSecret: PLACEHOLDER_PROVIDER_SECRET, account: "123456789012" }, { stack: opts.stack, secretKeys: config.secretKeys });
  const plan = buildPlan(run, serverFiles, opts.stack, opts.lang);
  process.stdout.write(plan.text);
  if (opts.out) {
    clearOut(opts.out);
    for (const [rel, content] of Object.entries(plan.files)) {
      const file = path.join(opts.out, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
    process.stdout.write(`\n${MESSAGES[opts.lang].wrote(Object.keys(plan.files).length, opts.out)}\n`);
  }
  return 0;
}

main().then((code) => process.exit(code), (e) => {
  // The SDK wraps an error raised inside an output once per property it passed through.
  const message = e instanceof SettingsError
    ? formatProblemsIn(lang, e.problems)
    : `${MESSAGES[lang].planFailed}${String((e as Error).message ?? e).replace(/^(error serializing property "[^"]*": )+/, "")}` +
      // Offline, "on the CI server" means the --server-files directory.
      (/does not exist on the CI server/.test(String((e as Error).message)) ? `\n${MESSAGES[lang].offlineServerFiles(serverFilesDir)}` : "");
  // Whatever raised it, an error never shows a URL's password.
  process.stderr.write(`${maskCredentialsInText(message)}\n`);
  process.exit(e instanceof SettingsError ? 2 : 1);
});
