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
import { asRoot, checkName, checkSeconds, shComment, shPath, shQuote, shQuoteScript, type ScriptOptions } from "../../remote/shell";

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

const lines = (...ls: (string | false | undefined)[][]) =>
  ls.flat().filter((l): l is string => typeof l === "string").join("\n") + "\n";

// Reads the chosen [[runners]] entry of config.toml: entry count, matches, executor, MachineName,
// the access key id in its MachineOptions, and the token (kept in a variable, never printed).
const RUNNER_AWK = [
  "function unq(s) {",
  "  sub(/^[^=]*=[ \\t]*/, \"\", s); sub(/[ \\t\\r]+$/, \"\", s)",
  "  if (s ~ /^\"/) { s = substr(s, 2); sub(/\".*$/, \"\", s) }",
  "  return s",
  "}",
  "/^[ \\t]*\\[\\[runners\\]\\]/ { n++; sec = \"top\"; next }",
  "/^[ \\t]*\\[runners\\.machine\\][ \\t]*$/ { if (n) sec = \"machine\"; next }",
  "/^[ \\t]*\\[/ { sec = \"\"; next }",
  "n && sec == \"top\" && /^[ \\t]*name[ \\t]*=/ { name[n] = unq($0) }",
  "n && sec == \"top\" && /^[ \\t]*token[ \\t]*=/ { token[n] = unq($0) }",
  "n && sec == \"top\" && /^[ \\t]*executor[ \\t]*=/ { executor[n] = unq($0) }",
  "n && sec == \"machine\" && /^[ \\t]*MachineName[ \\t]*=/ { mname[n] = unq($0) }",
  "n && sec == \"machine\" && /amazonec2-access-key=/ { s = $0; sub(/.*amazonec2-access-key=/, \"\", s); sub(/[^A-Za-z0-9].*$/, \"\", s); akey[n] = s }",
  "END {",
  "  pick = 0; matches = 0",
  "  for (i = 1; i <= n; i++) if (want == \"\" || name[i] == want) { pick = i; matches++ }",
  "  print n + 0; print matches",
  "  print executor[pick]; print mname[pick]; print akey[pick]; print token[pick]",
  "}",
].join("\n");

/**
 * Shell that defines scope(), which sets info (the chosen entry: executor, MachineName and access
 * key on lines 3-5, see line()) and re (the ERE of this runner's worker names for the scope's
 * MachineName). `fail`
 * is the command run with a code and a message when that cannot be done; it must not return.
 */
