// What a guarded write does after the rename, and what its restore does after putting the
// original back: the restarts and reloads, each verified. Pure: an action in, sh lines out; used by
// core/remote/scripts.ts. The after() contract: return 0, or set $why and return non-zero; the write then
// puts the previous file back and runs after_again.
//
// Facts these rely on (sources):
// - GitLab Runner re-reads config.toml when its mtime is newer (every 3 s) and logs
//   "Configuration loaded", or "Failed to load config" and keeps the old configuration:
//   commands/multi.go reloadConfig/checkConfig, identical texts in tags v12.0.0 … v18.11.0
//   (github.com/gitlabhq/gitlab-runner). Logrus writes to stderr, in "runner", text or JSON format;
//   all three carry the message verbatim.
// - The runner finishes running jobs on SIGQUIT and aborts them on SIGTERM/SIGINT (docs/commands,
//   "Signals"; multi.go handleGracefulShutdown). Its images declare STOPSIGNAL SIGQUIT (dockerfiles/
//   runner/{ubuntu,alpine}/Dockerfile, v12.x … v17.10), but `docker stop`, `docker restart` and a
//   compose recreate send SIGKILL after their grace period, 10 s by default
//   (docs.docker.com/reference/cli/docker/container/stop/), which kills longer jobs.
// - `docker kill -s QUIT` on a container whose stop signal is QUIT (or unset) marks it to exit
//   without its restart policy (moby daemon/kill.go killWithSignal: ExitOnNext), so
//   `restart: always` does not bring it back before the recreate.
// - live-restore is switched on by a reload ("systemctl reload docker", SIGHUP) without a restart
//   (docs.docker.com/engine/daemon/live-restore/); dockerd refuses it with swarm mode
//   (moby daemon/config/config_linux.go: "--live-restore daemon configuration is incompatible
//   with swarm mode"); a key set both as a flag and in daemon.json stops dockerd from starting.
import type { ComposeContext } from "./composeContext";
import { checkName, checkSeconds, shPath, shQuote } from "./shell";

export interface HealthWait {
  readonly container: string;
  readonly timeoutSeconds: number;
  readonly pollSeconds: number;
}

/** SIGQUIT to the runner container, then a bounded wait for its jobs to finish, before a recreate. */
export interface GracefulStop {
  readonly container: string;
  /** 0 = send SIGQUIT and go on at once. */
  readonly timeoutSeconds: number;
}

export type AfterAction =
  | {
    readonly kind: "compose-up"; readonly compose: ComposeContext; readonly services: string[];
    readonly waitHealthy?: HealthWait; readonly gracefulStop?: GracefulStop;
  }
  /** The docker drop-in: daemon-reload and restart, only with live-restore on. */
  | { readonly kind: "dockerd-restart" }
  /** daemon.json: reload dockerd (no restart) and check that live-restore is on. */
  | { readonly kind: "dockerd-reload"; readonly timeoutSeconds?: number }
  /** config.toml: wait for the runner container's log to show the reload of the new file. */
  | {
    readonly kind: "runner-reload"; readonly container: string; readonly timeoutSeconds: number;
    /** Restart gracefully instead when the new file has fewer docker-autoscaler entries than the old one. */
    readonly restartLeavingAutoscaler?: LeavingAutoscaler;
  };

/**
 * A reload does not stop a runner entry's taskscaler and fleeting plugin: the autoscaler provider
 * keeps them per token until the runner shuts down (executors/internal/autoscaler/provider.go:
 * scalers are removed only in Shutdown; commands/multi.go calls it once all workers stopped). An
 * entry leaving docker-autoscaler by a reload would keep scaling the old Auto Scaling group (its
 * idle instances) while that group is deleted; a graceful restart shuts them down first.
 */
export interface LeavingAutoscaler {
  readonly compose: ComposeContext;
  readonly service: string;
  readonly gracefulStop: GracefulStop;
}

