// The real Pulumi engine (the CLI built by scripts/real/build.sh) driving the real program: an
// Automation API inline program that runs runbook(loadSettings()), exactly what index.ts runs, in
// this process (the SDK serves the language runtime, so no pulumi-language-nodejs is needed). File
// backend, passphrase secrets and PULUMI_HOME in a temp dir; no update check, no plugin download.
// The `aws` and `command` plugins are this suite's test doubles (plugins/), found on PATH.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { runbook } from "../../program";
import { loadSettings } from "../../settings/load";
import { PROJECT } from "../../offline/runOffline";

const REPO = path.resolve(__dirname, "../..");
export const PASSPHRASE = "real-engine-test-passphrase";
/** Stack config keys set with --secret. */
export const SECRET_KEYS = ["sshPrivateKey", "proxyCredentials"];

/** One step the engine reported done (ResOutputsEvent), in the order it reported them. */
export interface Operation {
  /** `type::name`, as the offline engine keys resources. */
  key: string;
  urn: string;
  /** The engine's op: create, update, same, replace, create-replacement, delete-replaced, delete, refresh, ... */
  op: string;
  seq: number;
}

export interface EngineRun {
  operations: Operation[];
  /** The CLI's own text (what a user sees). */
  output: string;
  /** The stub plugins' log lines since the run began (commands run, aws calls). */
  pluginCalls: PluginCall[];
  summary: Record<string, number>;
  /** Resources the engine reported failed (ResOpFailedEvent), `type::name`, in order. */
  failed: string[];
  /** The engine's error diagnostics, each with the resource it names (`type::name`, "" for none). */
  errors: { key: string; message: string }[];
}

export interface PluginCall {
  plugin: "aws" | "command";
  op: string;
  urn?: string;
  host?: string;
  command?: string;
  code?: number;
}

/** The remote commands the command plugin ran over SSH in a run (one per script run). */
export const sshRuns = (r: EngineRun): PluginCall[] => r.pluginCalls.filter((c) => c.plugin === "command" && c.op === "run");

export const keyOfUrn = (urn: string) => {
  const parts = urn.split("::");
  const qualified = parts[2];
  return `${qualified.slice(qualified.lastIndexOf("$") + 1)}::${parts.slice(3).join("::")}`;
};

/** The shims the engine finds on PATH: `pulumi-resource-<name>` runs our TypeScript plugin. */
function writePluginShims(dir: string): void {
  const node = process.execPath;
  for (const [name, file] of [["aws", "awsProvider.ts"], ["command", "commandProvider.ts"]]) {
    const shim = path.join(dir, `pulumi-resource-${name}`);
    fs.writeFileSync(shim, [
      "#!/bin/sh",
      `# Test double of the ${name} plugin (test/real/plugins/${file}).`,
      `export TS_NODE_PROJECT=${JSON.stringify(path.join(REPO, "tsconfig.json"))}`,
      `exec ${JSON.stringify(node)} -r ${JSON.stringify(path.join(REPO, "node_modules/ts-node/register"))} ${JSON.stringify(path.join(__dirname, "plugins", file))} "$@"`,
      "",
    ].join("\n"), { mode: 0o755 });
  }
}

export interface RealStackOptions {
  /** The real pulumi binary (realBinary("pulumi")). */
  pulumi: string;
  stackName: string;
  /** Stack config: project keys without prefix (objects as in Pulumi.<stack>.yaml), `aws:region` with it. */
  config: Record<string, unknown>;
  /** Keys (without prefix) set with --secret. */
  secretKeys: string[];
  /** Environment for the plugins (GRA_SSH_ROUTES, GRA_STUB_AWS_SECRET). */
  pluginEnv: Record<string, string>;
}

export class RealStack {
  readonly dir: string;
  readonly backendDir: string;
  readonly workDir: string;
  private readonly logFile: string;
  private logOffset = 0;
  private constructor(readonly stack: Stack, dirs: { dir: string; backendDir: string; workDir: string; logFile: string }) {
    this.dir = dirs.dir;
    this.backendDir = dirs.backendDir;
    this.workDir = dirs.workDir;
    this.logFile = dirs.logFile;
  }

