// The real program, under the offline engine, driving real scripts on sandboxed sshd hosts.
// Every remote.Command the program registers is run through OfflineWorld.execute: its `create`
// with its `stdin`, over `ssh -T` (as @pulumi/command does), on the sandbox its connection
// names. So the scripts under test are exactly the strings the program hands to remote.Command,
// never re-typed. `destroy` runs each recorded command's `delete` in reverse registration order.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type CommandExecutor, unwrapSecrets } from "../../offline/mockEngine";
import { PROJECT, runOffline, type OfflineRun } from "../../offline/runOffline";
import { stackConfig } from "../helpers/devConfig";
import { CI_APP_DIR, RUNNER_CONFIG } from "./layouts";
import type { ExecResult, Sandbox } from "./sandbox";

export const CANARY_PROXY_PASSWORD = "CANARY-pw-7731";
export const CANARY_PROXY_CREDENTIALS = `canaryuser:${CANARY_PROXY_PASSWORD}`;
export const CANARY_AWS_SECRET = "CANARY-aws-secret-7731";
export const CANARIES = [CANARY_PROXY_PASSWORD, CANARY_AWS_SECRET] as const;
export const ACCOUNT = "123456789012";
export const EXISTING_AMI = "ami-0123456789abcdef0";

/** The offline engine's builder instance privateIp: ProxyAmi's commands connect there on port 22. */
export const BUILDER_HOST = "10.0.1.10";

export const CI_PATHS = {
  compose: `${CI_APP_DIR}/docker-compose.yml`,
  commonEnv: `${CI_APP_DIR}/common.env`,
  configToml: RUNNER_CONFIG,
  dockerDropIn: "/etc/systemd/system/docker.service.d/gitlab-runner-autoscaling-proxy.conf",
  daemonJson: "/etc/docker/daemon.json",
} as const;
export const STATE_DIR = "/var/lib/gitlab-runner-autoscaling";

export type StackConfig = Record<string, any>;

/**
 * Pulumi.dev.yaml pointed at a CI sandbox: its loopback port, its user and host key, its client
 * key as the SSH secret, the proxy credentials canary, and an existing AMI (no builder).
 */
export function hostStackConfig(ci: Sandbox, change?: (c: StackConfig) => void): StackConfig {
  const c: StackConfig = structuredClone(stackConfig("dev"));
  c.ciServer = { ...c.ciServer, host: "127.0.0.1", port: ci.port, user: "ec2-user", hostKey: ci.hostKey };
  c.ami = { ...c.ami, existingAmi: EXISTING_AMI };
  c.sshPrivateKey = ci.privateKey;
  c.proxyCredentials = CANARY_PROXY_CREDENTIALS;
  change?.(c);
  return c;
}

const SECRET_KEYS = ["sshPrivateKey", "proxyCredentials"];

export interface Route {
  host: string;
  /** Omitted: any port on that host (the builder's connection uses port 22). */
  port?: number;
  sandbox: Sandbox;
}

export interface ProgramCommand {
  /** Resource name, e.g. ci-server-config-toml-write. */
  name: string;
  host: string;
  port: number;
  user: string;
  create: string;
  delete?: string;
  stdin?: string;
}

export interface Executed extends ExecResult {
  name: string;
  host: string;
  port: number;
  create: string;
  stdin?: string;
  /** `ps -eo args` of the sandbox, taken while this command ran. */
  snapshots: string[];
}