function checkGracefulStop(g: GracefulStop, what: string): void {
  checkName(g.container, `${what}.container`);
  if (!Number.isInteger(g.timeoutSeconds) || g.timeoutSeconds < 0) {
    throw new Error(`${what}.timeoutSeconds must be a whole number >= 0, got ${g.timeoutSeconds}`);
  }
}

export function checkAfter(a: AfterAction, checkCompose: (c: ComposeContext, what: string) => void): void {
  switch (a.kind) {
    case "compose-up":
      checkCompose(a.compose, "after.compose");
      if (a.services.length === 0) throw new Error("after.services must name at least one service");
      a.services.forEach((s) => checkName(s, "service"));
      if (a.waitHealthy) {
        checkName(a.waitHealthy.container, "waitHealthy.container");
        checkSeconds(a.waitHealthy.timeoutSeconds, "waitHealthy.timeoutSeconds");
        checkSeconds(a.waitHealthy.pollSeconds, "waitHealthy.pollSeconds");
      }
      if (a.gracefulStop) checkGracefulStop(a.gracefulStop, "gracefulStop");
      return;
    case "dockerd-restart":
      return;
    case "dockerd-reload":
      if (a.timeoutSeconds !== undefined) checkSeconds(a.timeoutSeconds, "dockerd-reload.timeoutSeconds");
      return;
    case "runner-reload":
      checkName(a.container, "runner-reload.container");
      checkSeconds(a.timeoutSeconds, "runner-reload.timeoutSeconds");
      if (a.restartLeavingAutoscaler) {
        const r = a.restartLeavingAutoscaler;
        checkCompose(r.compose, "restartLeavingAutoscaler.compose");
        checkName(r.service, "restartLeavingAutoscaler.service");
        checkGracefulStop(r.gracefulStop, "restartLeavingAutoscaler.gracefulStop");
      }
      return;
    default:
      throw new Error(`unknown after-action ${JSON.stringify(a)}`);
  }
}

// ---- shell functions ----------------------------------------------------------------------------

const info = (field: string) => `docker info --format '{{${field}}}' 2>/dev/null`;

/** `live_restore` sets $lr to true/false/unknown. */
const LIVE_RESTORE_FN = [`live_restore() { lr=$(${info(".LiveRestoreEnabled")}) || lr=unknown; }`];

const NOT_LIVE =
  "live-restore is not on in dockerd ($lr), so a restart would stop every container (GitLab, its database, Nexus, the runner)";

export function waitFn(h: HealthWait): string[] {
  return [
    "wait_healthy() {",
    "  waited=0",
    "  while :; do",
    `    st=$(docker inspect -f "{{.State.Health.Status}}" ${shQuote(h.container)} 2>/dev/null) || st=unknown`,
    "    [ \"$st\" = healthy ] && return 0",
    `    echo "waiting for ${h.container} to be healthy: $st ($waited s)"`,
    `    [ "$waited" -lt ${h.timeoutSeconds} ] || return 1`,
    `    sleep ${h.pollSeconds}`,
    `    waited=$((waited + ${h.pollSeconds}))`,
    "  done",
    "}",
  ];
}

/** `stop_gracefully`: SIGQUIT, then up to the bound for the jobs to finish; never fails. */
function gracefulStopFn(g: GracefulStop): string[] {
  const c = shQuote(g.container);
  const poll = g.timeoutSeconds > 60 ? 5 : 1;
  return [
    "stop_gracefully() {",
    `  st=$(docker inspect -f "{{.State.Running}}" ${c} 2>/dev/null) || return 0`,
    "  [ \"$st\" = true ] || return 0",
    `  echo "stopping ${g.container} gracefully: SIGQUIT, running jobs may finish (up to ${g.timeoutSeconds} s)"`,
    `  docker kill --signal=QUIT ${c} >/dev/null || return 0`,
    "  stopped=0",
    "  while :; do",
    `    st=$(docker inspect -f "{{.State.Running}}" ${c} 2>/dev/null) || st=gone`,
    "    [ \"$st\" = true ] || break",
    `    if [ "$stopped" -ge ${g.timeoutSeconds} ]; then`,
    `      echo "warning: ${g.container} still has running jobs after ${g.timeoutSeconds} s; the recreate stops it now and aborts them." >&2`,
    "      return 0",
    "    fi",
    `    sleep ${poll}`,
    `    stopped=$((stopped + ${poll}))`,
    "    [ $((stopped % 30)) -ne 0 ] || echo \"waiting for the jobs of " + g.container + " to finish ($stopped s)\"",
    "  done",
    `  echo "${g.container} stopped after its jobs finished ($stopped s)"`,
    "}",
  ];
}

