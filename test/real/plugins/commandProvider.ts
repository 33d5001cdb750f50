// STAND-IN for the real `command` plugin (pulumi-command 1.2.1), which cannot be built here: the Go
// module proxy refuses it (`go list -m -json github.com/pulumi/pulumi-command/provider@v0.0.0-20260303235922-7f3eb6f3b77c`
// → "403 Forbidden ... This module version is not available"; README "Checked with the real engine", test/host/README.md). A test double
// the real engine loads as `pulumi-resource-command`, reporting 1.2.1 and implementing
// command:remote:Command with the semantics that matter under the real engine
// (pulumi-command provider/pkg/provider/remote at v1.2.1; our notes' §6):
//  - Diff: any input change is an update; a `triggers` change is a replacement.
//  - Update runs the NEW `update`, else the new `create`; delete runs the OLD `delete` with the old
//    state (connection, stdin, stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR).
//  - Preview runs nothing (no supportsPreview: the engine answers the inputs, outputs stay unknown).
//  - stdin is piped only when non-empty; outputs lose one trailing newline.
//  - A failure is an error naming the command and its combined output; no state is written.
//  - Refresh (Read) returns the state unchanged: nothing runs.
// Commands run over real SSH (the system ssh client) with the connection's host, port, user,
// private key and host key. The one liberty: GRA_SSH_ROUTES maps an address the program cannot
// choose (the builder's private IP, port 22: "*:22") to the sandbox sshd serving it; only 127/8 is
// ever contacted.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as provider from "@pulumi/pulumi/provider";
import { hasUnknown, logCall, parseUrn, plain, same } from "./wire";

const TYPE = "command:remote:Command";
const INPUTS = ["connection", "create", "update", "delete", "triggers", "stdin", "environment", "logging", "addPreviousOutputInEnv"];

interface Connection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  hostKey?: string;
  proxy?: unknown;
  password?: string;
}

interface Run {
  connection: Connection;
  command: string;
  stdin?: string;
  env: Record<string, string>;
}

const routes = JSON.parse(process.env.GRA_SSH_ROUTES || "{}") as Record<string, string>;

/** Runs one command in one SSH session, as the real provider's session.Run does. */
async function runRemote(r: Run): Promise<{ stdout: string; stderr: string }> {
  const c = r.connection;
  if (c.proxy) throw new Error("command stand-in: connection.proxy (a bastion) is not implemented");
  if (c.password || !c.privateKey) throw new Error("command stand-in: only privateKey authentication is implemented");
  const wanted = `${c.host}:${c.port ?? 22}`;
  const [host, port] = (routes[wanted] ?? routes[`*:${c.port ?? 22}`] ?? wanted).split(":");
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`command stand-in: refusing to contact ${wanted} (tests reach loopback sandboxes only)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-cmd-"));
  try {
    const key = path.join(dir, "key");
    fs.writeFileSync(key, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
    // No hostKey: the real provider ignores the host key (ssh.InsecureIgnoreHostKey).
    const hostKeyOpts = c.hostKey
      ? (fs.writeFileSync(path.join(dir, "known_hosts"), `gra-target ${c.hostKey}\n`),
        ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(dir, "known_hosts")}`, "-o", "HostKeyAlias=gra-target"])
      : ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];
    // Setenv as the provider does; sshd drops what AcceptEnv does not allow (the provider warns).
    const envOpts = Object.entries(r.env).filter(([, v]) => !/[\n"]/.test(v)).flatMap(([k, v]) => ["-o", `SetEnv=${k}="${v}"`]);
    const args = ["-T", "-F", "/dev/null", "-i", key, "-p", port, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
      "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", ...hostKeyOpts, ...envOpts,
      "--", `${c.user ?? "root"}@${host}`, r.command];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.on("error", reject);
      child.on("close", (status, signal) => resolve({ code: status ?? (signal ? 128 : 1), stdout: out, stderr: err }));
      // Piped only when non-empty; otherwise the session's stdin is at EOF at once.
      if (r.stdin) child.stdin.end(r.stdin);
      else child.stdin.end();
    });
    logCall({ plugin: "command", op: "run", host: wanted, command: r.command.split("\n")[0], code });
    if (code !== 0) {
      throw new Error(`Process exited with status ${code}: running ${JSON.stringify(r.command)}:\n${stdout}${stderr}`);
    }
    return { stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** PULUMI_COMMAND_STDOUT/STDERR from the previous state (default on), only when non-empty. */
function previousEnv(state: Record<string, any> | undefined, inputs: Record<string, any>): Record<string, string> {
  if (!state || plain(inputs.addPreviousOutputInEnv) === false) return {};
  const env: Record<string, string> = {};
  if (plain(state.stdout)) env.PULUMI_COMMAND_STDOUT = String(plain(state.stdout));
  if (plain(state.stderr)) env.PULUMI_COMMAND_STDERR = String(plain(state.stderr));
  return env;
}

function checkType(urn: string): void {
  const { type } = parseUrn(urn);
  if (type !== TYPE) throw new Error(`command stand-in: ${type} is not implemented (only ${TYPE})`);
}

function runOf(inputs: Record<string, any>, command: string, env: Record<string, string>): Run {
  const environment = plain(inputs.environment) as Record<string, string> | undefined;
  if (environment && Object.keys(environment).length) throw new Error("command stand-in: `environment` is not implemented");
  return { connection: plain(inputs.connection), command, stdin: plain(inputs.stdin) || undefined, env };
}

const commandStandIn: provider.Provider = {
  version: "1.2.1",
  async check(urn, _olds, news) {
    checkType(urn);
    return { inputs: news };
  },
  async diff(_id, urn, olds, news) {
    checkType(urn);
    const changed = INPUTS.filter((k) => (k in news || k in olds) && !same(olds[k], news[k]));
    return { changes: changed.length > 0, replaces: changed.includes("triggers") ? ["triggers"] : [] };
  },
  async create(urn, inputs) {
    checkType(urn);
    if (hasUnknown(inputs)) throw new Error(`command stand-in: create of ${urn} with unknown inputs`);
    logCall({ plugin: "command", op: "create", urn });
    const create = plain(inputs.create);
    const out = create ? await runRemote(runOf(inputs, create, {})) : { stdout: "", stderr: "" };
    return { id: `${parseUrn(urn).name}${Math.random().toString(36).slice(2, 10)}`, outs: { ...inputs, ...out } };
  },
  async update(_id, urn, olds, news) {
    checkType(urn);
    logCall({ plugin: "command", op: "update", urn });
    const command = plain(news.update) ?? plain(news.create);
    const out = command ? await runRemote(runOf(news, command, previousEnv(olds, news))) : { stdout: "", stderr: "" };
    return { outs: { ...news, ...out } };
  },
  async delete(_id, urn, props) {
    checkType(urn);
    logCall({ plugin: "command", op: "delete", urn });
    const del = plain(props.delete);
    if (del) await runRemote(runOf(props, del, previousEnv(props, props)));
  },
  async read(id, _urn, props) {
    return { id, props };
  },
};

void provider.main(commandStandIn, process.argv.slice(2));