export interface ApplyOptions {
  routes: Route[];
  /** Runs just before a command is executed (e.g. a hand edit between read and write). */
  before?: (name: string, sandbox: Sandbox) => void | Promise<void>;
  /**
   * Takes over one command: its result stands for the command's run (e.g. an interrupted run, or
   * a replay of an earlier run's output); undefined = run it normally.
   */
  intercept?: (cmd: { name: string; create: string; stdin?: string }, sandbox: Sandbox) => Promise<ExecResult | undefined> | ExecResult | undefined;
  /** Take process snapshots of the target sandbox while each command runs (default 100 ms; 0 = off). */
  snapshotEveryMs?: number;
  timeoutMs?: number;
  /**
   * Passed to the offline engine. Should be {} (execute answers every command), but OfflineEngine
   * still computes its serverFiles answer for each read and throws "no server file given for its
   * path" (see offline-engine.test.ts); the default names every path a read may ask for, with a
   * value the executed stdout then overrides.
   */
  serverFiles?: Record<string, string | null>;
  /**
   * Check each connection's pinned host key as @pulumi/command 1.2.1 does before it runs anything:
   * a fresh SSH handshake (no master connection) with the real ssh client, the connection's
   * hostKey the only known key and its type the only host key algorithm. A mismatch refuses the
   * command. Off by default: the builder's pinned key is derived, and no sandbox holds it.
   */
  checkHostKeys?: boolean;
}

export interface ApplyResult {
  /** Undefined when the program run itself failed (error says why). */
  run?: OfflineRun;
  /** The first failure: a command that exited non-zero, or the program run's own error. */
  error?: Error;
  executed: Executed[];
  /** Names of every command the engine asked to run, including any refused after a failure. */
  attempted: string[];
  /** Every remote.Command the program registered, secrets opened, in registration order. */
  commands: ProgramCommand[];
  /** Files at their real paths after the apply (null = absent), for the paths asked for. */
  files: Record<string, Buffer | null>;
}

/** The one route of a scenario with only a CI server: its sandbox on its loopback port. */
export const ciRoutes = (sb: Sandbox): Route[] => [{ host: "127.0.0.1", port: sb.port, sandbox: sb }];

export function routeFor(routes: Route[], host: string, port: number): Sandbox {
  const r = routes.find((x) => x.host === host && (x.port === undefined || x.port === port));
  if (!r) throw new Error(`no sandbox for ${host}:${port}; refusing to contact a non-sandbox address`);
  return r.sandbox;
}

export function readFiles(sb: Sandbox, paths: readonly string[]): Record<string, Buffer | null> {
  return Object.fromEntries(paths.map((p) => [p, sb.exists(p) ? sb.readFile(p) : null]));
}

export function commandsOf(run: OfflineRun): ProgramCommand[] {
  return run.engine.resources
    .filter((r) => r.type === "command:remote:Command")
    .map((r) => {
      const i = unwrapSecrets(r.inputs) as Record<string, any>;
      return { name: r.name, host: i.connection.host, port: i.connection.port, user: i.connection.user, create: i.create, delete: i.delete, stdin: i.stdin };
    });
}