// Masks what a config.toml error may echo: runner and GitLab tokens, and values of key-like names.
const MASK_SED = [
  "s/\\(glrt-\\|glpat-\\|glcbt-\\|GR1348941\\)[A-Za-z0-9_-]*/\\1[masked]/g",
  "s/\\([Tt]oken\\|[Ss]ecret\\|[Pp]assword\\|[Kk]ey\\)\\([A-Za-z_-]*\\)\\([\"']\\{0,1\\} *[=:] *[\"']\\{0,1\\}\\)[^\"' ,]*/\\1\\2\\3[masked]/g",
].join("; ");

/**
 * `runner_reloaded`: reads the runner's log since $since (the file's mtime, so only reloads of this
 * file count) until "Configuration loaded" (0) or "Failed to load config" (1, $why with the masked
 * log lines); 1 when neither shows within the bound. A stopped container loads the file when it
 * starts, and a log driver without `docker logs` cannot be read: both are reported, not failures.
 */
function runnerReloadFn(container: string, timeoutSeconds: number): string[] {
  const c = shQuote(container);
  return [
    `mask_secrets() { sed -e ${shQuote(MASK_SED)}; }`,
    "runner_reloaded() {",
    `  st=$(docker inspect -f "{{.State.Running}}" ${c} 2>/dev/null) || st=absent`,
    "  if [ \"$st\" != true ]; then",
    `    echo "warning: container ${container} is not running ($st): it loads $target when it starts." >&2`,
    "    return 0",
    "  fi",
    "  waited=0",
    "  while :; do",
    `    if ! logs=$(docker logs --since "$since" ${c} 2>&1); then`,
    `      echo "warning: cannot read the log of ${container} (its logging driver?); the reload of $target is not verified." >&2`,
    "      return 0",
    "    fi",
    "    case $logs in",
    "      *'Failed to load config'*)",
    "        excerpt=$(printf '%s\\n' \"$logs\" | grep -F 'Failed to load config' | tail -n 3 | cut -c 1-400 | mask_secrets)",
    `        why="${container} did not load the new $target and keeps its previous configuration; its log says: $excerpt"`,
    "        return 1 ;;",
    `      *'Configuration loaded'*) echo "${container} reloaded $target ($waited s)"; return 0 ;;`,
    "    esac",
    `    if [ "$waited" -ge ${timeoutSeconds} ]; then`,
    `      why="${container} logged no \\"Configuration loaded\\" within ${timeoutSeconds} s of writing $target (it re-reads the file every 3 s)"`,
    "      return 1",
    "    fi",
    "    sleep 1",
    "    waited=$((waited + 1))",
    "  done",
    "}",
  ];
}

const DOCKERD_RELOAD_WAIT = 10;

function dockerdReloadFns(timeoutSeconds = DOCKERD_RELOAD_WAIT): string[] {
  return [
    ...LIVE_RESTORE_FN,
    "reload_live() {",
    "  systemctl reload docker || { why=\"systemctl reload docker failed\"; return 1; }",
    "  waited=0",
    "  while :; do",
    "    live_restore",
    "    [ \"$lr\" = true ] && { echo \"dockerd reloaded: live-restore is on, no container was restarted\"; return 0; }",
    `    if [ "$waited" -ge ${timeoutSeconds} ]; then`,
    `      why="docker info reports live-restore $lr ${timeoutSeconds} s after systemctl reload docker; dockerd may have rejected $target (see journalctl -u docker)"`,
    "      return 1",
    "    fi",
    "    sleep 1",
    "    waited=$((waited + 1))",
    "  done",
    "}",
  ];
}