  static async create(o: RealStackOptions): Promise<RealStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-real-"));
    const [backendDir, workDir, home, pluginDir, cliRoot] = ["backend", "work", "home", "plugins", "cli"].map((d) => path.join(dir, d));
    for (const d of [backendDir, workDir, home, pluginDir, path.join(cliRoot, "bin")]) fs.mkdirSync(d, { recursive: true });
    // PulumiCommand wants <root>/bin/pulumi.
    fs.symlinkSync(o.pulumi, path.join(cliRoot, "bin", "pulumi"));
    writePluginShims(pluginDir);
    const logFile = path.join(dir, "plugins.log");
    fs.writeFileSync(logFile, "");
    const envVars: Record<string, string> = {
      PULUMI_BACKEND_URL: `file://${backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_HOME: home,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      PATH: [pluginDir, path.dirname(o.pulumi), process.env.PATH ?? ""].join(":"),
      GRA_STUB_LOG: logFile,
      ...o.pluginEnv,
    };
    // Nothing is left behind when the CLI refuses the stack or its config.
    try {
      const pulumiCommand = await PulumiCommand.get({ root: cliRoot, skipVersionCheck: true });
      const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: o.stackName, projectName: PROJECT, program: async () => runbook(loadSettings()) },
        {
          workDir, pulumiHome: home, envVars, pulumiCommand, secretsProvider: "passphrase",
          projectSettings: { name: PROJECT, runtime: "nodejs", backend: { url: `file://${backendDir}` } },
        },
      );
      const rs = new RealStack(stack, { dir, backendDir, workDir, logFile });
      await rs.setConfig(o.config, o.secretKeys);
      return rs;
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Replaces the stack's config: plain keys as YAML values (objects stay objects), secret keys encrypted. */
  async setConfig(config: Record<string, unknown>, secretKeys: string[]): Promise<void> {
    const ws = this.stack.workspace;
    const settings = await ws.stackSettings(this.stack.name);
    const full = (k: string) => (k.includes(":") ? k : `${PROJECT}:${k}`);
    settings.config = Object.fromEntries(Object.entries(config).filter(([k]) => !secretKeys.includes(k)).map(([k, v]) => [full(k), v]));
    await ws.saveStackSettings(this.stack.name, settings);
    for (const k of secretKeys) {
      if (config[k] !== undefined) await this.stack.setConfig(full(k), { value: String(config[k]), secret: true });
    }
  }

  /** The stack's state file (file backend layout). */
  statePath(): string {
    return path.join(this.backendDir, ".pulumi", "stacks", PROJECT, `${this.stack.name}.json`);
  }

  stackFile(): string {
    return path.join(this.workDir, `Pulumi.${this.stack.name}.yaml`);
  }

  private newCalls(): PluginCall[] {
    const text = fs.readFileSync(this.logFile, "utf8");
    const fresh = text.slice(this.logOffset);
    this.logOffset = text.length;
    return fresh.split("\n").filter(Boolean).map((l) => JSON.parse(l) as PluginCall);
  }

  private runs = 0;

  private collector(kind: string) {
    const operations: Operation[] = [];
    const failed: string[] = [];
    const errors: { key: string; message: string }[] = [];
    let output = "";
    this.newCalls();
    const n = ++this.runs;
    // GRA_REAL_TRANSCRIPTS=DIR keeps what the CLI printed for each run (README quotes them).
    const keep = (text: string) => {
      const dir = process.env.GRA_REAL_TRANSCRIPTS;
      if (dir) fs.writeFileSync(path.join(dir, `${this.stack.name}-${String(n).padStart(2, "0")}-${kind}.txt`), text);
    };
    return {
      onEvent: (e: EngineEvent) => {
        const m = e.resOutputsEvent?.metadata;
        if (m && m.type !== "pulumi:providers:aws" && m.type !== "pulumi:providers:command") {
          operations.push({ key: keyOfUrn(m.urn), urn: m.urn, op: m.op, seq: operations.length });
        }
        if (e.resOpFailedEvent) failed.push(keyOfUrn(e.resOpFailedEvent.metadata.urn));
        const d = e.diagnosticEvent;
        if (d?.severity === "error") errors.push({ key: d.urn ? keyOfUrn(d.urn) : "", message: d.message });
      },
      onOutput: (s: string) => (output += s),
      done: (summary?: Record<string, number>): EngineRun => {
        keep(output);
        return { operations, output, pluginCalls: this.newCalls(), summary: summary ?? {}, failed, errors };
      },
    };
  }

  async up(): Promise<EngineRun> {
    const c = this.collector("up");
    const r = await this.stack.up({ onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
    return c.done(r.summary.resourceChanges as Record<string, number>);
  }

  /** An up expected to fail: what the engine did before it stopped, and the error it threw. */
  async upFailing(): Promise<EngineRun & { error: Error }> {
    const c = this.collector("up-failed");
    try {
      await this.stack.up({ onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
    } catch (e) {
      return { ...c.done(), error: e as Error };
    }
    throw new Error("this up was expected to fail, and it succeeded");
  }

  async preview(diff = true): Promise<EngineRun> {
    const c = this.collector(diff ? "preview-diff" : "preview");
    const r = await this.stack.preview({ diff, onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
    return c.done(r.changeSummary as Record<string, number>);
  }

  async refresh(): Promise<EngineRun> {
    const c = this.collector("refresh");
    const r = await this.stack.refresh({ onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
    return c.done(r.summary.resourceChanges as Record<string, number>);
  }

  async destroy(): Promise<EngineRun> {
    const c = this.collector("destroy");
    const r = await this.stack.destroy({ onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
    return c.done(r.summary.resourceChanges as Record<string, number>);
  }

  /** Removes the temp dir (state, home, shims). */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The lines `preview --diff` prints for one resource (after its urn line, up to the next resource). */
export function previewBlock(output: string, resource: string): string[] {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => l.includes("[urn=") && l.trimEnd().endsWith(`::${resource}]`));
  if (start < 0) return [];
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^\s*[-+~]* ?[\w:/-]+: \((create|update|replace|delete|same|create-replacement|delete-replaced)\)/.test(l) || l.includes("[urn=") || /^\s*--outputs:--/.test(l));
  return end < 0 ? rest : rest.slice(0, end);
}

/** One property of one resource as `preview --diff` prints it: the text after "key : ", or undefined. */
export function previewProperty(output: string, resource: string, key: string): string | undefined {
  const prop = new RegExp(`^\\s*[-+~]?\\s*${key}\\s*: (.*)$`);
  for (const l of previewBlock(output, resource)) {
    const m = prop.exec(l);
    if (m) return m[1];
  }
  return undefined;
}