function scopeFns(s: WorkerScope, fail: string): string[] {
  const entry = s.runnerName === undefined ? "the only [[runners]] entry" : `[[runners]] "${s.runnerName}"`;
  return [
    `container=${shQuote(s.container)}`,
    `config=${shPath(s.configPath)}`,
    `want=${shQuote(s.runnerName ?? "")}`,
    `entry=${shQuote(entry)}`,
    `machine_re=${shQuote(machineNamePattern(s.machineName))}`,
    `machine_name=${shQuote(s.machineName)}`,
    "dm() { timeout 300 docker exec \"$container\" docker-machine \"$@\"; }",
    "line() { printf '%s\\n' \"$info\" | sed -n \"$1p\"; }",
    "scope() {",
    `  [ -f "$config" ] || { ${fail} ${WORKER_EXIT.runnerDown} "$config does not exist: cannot tell this runner's workers."; }`,
    "  running=$(docker inspect -f '{{.State.Running}}' \"$container\" 2>/dev/null) || running=false",
    `  [ "$running" = true ] || { ${fail} ${WORKER_EXIT.runnerDown} "the runner container $container is not running, so its docker-machine workers cannot be listed or removed. Start it (compose up -d gitlab-runner in the app directory) and run pulumi again; or remove the workers by hand (README, Troubleshooting)."; }`,
    `  info=$(awk -v want="$want" ${shQuoteScript(RUNNER_AWK)} "$config") || { ${fail} ${WORKER_EXIT.noRunner} "could not read $config."; }`,
    "  [ \"$(line 2)\" = 1 ] || { " + fail + ` ${WORKER_EXIT.noRunner} "$config has $(line 1) [[runners]] entries and $(line 2) match $entry: cannot tell this runner's workers. Remove them by hand (README, Troubleshooting)."; }`,
    // The token stays in this variable: only the short prefix the runner itself logs is printed.
    "  token=$(line 6)",
    "  case $token in",
    `    ''|*[!A-Za-z0-9_-]*) ${fail} ${WORKER_EXIT.noRunner} "the token of $entry in $config is not a literal token: cannot tell this runner's workers." ;;`,
    "  esac",
    "  first8=$(printf '%s\\n' \"$token\" | cut -c1-8)",
    "  case $token in",
    "    glrt-*) shorts=$(printf '%s\\n' \"$token\" | cut -c6-14) ;;",
    // Runners that predate these prefixes took the first 8 characters.
    "    glrtr-*|glcbt-*) shorts=\"$(printf '%s\\n' \"$token\" | cut -c7-15) $first8\" ;;",
    "    GR*)",
    "      if [ ${#token} -ge 17 ] && printf '%s\\n' \"$token\" | cut -c3-9 | grep -Eqx '[0-9A-Fa-f]{7}'; then",
    "        shorts=\"$(printf '%s\\n' \"$token\" | cut -c1-17) $first8\"",
    "      else",
    "        shorts=$first8",
    "      fi ;;",
    "    *) shorts=$first8 ;;",
    "  esac",
    "  [ ${#token} -ge 8 ] || shorts=$token",
    "  alts=",
    "  for t in $shorts; do",
    "    low=$(printf '%s\\n' \"$t\" | tr '[:upper:]' '[:lower:]')",
    // RFC 1123 cleaning (runner 13+): lower case, drop other characters, no leading '-'.
    "    clean=$(printf '%s\\n' \"$low\" | tr -cd 'a-z0-9\\n-' | sed 's/^-*//')",
    "    for v in $low $clean; do",
    "      case \"|$alts|\" in *\"|$v|\"*) ;; *) alts=${alts:+$alts|}$v ;; esac",
    "    done",
    "  done",
    "  re=\"^runner-($alts)-$machine_re\\$\"",
    "  prefixes=$(printf '%s\\n' \"$alts\" | sed 's/|/, /g')",
    "}",
  ];
}