/** `autoscaler_entries FILE`: how many `executor = "docker-autoscaler"` lines FILE has. */
const AUTOSCALER_ENTRIES_FN =
  `autoscaler_entries() { grep -Ec ${shQuote("^[[:space:]]*executor[[:space:]]*=[[:space:]]*[\"']docker-autoscaler[\"']")} "$1" || true; }`;

/** Shell that defines `after` (returns non-zero with $why set), `after_again` and messages. */
export function afterFns(a: AfterAction): string[] {
  switch (a.kind) {
    case "dockerd-restart":
      return [
        ...LIVE_RESTORE_FN,
        "after_done='left docker running as it was'",
        "restarted=0",
        "after() {",
        "  live_restore",
        `  [ "$lr" = true ] || { why="${NOT_LIVE}; docker was not restarted"; return 1; }`,
        "  restarted=1",
        "  after_done='restarted docker'",
        "  systemctl daemon-reload && systemctl restart docker && return 0",
        "  why=\"docker did not restart with the new $target\"; return 1",
        "}",
        "after_again() { [ \"$restarted\" = 0 ] || { systemctl daemon-reload && systemctl restart docker; }; }",
        "after_check='check \"systemctl status docker\", \"journalctl -u docker\" and \"docker info\"'",
      ];
    case "dockerd-reload":
      return [
        ...dockerdReloadFns(a.timeoutSeconds),
        "after() {",
        `  swarm=$(${info(".Swarm.LocalNodeState")}) || swarm=unknown`,
        "  if [ \"$swarm\" = active ]; then",
        "    why=\"this dockerd is in swarm mode, which live-restore does not support; nothing was reloaded or restarted. Leave swarm mode (docker swarm leave), or restart docker at a time GitLab may go down\"",
        "    return 1",
        "  fi",
        "  live_restore",
        "  if [ \"$lr\" = true ]; then",
        "    why=\"dockerd already runs with live-restore on although $target did not set it (a --live-restore flag?); the option in both places would stop dockerd from starting. Remove the flag, then run pulumi up again\"",
        "    return 1",
        "  fi",
        "  reload_live",
        "}",
        "after_again() { systemctl reload docker; }",
        "after_done='reloaded docker'",
        "after_check='check \"journalctl -u docker\"'",
      ];
    case "runner-reload": {
      const r = a.restartLeavingAutoscaler;
      const up = r && `(cd ${shPath(r.compose.appDir)} && compose up -d --no-deps ${shQuote(r.service)})`;
      return [
        ...runnerReloadFn(a.container, a.timeoutSeconds),
        ...(r ? [...gracefulStopFn(r.gracefulStop), AUTOSCALER_ENTRIES_FN, "restarted=0"] : []),
        "after() {",
        ...(r ? [
          // $backup is the file this write replaced (none when it created the file).
          "  if [ -n \"$backup\" ] && [ \"$(autoscaler_entries \"$backup\")\" -gt \"$(autoscaler_entries \"$target\")\" ]; then",
          `    echo "${a.container} leaves docker-autoscaler, whose taskscaler a reload does not stop: restarting it"`,
          "    restarted=1",
          `    after_done=${shQuote(`ran compose up -d --no-deps ${r.service} again`)}`,
          "    stop_gracefully",
          `    ${up} || { why="compose up of ${r.service} failed with the new $target"; return 1; }`,
          "    return 0",
          "  fi",
        ] : []),
        "  since=$(date -r \"$target\" +%s.%N)",
        "  runner_reloaded",
        "}",
        // The restored file is what the runner still runs: it kept it when the new one failed.
        r ? `after_again() { [ "$restarted" = 0 ] || ${up}; }` : "after_again() { :; }",
        `after_done=${shQuote(`${a.container} keeps the configuration it had`)}`,
        `after_check=${shQuote(`check "docker logs ${a.container}"`)}`,
      ];
    }
    case "compose-up": {
      const svcs = a.services.map((s) => shQuote(s)).join(" ");
      const g = a.gracefulStop;
      const up = [
        ...(g ? ["  stop_gracefully"] : []),
        `  (cd ${shPath(a.compose.appDir)} && compose up -d --no-deps ${svcs}) || {`,
        `    why="compose up of ${a.services.join(" ")} failed with the new $target"; return 1`,
        "  }",
      ];
      const h = a.waitHealthy;
      return [
        ...(h ? waitFn(h) : []),
        ...(g ? gracefulStopFn(g) : []),
        "after() {",
        ...up,
        ...(h
          ? ["  wait_healthy && return 0",
            `  why="container ${h.container} did not report healthy within ${h.timeoutSeconds} s"; return 1`]
          : ["  return 0"]),
        "}",
        `after_again() { (cd ${shPath(a.compose.appDir)} && compose up -d --no-deps ${svcs}); }`,
        `after_done=${shQuote(`ran compose up -d --no-deps ${a.services.join(" ")} again`)}`,
        `after_check=${shQuote(h ? `check "docker logs ${h.container}"` : "see the compose output above")}`,
      ];
    }
  }
}