/** Runs one script over ssh on a sandbox, snapshotting the sandbox's processes meanwhile. */
export async function execWithSnapshots(sb: Sandbox, script: string, stdin: string | undefined, everyMs = 100, timeoutMs = 120_000) {
  const snapshots: string[] = [];
  const timer = everyMs > 0
    ? setInterval(() => {
        try {
          snapshots.push(sb.processSnapshot());
        } catch {
          /* sandbox stopping */
        }
      }, everyMs)
    : undefined;
  try {
    const r = await sb.exec(script, { stdin, timeoutMs });
    return { ...r, snapshots };
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * The pinned key against the one the sandbox presents, by the real ssh client: the host key is
 * checked before user authentication, so on a mismatch not even the login key is offered.
 */
export async function hostKeyCheck(sb: Sandbox, hostKey: string): Promise<ExecResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-pinned-"));
  try {
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${sb.port} ${hostKey}\n`);
    // ssh takes the first value of an option: these win over the sandbox's own (its known_hosts, its master).
    const args = ["-o", `UserKnownHostsFile=${knownHosts}`, "-o", `HostKeyAlgorithms=${hostKey.split(" ")[0]}`, "-o", "ControlMaster=no", "-o", "ControlPath=none", ...sb.sshArgs(), "true"];
    return await new Promise<ExecResult>((resolve) => {
      execFile("/usr/bin/ssh", args, { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 255) : 0, stdout: String(stdout), stderr: String(stderr) }));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A real Ed25519 public key ("ssh-ed25519 AAAA…") that no sandbox holds: a pinned key that does not match. */
export function otherHostKey(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-otherkey-"));
  try {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(dir, "k")]);
    return fs.readFileSync(path.join(dir, "k.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the program (as `pulumi up` would) with its remote commands executed on the sandboxes. */
export async function apply(config: StackConfig, opts: ApplyOptions, watch: readonly string[] = Object.values(CI_PATHS)): Promise<ApplyResult> {
  const executed: Executed[] = [];
  const attempted: string[] = [];
  let failure: Error | undefined;
  const verified = new Set<string>();
  const execute: CommandExecutor = async (cmd) => {
    const host = String(cmd.connection.host);
    const port = Number(cmd.connection.port ?? 22);
    const sb = routeFor(opts.routes, host, port);
    attempted.push(cmd.name);
    // Once a command failed the engine would not run its dependents; refuse anything after it.
    if (failure) throw new Error(`${cmd.name}: not run, an earlier command failed`);
    const pinned = cmd.connection.hostKey as string | undefined;
    if (opts.checkHostKeys && pinned && !verified.has(`${port} ${pinned}`)) {
      const check = await hostKeyCheck(sb, pinned);
      if (check.code !== 0) {
        // What pulumi-command reports; what to check is README's troubleshooting (hostKey.test.ts reads it).
        failure = new Error(`${cmd.name}: ssh: host key mismatch (${check.stderr.trim().split("\n").pop()})`);
        throw failure;
      }
      verified.add(`${port} ${pinned}`);
    }
    await opts.before?.(cmd.name, sb);
    const taken = await opts.intercept?.({ name: cmd.name, create: cmd.create, stdin: cmd.stdin }, sb);
    const r = taken ? { ...taken, snapshots: [] } : await execWithSnapshots(sb, cmd.create, cmd.stdin, opts.snapshotEveryMs ?? 100, opts.timeoutMs);
    executed.push({ name: cmd.name, host, port, create: cmd.create, stdin: cmd.stdin, ...r });
    if (r.code !== 0) {
      failure = new Error(`${cmd.name} failed with exit code ${r.code}: ${r.stderr.trim()}`);
      throw failure;
    }
    return { stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr };
  };
  const secretKeys = SECRET_KEYS.filter((k) => config[k] !== undefined).map((k) => `${PROJECT}:${k}`);
  let run: OfflineRun | undefined;
  let runError: Error | undefined;
  try {
    run = await runOffline(config, { execute, serverFiles: opts.serverFiles ?? {}, providerSecret: CANARY_AWS_SECRET, account: ACCOUNT }, { secretKeys });
  } catch (e) {
    runError = e as Error;
  }
  const ci = opts.routes.find((r) => r.host === "127.0.0.1")?.sandbox ?? opts.routes[0].sandbox;
  return {
    run: failure ? undefined : run,
    error: failure ?? runError,
    executed,
    attempted,
    commands: run ? commandsOf(run) : [],
    files: readFiles(ci, watch),
  };
}

export interface Deleted extends ExecResult {
  name: string;
  delete: string;
}

/**
 * `pulumi destroy` of the commands: each `delete`, with the stdin of its create (as remote.Command
 * does), in reverse registration order. Stops at the first failure, which it throws.
 */
export async function destroy(from: ApplyResult | ProgramCommand[], routes: Route[]): Promise<Deleted[]> {
  const commands = Array.isArray(from) ? from : from.commands;
  const done: Deleted[] = [];
  for (const c of [...commands].reverse()) {
    if (!c.delete) continue;
    const sb = routeFor(routes, c.host, c.port);
    const r = await sb.exec(c.delete, { stdin: c.stdin, timeoutMs: 120_000 });
    done.push({ name: c.name, delete: c.delete, ...r });
    if (r.code !== 0) throw Object.assign(new Error(`delete of ${c.name} failed with exit code ${r.code}: ${r.stderr.trim()}`), { done });
  }
  return done;
}
