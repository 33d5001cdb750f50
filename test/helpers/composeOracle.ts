/**
 * Independent oracle for docker-compose.yml text: Debian's docker-compose v1
 * (`apt-get install -y docker-compose`), run as `docker-compose -f FILE config -q`
 * on a temp copy. No Docker engine is needed for `config`.
 *
 * The temp dir gets everything the file references that `config` checks:
 * every env_file (default content: the fixture common.env) and every build
 * context directory (with a dummy Dockerfile).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

export const DEBIAN_PACKAGE = "docker-compose";
const BIN = "docker-compose";

export interface OracleResult {
  ok: boolean;
  status: number | null;
  /** stdout + stderr */
  output: string;
  stdout: string;
  stderr: string;
}

export interface OracleOptions {
  /** Extra files (relative path -> content) written before the check. */
  files?: Record<string, string>;
  /** Create the env_files the compose file references (default true). */
  createEnvFiles?: boolean;
  /** Content for created env files (default: fixture common.env). */
  envFileContent?: string;
}

function notInstalled(detail: string): Error {
  return new Error(
    `the compose oracle '${BIN}' is not usable (${detail}). Install Debian's package: ` +
      `apt-get update && apt-get install -y ${DEBIAN_PACKAGE}`,
  );
}

let version: string | undefined;

/** Version line of the oracle; throws (never skips) when it is missing. Checked once per process. */
export function oracleVersion(): string {
  if (version !== undefined) return version;
  const r = spawnSync(BIN, ["version", "--short"], { encoding: "utf8" });
  if (r.error) throw notInstalled((r.error as NodeJS.ErrnoException).code ?? r.error.message);
  if (r.status !== 0) throw notInstalled(`exit ${r.status}: ${r.stderr}`);
  version = r.stdout.trim();
  return version;
}

// ---- the fork server: docker-compose imported once (see composeOracleServer.py) ----------------

// Debian's docker-compose runs under Debian's python3, whatever python3 comes first on PATH.
const PYTHON = "/usr/bin/python3";
const SERVER = path.join(__dirname, "composeOracleServer.py");
// The client is tiny: it pays Python's start-up (~40 ms), not docker-compose's import (~700 ms).
const CLIENT = [
  "import socket, sys",
  "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
  "s.connect(sys.argv[1])",
  "s.sendall(sys.stdin.buffer.read())",
  "s.shutdown(socket.SHUT_WR)",
  "out = b''",
  "while True:",
  "    b = s.recv(65536)",
  "    if not b: break",
  "    out += b",
  "sys.stdout.buffer.write(out)",
].join("\n");

let server: { proc: ChildProcess; dir: string; sock: string } | undefined;

function startServer(): { dir: string; sock: string } {
  if (server && server.proc.exitCode === null) return server;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compose-oracle-server-"));
  const sock = path.join(dir, "sock");
  const log = path.join(dir, "log");
  const fd = fs.openSync(log, "w");
  const proc = spawn(PYTHON, [SERVER, sock], { stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  // Never keeps mocha alive; killed when the test process exits.
  proc.unref();
  process.once("exit", () => {
    proc.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 30_000;
  const tick = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(sock)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the compose oracle server did not start: ${fs.readFileSync(log, "utf8")}`);
    }
    Atomics.wait(tick, 0, 0, 20);
  }
  server = { proc, dir, sock };
  return server;
}

function runCompose(args: string[], cwd: string, env: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  const { sock } = startServer();
  const out = path.join(cwd, ".oracle-stdout");
  const err = path.join(cwd, ".oracle-stderr");
  const req = JSON.stringify({ cwd, env, args, stdout: out, stderr: err });
  const r = spawnSync(PYTHON, ["-I", "-S", "-c", CLIENT, sock], { input: req, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the compose oracle client failed (exit ${r.status}): ${r.stderr}`);
  const { status } = JSON.parse(r.stdout) as { status: number };
  return { status, stdout: fs.readFileSync(out, "utf8"), stderr: fs.readFileSync(err, "utf8") };
}

const fixtureEnv = path.resolve(__dirname, "../fixtures/collaborage/common.env");

/** `docker-compose -f FILE config -q`: ok when the oracle accepts the file. */
export function composeConfigCheck(text: string, opts: OracleOptions = {}): OracleResult {
  return runOracle(text, opts, ["config", "-q"]);
}

/** `docker-compose -f FILE config`: the resolved file (env_files read in), parsed. */
export function composeConfigResolved(text: string, opts: OracleOptions = {}): { result: OracleResult; config: unknown } {
  const result = runOracle(text, opts, ["config"]);
  if (!result.ok) throw new Error(`docker-compose config failed: ${result.output}`);
  return { result, config: parse(result.stdout) };
}

function runOracle(text: string, opts: OracleOptions, args: string[]): OracleResult {
  oracleVersion();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compose-oracle-"));
  const file = path.join(dir, "docker-compose.yml");
  fs.writeFileSync(file, text);
  const envContent = opts.envFileContent ?? fs.readFileSync(fixtureEnv, "utf8");

  let data: unknown;
  try {
    data = parse(text);
  } catch {
    data = undefined; // let the oracle itself report the syntax error
  }
  const services = (data as { services?: Record<string, Record<string, unknown>> } | undefined)?.services;
  if (services && typeof services === "object") {
    for (const svc of Object.values(services)) {
      if (!svc || typeof svc !== "object") continue;
      const build = svc.build;
      const ctx = typeof build === "string" ? build : (build as { context?: unknown } | undefined)?.context;
      if (typeof ctx === "string" && !/^[a-z]+:\/\//.test(ctx)) {
        const d = path.resolve(dir, ctx);
        fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(path.join(d, "Dockerfile"), "FROM scratch\n");
      }
      if (opts.createEnvFiles !== false) {
        const ef = svc.env_file;
        const list = typeof ef === "string" ? [ef] : Array.isArray(ef) ? ef : [];
        for (const e of list) {
          const p = typeof e === "string" ? e : (e as { path?: unknown })?.path;
          if (typeof p !== "string") continue;
          const abs = path.resolve(dir, p);
          if (!abs.startsWith(dir + path.sep)) continue;
          fs.mkdirSync(path.dirname(abs), { recursive: true });
          if (!fs.existsSync(abs)) fs.writeFileSync(abs, envContent);
        }
      }
    }
  }
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    const abs = path.resolve(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }

  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("COMPOSE_")) delete env[k];
  try {
    const r = runCompose(["-f", file, ...args], dir, env);
    return { ok: r.status === 0, status: r.status, output: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