/** The lines a restore runs after putting the original back (composeFn: the compose detection). */
export function restoreAfterLines(a: AfterAction | undefined, composeFn: (c: ComposeContext["command"]) => string[]): string[] {
  if (!a) return [];
  switch (a.kind) {
    case "dockerd-restart":
      // Destroy never takes GitLab down either: without live-restore the restart is left to the operator.
      return [
        ...LIVE_RESTORE_FN,
        "live_restore",
        "if [ \"$lr\" = true ]; then",
        "  { systemctl daemon-reload && systemctl restart docker; } ||",
        "    die 5 \"restored $target but docker did not restart; check 'journalctl -u docker', then run pulumi destroy again.\"",
        "else",
        "  systemctl daemon-reload ||",
        "    die 5 \"restored $target but systemctl daemon-reload failed; run pulumi destroy again.\"",
        `  echo "warning: ${NOT_LIVE}; docker was not restarted and keeps the old settings until its next restart (systemctl restart docker)." >&2`,
        "fi",
      ];
    case "dockerd-reload":
      return [
        "systemctl reload docker ||",
        "  die 5 \"restored $target but systemctl reload docker failed; check 'journalctl -u docker', then run pulumi destroy again.\"",
        "echo \"reloaded docker\"",
      ];
    case "runner-reload":
      // A copy keeps the original's old mtime, which the runner would not take for a change.
      return [
        ...runnerReloadFn(a.container, a.timeoutSeconds),
        "if [ -e \"$target\" ]; then",
        "  touch \"$target\"",
        "  since=$(date -r \"$target\" +%s.%N)",
        "  runner_reloaded || echo \"warning: $why.\" >&2",
        "fi",
      ];
    case "compose-up": {
      const svcs = a.services.map((s) => shQuote(s)).join(" ");
      const g = a.gracefulStop;
      const lines = [
        ...composeFn(a.compose.command),
        ...(g ? [...gracefulStopFn(g), "stop_gracefully"] : []),
        `(cd ${shPath(a.compose.appDir)} && compose up -d --no-deps ${svcs}) ||`,
        `  die 5 "restored $target but compose up of ${a.services.join(" ")} failed (output above); run pulumi destroy again to retry."`,
      ];
      if (a.waitHealthy) {
        const h = a.waitHealthy;
        lines.push(...waitFn(h),
          `wait_healthy || echo "warning: container ${h.container} did not report healthy within ${h.timeoutSeconds} s after the restore; check 'docker logs ${h.container}'." >&2`);
      }
      return lines;
    }
  }
}
