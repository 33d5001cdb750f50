// docker-machine workers never outlive their configuration. Pure: settings in, script text out.
//
// Facts (gitlab-runner executors/docker/machine/name.go, provider.go; helpers/shorten_token.go):
// - the runner names a worker `runner-<short token>-<MachineName with %s = <unix time>-<8 hex>>`
//   and lists "its" workers with that name filter only; the short token is ShortenToken(token)
//   (glrt-: 9 characters after the prefix; glrtr-/glcbt-: 9 after the prefix in runners that know
//   them; GR…: 17; otherwise the first 8), lower-cased and, since 13.x, RFC 1123-cleaned;
// - it never removes workers of an entry it no longer manages (executor, MachineName or token
//   changed, entry removed), nor on shutdown;
// - worker state is /root/.docker/machine in the gitlab-runner container (the login user's
//   ~/.docker on Collaborage), and an amazonec2 worker's config.json keeps the access key it was
//   created with: `docker-machine rm` needs that key to still exist (or the instance role).
// So the cleanup runs docker-machine inside the runner container, where the binary, the state,
// the proxy environment and the instance role are, and must run before the key is deleted.
import { asRoot, checkName, checkSeconds, shHeader, shLines, shPath, shPreamble, type ScriptOptions } from "../../remote/shell";
import { shSections } from "../../remote/shFiles";

/** Tag the program adds to every worker, so that one AWS query lists exactly this stack's workers. */
export const WORKER_STACK_TAG = "gitlab-runner-autoscaling-stack";

/** Label the runner puts on every container of a job (build, helper, services). */
export const JOB_LABEL = "com.gitlab.gitlab-runner.job.id";

export const WORKER_EXIT = {
  /** The runner container is not running, or config.toml is missing. */
  runnerDown: 21,
  /** This runner's entry or token cannot be found in config.toml. */
  noRunner: 22,
  /** docker-machine could not list, or could not remove, some worker. */
  machineFailed: 23,
} as const;

export interface WorkerScope {
  /** The runner's container (docker exec target). */
  readonly container: string;
  /** config.toml on the host. */
  readonly configPath: string;
  /** Which [[runners]] entry; undefined = the only one. */
  readonly runnerName?: string;
  /** runner.machineName, with %s once. */
  readonly machineName: string;
}

export interface WorkerCleanup extends WorkerScope {
  /** How long to wait for running jobs before removing their workers anyway. */
  readonly drainTimeoutSeconds: number;
  readonly pollSeconds: number;
}

/** An ERE for the MachineName part of a worker name: %s is `<unix time>-<8 hex>` (name.go). */
export function machineNamePattern(machineName: string): string {
  const parts = machineName.split("%s");
  if (parts.length !== 2 || !/^[a-z0-9-]*$/.test(parts.join(""))) {
    throw new Error(`machineName must be [a-z0-9-] with %s exactly once: ${JSON.stringify(machineName)}`);
  }
  return `${parts[0]}[0-9]+-[0-9a-f]{8}${parts[1]}`;
}