function header(title: string, summary: readonly string[]): string {
  return [title, ...summary].map(shComment).join("\n") + "\n";
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
  const drain = checkSeconds(c.drainTimeoutSeconds, "drainTimeoutSeconds");
  const poll = checkSeconds(c.pollSeconds, "pollSeconds");
  return lines(
    ["set -eu", "exec < /dev/null", "PATH=\"$PATH:/usr/local/sbin:/usr/local/bin\"", "export PATH"],
    [`die() { code=$1; shift; printf "%s\\n" "$*" >&2; exit "$code"; }`],
    scopeFns(c, "die"),
    [
      "scope",
      "executor=$(line 3); cur_mname=$(line 4); cur_key=$(line 5)",
      "names=$(dm ls -q) || die " + WORKER_EXIT.machineFailed + " \"docker-machine ls failed in $container (output above); nothing was removed.\"",
      "mine=$(printf '%s\\n' \"$names\" | grep -E \"$re\" || true)",
      "managed=no",
      "[ \"$executor\" = docker+machine ] && [ \"$cur_mname\" = \"$machine_name\" ] && managed=yes",
      "remove=",
      "kept=0",
      "for m in $mine; do",
      // Still the runner's: keep it if it was made with the key config.toml uses now.
      "  if [ \"$managed\" = yes ]; then",
      "    k=$(dm inspect -f '{{.Driver.AccessKey}}' \"$m\" 2>/dev/null) || k='?'",
      "    if [ \"$k\" = \"$cur_key\" ]; then kept=$((kept + 1)); continue; fi",
      "  fi",
      "  remove=\"$remove $m\"",
      "done",
      "total=$(printf '%s\\n' \"$mine\" | grep -c . || true)",
      "echo \"workers of $entry (runner-<$prefixes>-$machine_name): $total found, $kept still managed with the current settings\"",
      "if [ -z \"$remove\" ]; then",
      "  echo 'no worker to remove'",
      "  exit 0",
      "fi",
      // The remote command as one argument, the form docker-machine's docs show.
      "busy() {",
      `  ids=$(timeout 60 docker exec "$container" docker-machine ssh "$1" 'sudo docker ps -q --filter label=${JOB_LABEL}' 2>/dev/null) || return 1`,
      "  [ -n \"$ids\" ]",
      "}",
      "removed=",
      "failed=",
      "cut=",
      "rm_one() {",
      "  if dm rm -y \"$1\"; then removed=\"$removed $1\"; else failed=\"$failed $1\"; fi",
      "}",
      `drain=${drain}`,
      `poll=${poll}`,
      "waited=0",
      "pending=$remove",
      "while [ -n \"$pending\" ]; do",
      "  still=",
      "  for m in $pending; do",
      // An unreachable worker cannot be running a job for us: it is removed too.
      "    if busy \"$m\"; then still=\"$still $m\"; else rm_one \"$m\"; fi",
      "  done",
      "  pending=$still",
      "  [ -n \"$pending\" ] || break",
      "  if [ \"$waited\" -ge \"$drain\" ]; then",
      "    echo \"jobs still running after $drain s on:$pending; removing those workers anyway (the jobs fail)\"",
      "    cut=$pending",
      "    for m in $pending; do rm_one \"$m\"; done",
      "    break",
      "  fi",
      "  echo \"waiting for the jobs on:$pending ($waited s of at most $drain s)\"",
      "  sleep \"$poll\"",
      "  waited=$((waited + poll))",
      "done",
      "echo \"removed:${removed:- none}\"",
      "[ -z \"$cut\" ] || echo \"removed with a job still running:$cut\"",
      "if [ -n \"$failed\" ]; then",
      `  die ${WORKER_EXIT.machineFailed} "could not remove:$failed (docker-machine output above). The access key they need is kept until they are gone: check the instances (README, Troubleshooting), remove them, or run 'docker exec $container docker-machine rm -f -y <name>' for one whose instance is already terminated, then run pulumi again."`,
      "fi",
    ],
  );
}

export function workerCleanupScript(c: WorkerCleanup, opts: ScriptOptions = {}): string {
  return header(`gitlab-runner-autoscaling: remove the docker-machine workers of runner.machineName ${c.machineName} that config.toml no longer manages`,
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
  return lines(
    ["set -u", "exec < /dev/null", "PATH=\"$PATH:/usr/local/sbin:/usr/local/bin\"", "export PATH"],
    ["note() { shift; printf 'worker count not available: %s\\n' \"$*\"; exit 0; }"],
    scopeFns(n, "note"),
    [
      "scope",
      "names=$(dm ls -q 2>/dev/null) || note 0 \"docker-machine ls failed in $container\"",
      "count=$(printf '%s\\n' \"$names\" | grep -Ec \"$re\" || true)",
      `echo "$count worker(s) of $entry (runner-<$prefixes>-$machine_name) exist; they keep the settings they were created with and retire ${retire}."`,
    ],
  );
}

export function workerNoticeScript(n: WorkerNotice, settingsLines: readonly string[], opts: ScriptOptions = {}): string {
  return header("gitlab-runner-autoscaling: docker-machine workers of this runner (the settings new workers get)", settingsLines) + asRoot(workerNoticeBody(n), opts);
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
