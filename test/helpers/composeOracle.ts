/**
 * Independent oracle for docker-compose.yml text: Debian's docker-compose v1
 * (`apt-get install -y docker-compose`), run as `docker-compose -f FILE config -q`
 * on a temp copy. No Docker engine is needed for `config`.
 *
 * The temp dir gets everything the file references that `config` checks:
 * every env_file (default content: the fixture common.env) and every build
 * context directory (with a dummy Dockerfile).
 */
import { spawnSync } from "node:child_process";
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

/** Version line of the oracle; throws (never skips) when it is missing. */
export function oracleVersion(): string {
  const r = spawnSync(BIN, ["version", "--short"], { encoding: "utf8" });
  if (r.error) throw notInstalled((r.error as NodeJS.ErrnoException).code ?? r.error.message);
  if (r.status !== 0) throw notInstalled(`exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
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
    const r = spawnSync(BIN, ["-f", file, ...args], { cwd: dir, env, encoding: "utf8" });
    if (r.error) throw notInstalled((r.error as NodeJS.ErrnoException).code ?? r.error.message);
    return { ok: r.status === 0, status: r.status, output: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
