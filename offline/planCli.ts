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
import { EXAMPLE_SERVER_FILES, serverFileNames, serverFilesFrom } from "./serverFiles";
import { SettingsError, validateSettings } from "../settings/validate";
import type { Settings } from "../settings/types";
import { driftReport } from "./drift";
import { driftAgainst, readServer, redactedFiles, whereOf } from "./fromServer";
import { FROM_SERVER_MESSAGES } from "./fromServerMessages";
import { SecretVault } from "./redact";
import type { ServerRead } from "./serverRead";
import { sshTargetOf, unchecked } from "./sshCommand";

/** The CI-server paths a plan may edit: the ones --server-files reads too (one list for both sources). */
const managedPaths = (s: Settings) => Object.keys(serverFileNames(s));

export interface PlanIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** For the language (LC_ALL, LC_MESSAGES, LANG). */
  env: NodeJS.ProcessEnv;
}

const REPO = path.resolve(__dirname, "..");
const USAGE = "usage: npm run plan -- [--stack NAME | --config-file PATH] [--server-files DIR | --from-server [--ssh-key FILE]] [--out DIR] [--lang en|ja]";

export interface PlanArgs {
  stack: string;
  configFile: string;
  serverFiles: string;
  out?: string;
  lang: Lang;
  /** --from-server: read the CI server's files over SSH instead of --server-files. */
  fromServer: boolean;
  sshKey?: string;
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): PlanArgs {
  const args: Record<string, string> = {};
  let fromServer = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--from-server") {
      fromServer = true;
      continue;
    }
    if (!["--stack", "--config-file", "--server-files", "--out", "--lang", "--ssh-key"].includes(flag) || argv[i + 1] === undefined) throw new Error(`unknown or incomplete option ${flag}\n${USAGE}`);
    if (flag.slice(2) in args) throw new Error(`${flag} given twice\n${USAGE}`);
    args[flag.slice(2)] = argv[++i];
  }
  if (args.stack && args["config-file"]) throw new Error(`--stack and --config-file exclude each other\n${USAGE}`);
  if (fromServer && args["server-files"]) throw new Error(`--from-server and --server-files exclude each other\n${USAGE}`);
  if (args["ssh-key"] !== undefined && !fromServer) throw new Error(`--ssh-key is for --from-server\n${USAGE}`);
  if (args.lang !== undefined && !LANGS.includes(args.lang as Lang)) throw new Error(`--lang ${args.lang}: expected one of ${LANGS.join(", ")}\n${USAGE}`);
  const stack = args.stack ?? (args["config-file"] ? path.basename(args["config-file"]).replace(/^Pulumi\.|\.ya?ml$/g, "") : "dev");
  return {
    stack,
    configFile: args["config-file"] ?? path.join(REPO, `Pulumi.${stack}.yaml`),
    serverFiles: args["server-files"] ?? EXAMPLE_SERVER_FILES,
    out: args.out,
    lang: langOf(args.lang, env),
    fromServer,
    ...(args["ssh-key"] !== undefined ? { sshKey: args["ssh-key"] } : {}),
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
  // --from-server: removes every secret read from the server from whatever is printed or written.
  let scrub = (t: string) => t;
  let fromServer = false;
  // The SDK prints the program's warnings with console.warn: shown in the plan's language, URL passwords masked.
  const sdkWarn = console.warn;
  console.warn = (...parts: unknown[]) => {
    const message = parts.map(String).join(" ").replace(/^warning: \[runtime\] /, "");
    io.stderr(scrub(`${maskCredentialsInText(warningText(lang, message))}\n`));
  };
  try {
    const opts = parseArgs(argv, io.env);
    lang = opts.lang;
    fromServer = opts.fromServer;
    const config = readStackConfig(opts.configFile);
    // Every problem at once, before anything runs or is written.
    const settings = validateSettings(rawConfigOf(config));
    serverFilesDir = opts.serverFiles;
    const world = (files: Record<string, string | null>) => ({ serverFiles: files, providerSecret: PLACEHOLDER_PROVIDER_SECRET, account: "123456789012" });
    const stackOpts = { stack: opts.stack, secretKeys: config.secretKeys };
    let serverFiles: Record<string, string | null>;
    let live: { read: ServerRead; vault: SecretVault; where: string } | undefined;
    if (opts.fromServer) {
      // Every secret read from the server is replaced before planning, and scrubbed from every output.
      const vault = new SecretVault();
      scrub = (t) => vault.scrub(t);
      const target = sshTargetOf(settings);
      // Only the peers that really go unchecked (a key that is set is checked, opt-out or not).
      const unverified = [target, ...(target.bastion ? [target.bastion] : [])].filter((p) => unchecked(target, p));
      if (unverified.length) io.stderr(`${MESSAGES[lang].warning}${FROM_SERVER_MESSAGES[lang].unchecked(unverified.map((p) => `${p.host}:${p.port}`).join(", "))}\n`);
      const read = await readServer(settings, managedPaths(settings), { sshKey: opts.sshKey, env: io.env, lang });
      serverFiles = redactedFiles(read, vault);
      live = { read, vault, where: whereOf(target) };
    } else {
      serverFiles = serverFilesFrom(opts.serverFiles, settings);
    }
    const run = await runOffline(config.config, world(serverFiles), stackOpts);
    const plan = buildPlan(run, serverFiles, opts.stack, opts.lang);
    let text = plan.text;
    if (live) {
      const drift = await driftAgainst(live.read, live.vault, serverFiles, run, (files) => runOffline(config.config, world(files), stackOpts));
      text = `${FROM_SERVER_MESSAGES[lang].title(live.where)}\n${text}\n${driftReport(drift, live.where, lang)}`;
      plan.files["plan.txt"] = maskCredentialsInText(text);
      for (const k of Object.keys(plan.files)) plan.files[k] = scrub(plan.files[k]);
    }
    io.stdout(scrub(text));
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
        (!fromServer && /does not exist on the CI server/.test(String((e as Error).message)) ? `\n${MESSAGES[lang].offlineServerFiles(serverFilesDir)}` : "");
    // Whatever raised it, an error never shows a URL's password, nor a secret read from the server.
    io.stderr(scrub(`${maskCredentialsInText(message)}\n`));
    return e instanceof SettingsError ? 2 : 1;
  } finally {
    console.warn = sdkWarn;
  }
}
