// docker-machine workers in the runner container's state directory, as the stand-in keeps them
// (test/host/standin.py): what the worker-cleanup scenarios put there and look at.
import { strict as assert } from "node:assert";
import type { ApplyResult, ProgramCommand } from "../programRun";
import type { Sandbox } from "../sandbox";

export const STORAGE = "/home/ec2-user/.docker/machine/machines";
/** The secret key in each worker's config.json: it must never be printed. */
export const MACHINE_SECRET = "STANDIN-MACHINE-SECRET-KEY";

/** A worker made with this access key; `job`: polls until its job ends, or one that never ends. */
export async function addWorker(sb: Sandbox, name: string, accessKey: string, job?: number | "forever"): Promise<void> {
  const config = JSON.stringify({ Name: name, DriverName: "amazonec2", Driver: { MachineName: name, AccessKey: accessKey, SecretKey: MACHINE_SECRET } });
  const dir = `${STORAGE}/${name}`;
  const r = await sb.exec(`umask 077 && mkdir -p '${dir}' && cat > '${dir}/config.json'${job === undefined ? "" : ` && echo ${job} > '${dir}/standin-job'`}`, { stdin: config });
  assert.equal(r.code, 0, r.stderr);
}

/** The workers left, sorted. */
export async function workers(sb: Sandbox): Promise<string[]> {
  const r = await sb.exec(`ls -1 '${STORAGE}'`);
  return r.stdout.split("\n").filter(Boolean).sort();
}

export const cleanupOf = (run: ApplyResult): ProgramCommand => {
  const c = run.commands.find((x) => x.name === "workers-cleanup");
  assert.ok(c?.delete, "the run has a worker cleanup with a delete");
  return c;
};

/** The stand-in calls of one docker-machine subcommand inside the runner container. */
export const dmCalls = (sb: Sandbox, sub: string) => sb.calls().filter((c) => c.startsWith(`docker exec gitlab-runner docker-machine ${sub}`));