function checkScope(s: WorkerScope): void {
  checkName(s.container, "container");
  shPath(s.configPath, "configPath");
  if (s.runnerName !== undefined && (s.runnerName === "" || /["\n\r\\]/.test(s.runnerName))) {
    throw new Error(`runnerName must be a plain name: ${JSON.stringify(s.runnerName)}`);
  }
  machineNamePattern(s.machineName);
}

/** The parameters of lib/runner_scope.sh: which runner entry and MachineName the workers belong to. */
function scopeParams(s: WorkerScope): Record<string, string> {
  return {
    container: s.container,
    config: s.configPath,
    want: s.runnerName ?? "",
    entry: s.runnerName === undefined ? "the only [[runners]] entry" : `[[runners]] "${s.runnerName}"`,
    machine_re: machineNamePattern(s.machineName),
    machine_name: s.machineName,
  };
}

/**
 * Removes this runner's workers of the scope's MachineName that config.toml no longer manages,
 * or that were made with an access key config.toml no longer uses (so they could not be removed
 * once that key is deleted). On destroy config.toml is back to its original, so that is all of
 * them. Waits for their jobs (label JOB_LABEL on the worker's containers) at most
 * drainTimeoutSeconds, removing each as soon as it is idle; fails (WORKER_EXIT.machineFailed) if
 * any remains, so that the access key is not deleted from under it.
 */
export function workerCleanupBody(c: WorkerCleanup): string {
  checkScope(c);
  return shLines(
    ["set -eu"],
    shPreamble({
      ...scopeParams(c),
      job_label: JOB_LABEL,
      drain: checkSeconds(c.drainTimeoutSeconds, "drainTimeoutSeconds"),
      poll: checkSeconds(c.pollSeconds, "pollSeconds"),
    }),
    shSections("lib/die.sh", "lib/runner_scope.sh", "workers/cleanup.sh"),
  );
}

export function workerCleanupScript(c: WorkerCleanup, opts: ScriptOptions = {}): string {
  return shHeader(`gitlab-runner-autoscaling: remove the docker-machine workers of runner.machineName ${c.machineName} that config.toml no longer manages`,
    [`wait for their jobs at most ${c.drainTimeoutSeconds} s`]) + asRoot(workerCleanupBody(c), opts);
}

export interface WorkerNotice extends WorkerScope {
  readonly maxBuilds: number;
  readonly idleTime: number;
}

/**
 * The create of the cleanup resource, re-run whenever the workers' settings change (they are its
 * header): counts this runner's workers, which keep the settings they were made with, and says
 * how they retire. Never fails the update: a worker count is information, not a precondition.
 */
export function workerNoticeBody(n: WorkerNotice): string {
  checkScope(n);
  const retire = n.maxBuilds > 0
    ? `after ${n.maxBuilds} job(s) (MaxBuilds) or ${n.idleTime} s idle (IdleTime)`
    : `after ${n.idleTime} s idle (IdleTime; MaxBuilds is 0, unlimited)`;
  return shLines(["set -u"], shPreamble({ ...scopeParams(n), retire }), shSections("lib/runner_scope.sh", "workers/notice.sh"));
}

export function workerNoticeScript(n: WorkerNotice, settingsLines: readonly string[], opts: ScriptOptions = {}): string {
  return shHeader("gitlab-runner-autoscaling: docker-machine workers of this runner (the settings new workers get)", settingsLines) + asRoot(workerNoticeBody(n), opts);
}

// ---- which settings changes reach the workers that already run ----------------------------------

/**
 * What a change of a setting does to the workers that already run. docker-machine passes
 * MachineOptions to `create` only, so a worker keeps what it was made with ("retire": it goes when
 * MaxBuilds or IdleTime retires it); the runner reads IdleCount/IdleTime/MaxBuilds/limit/
 * autoscaling on every reload ("now"); a new MachineName or access key leaves workers the runner
 * can no longer see or remove, so this program removes them in the same update ("remove").
 */
export type WorkerChangeEffect = "retire" | "now" | "remove";

export const WORKER_SETTING_EFFECTS: Readonly<Record<string, WorkerChangeEffect>> = {
  "ami (ami.* or the rebuilt AMI)": "retire",
  "workers.instanceType": "retire",
  "workers.subnetId": "retire",
  "workers.zone": "retire",
  "workers.securityGroupId": "retire",
  "workers.spot": "retire",
  "workers.privateAddressOnly": "retire",
  "workers.iamInstanceProfile": "retire",
  "workers.tags": "retire",
  "workers.rootSize": "retire",
  "workers.imdsV2": "retire",
  "proxy.*": "retire",
  "runner.idleCount": "now",
  "runner.idleTime": "now",
  "runner.maxBuilds": "now",
  "runner.limit": "now",
  "runner.autoscaling": "now",
  "runner.machineName": "remove",
  "runner.keyGeneration": "remove",
  "runner.credentials": "remove",
};

/** The effect of changing one settings key (a key under a listed prefix counts as that prefix). */
export function workerChangeEffect(key: string): WorkerChangeEffect | undefined {
  if (key.startsWith("ami.")) return "retire";
  if (key.startsWith("proxy.") || key === "proxyCredentials") return "retire";
  if (key.startsWith("workers.tags")) return "retire";
  if (key.startsWith("runner.autoscaling")) return "now";
  return WORKER_SETTING_EFFECTS[key];
}

/** Splits changed settings keys by their effect on running workers (unlisted keys: none). */
export function workerChanges(changedKeys: readonly string[]): Record<WorkerChangeEffect, string[]> {
  const out: Record<WorkerChangeEffect, string[]> = { retire: [], now: [], remove: [] };
  for (const k of changedKeys) {
    const e = workerChangeEffect(k);
    if (e) out[e].push(k);
  }
  return out;
}

/** The summary's lines on the workers' lifecycle: how running workers retire, when they are removed. */
export function retirementNote(r: { maxBuilds: number; idleTime: number; drainTimeoutSeconds: number; machineName: string }): string[] {
  const retire = r.maxBuilds > 0 ? `after ${r.maxBuilds} jobs (MaxBuilds) or ${r.idleTime} s idle (IdleTime)` : `after ${r.idleTime} s idle (IdleTime)`;
  const keys = (e: WorkerChangeEffect) => Object.keys(WORKER_SETTING_EFFECTS).filter((k) => WORKER_SETTING_EFFECTS[k] === e).join(", ");
  return [
    `Running workers keep the settings they were created with: after a change of ${keys("retire")}, they retire ${retire}; the up output counts them.`,
    `A change of ${keys("remove")}, and pulumi destroy, remove this runner's workers of the old ${r.machineName} in the same run, after their jobs end (at most ${r.drainTimeoutSeconds} s).`,
  ];
}

/** The workers' settings, one per line, no secret: the cleanup's header (its diff shows what changed). */
export function workerSettingsLines(w: {
  machineName: string; maxBuilds: number; idleTime: number; amiId: string; instanceType: string; subnetId: string; zone: string;
  securityGroupName: string; spot: boolean; iamInstanceProfile?: string; accessKeyId?: string; stack: string;
}): string[] {
  return [
    `MachineName = ${w.machineName}`,
    `MaxBuilds = ${w.maxBuilds}, IdleTime = ${w.idleTime}`,
    `AMI ${w.amiId}, ${w.instanceType}${w.spot ? ", spot" : ""}, subnet ${w.subnetId}, zone ${w.zone}, security group ${w.securityGroupName}`,
    `instance profile ${w.iamInstanceProfile ?? "(none)"}, access key ${w.accessKeyId ?? "(none: the CI server's role)"}`,
    `tag ${WORKER_STACK_TAG} = ${w.stack}`,
  ];
}
