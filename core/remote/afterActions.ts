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
import { checkCompose, type ComposeContext } from "./composeContext";
import { checkName, checkSeconds } from "./shell";
import { checkWindowGuard, type SnapshotWindowGuard } from "./snapshotWindow";

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
    /** Refuse the write (EXIT.snapshotWindow, nothing written) when its recreate would meet the snapshot window. */
    readonly window?: SnapshotWindowGuard;
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

export function checkAfter(a: AfterAction): void {
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
      if (a.window) checkWindowGuard(a.window, "after.window");
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

// ---- the shell: core/remote/sh/after/ and restore-after/, one file per kind ----------------------

/** What an after-action adds to a script: its parameters (for the preamble) and its files, shared functions first. */
export interface AfterScript {
  readonly params: Readonly<Record<string, string | number>>;
  readonly files: readonly string[];
}

const DOCKERD_RELOAD_WAIT = 10;

/** A graceful stop's parameters; polled every 5 s for long bounds, else every second. */
function stopParams(g: GracefulStop | undefined): Record<string, string | number> {
  return {
    stop_container: g?.container ?? "",
    stop_timeout: g?.timeoutSeconds ?? 0,
    stop_poll: g ? (g.timeoutSeconds > 60 ? 5 : 1) : 0,
  };
}

function composeUpParams(a: Extract<AfterAction, { kind: "compose-up" }>): Record<string, string | number> {
  const h = a.waitHealthy;
  return {
    compose_dir: a.compose.appDir,
    services: a.services.join(" "),
    has_stop: a.gracefulStop ? 1 : 0,
    ...stopParams(a.gracefulStop),
    has_health: h ? 1 : 0,
    health_container: h?.container ?? "",
    health_timeout: h?.timeoutSeconds ?? 0,
    health_poll: h?.pollSeconds ?? 0,
  };
}

/** The guarded write's after-action: defines `after` (non-zero with $why set), `after_again`, $after_done, $after_check. */
export function afterScript(a: AfterAction): AfterScript {
  switch (a.kind) {
    case "compose-up":
      return { params: composeUpParams(a), files: ["lib/stop_gracefully.sh", "lib/wait_healthy.sh", "after/compose-up.sh"] };
    case "dockerd-restart":
      return { params: {}, files: ["lib/live_restore.sh", "after/dockerd-restart.sh"] };
    case "dockerd-reload":
      return { params: { reload_timeout: a.timeoutSeconds ?? DOCKERD_RELOAD_WAIT }, files: ["lib/live_restore.sh", "lib/reload_live.sh", "after/dockerd-reload.sh"] };
    case "runner-reload": {
      const r = a.restartLeavingAutoscaler;
      return {
        params: {
          runner_container: a.container,
          runner_timeout: a.timeoutSeconds,
          has_leave: r ? 1 : 0,
          compose_dir: r?.compose.appDir ?? "",
          leave_service: r?.service ?? "",
          ...stopParams(r?.gracefulStop),
        },
        files: ["lib/runner_reloaded.sh", "lib/autoscaler_entries.sh", "lib/stop_gracefully.sh", "after/runner-reload.sh"],
      };
    }
  }
}

/** The restore's after-action: defines `restore_after`, run once the original is back. */
export function restoreAfterScript(a: AfterAction): AfterScript {
  switch (a.kind) {
    case "compose-up":
      return { params: composeUpParams(a), files: ["lib/compose_select.sh", "lib/stop_gracefully.sh", "lib/wait_healthy.sh", "restore-after/compose-up.sh"] };
    case "dockerd-restart":
      return { params: {}, files: ["lib/live_restore.sh", "restore-after/dockerd-restart.sh"] };
    case "dockerd-reload":
      return { params: {}, files: ["restore-after/dockerd-reload.sh"] };
    case "runner-reload":
      return { params: { runner_container: a.container, runner_timeout: a.timeoutSeconds }, files: ["lib/runner_reloaded.sh", "restore-after/runner-reload.sh"] };
  }
}
