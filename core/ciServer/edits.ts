// What each CI-server step of the runbook writes, as pure specs: the guarded-write parameters
// (known at preview, so `pulumi preview --diff` shows the managed values) and a render function
// from the file's current text to its new text (run on the remote read's result).
import * as path from "node:path";
import type { Settings } from "../../settings/types";
import { setEnvVars } from "./commonEnv/commonEnv";
import { editCompose, imageOf } from "./compose/composeFile";
import { mergeRunnerConfig, type RunnerMachineEdit } from "./configToml/configToml";
import type { RemoteEdit } from "../remote/remoteEdit";
import { cacheSummary, mergeRunnerCache, type RunnerCacheEdit } from "./configToml/configTomlCache";
import { machineOptions, maskMachineOptions, type MachineOptionsInput } from "./configToml/machineOptions";
import { DAEMON_JSON_PATH, LIVE_RESTORE_KEY, withLiveRestore } from "./dockerd/daemonJson";
import { CI_DOCKER_DROPIN_PATH, dockerdProxyDropIn, hasCredentials, maskProxyUrls, type ProxyUrls } from "../proxy/proxyFiles";
import type { AfterAction, ComposeContext, GracefulStop } from "../remote/scripts";
import type { SnapshotWindowGuard } from "../remote/upgradeScripts";
import { runnerSkewWarning, upgradeProblems } from "./compose/upgradePath";

export type { RemoteEdit } from "../remote/remoteEdit";

export const RUNNER_SERVICE = "gitlab-runner";
export const GITLAB_SERVICE = "gitlab";
export const ENV_FILE = "./common.env";
/** Collaborage's compose file sets container_name: gitlab-runner for the runner service. */
export const RUNNER_CONTAINER = "gitlab-runner";
/** The runner re-reads config.toml every 3 s: 15 s is five chances to log the reload. */
export const RUNNER_RELOAD_TIMEOUT_SECONDS = 15;

/** Every runner recreate this program makes: SIGQUIT first, so running jobs can finish. */
export const gracefulStop = (s: Pick<Settings, "runner">): GracefulStop => ({ container: RUNNER_CONTAINER, timeoutSeconds: s.runner.gracefulStopSeconds });

export const compose = (s: Pick<Settings, "ciServer">): ComposeContext => ({ appDir: s.ciServer.appDir, command: s.ciServer.composeCommand });

/** The snapshot window recreates must keep out of: none when the stack sets none or overrides it. */
export const activeWindow = (s: Pick<Settings, "ciServer">): Settings["ciServer"]["snapshotWindow"] =>
  s.ciServer.allowInSnapshotWindow ? undefined : s.ciServer.snapshotWindow;

/**
 * The snapshot-window check of a recreate (core/gitlabUpgrade/window.ts): none when the stack sets
 * no window or overrides it. `boundSeconds`: the most the recreate and its waits may take.
 */
export function windowGuard(s: Pick<Settings, "ciServer">, boundSeconds: number): { window?: SnapshotWindowGuard } {
  const w = activeWindow(s);
  if (!w) return {};
  return { window: { start: w.start, end: w.end, boundSeconds, settingKey: "ciServer.snapshotWindow", overrideKey: "ciServer.allowInSnapshotWindow" } };
}

/** A runner recreate's bound: its graceful stop, then a minute for the recreate itself. */
export const runnerRecreateBound = (s: Pick<Settings, "runner">): number => s.runner.gracefulStopSeconds + 60;

/**
 * A graceful runner restart, for settings the runner does not reload ([runners.autoscaler]):
 * SIGQUIT and a bounded wait for its jobs, then compose up starts the stopped container again.
 */
export const runnerRestart = (s: Pick<Settings, "ciServer" | "runner">): AfterAction =>
  ({ kind: "compose-up", compose: compose(s), services: [RUNNER_SERVICE], gracefulStop: gracefulStop(s), ...windowGuard(s, runnerRecreateBound(s)) });
export const composePath = (s: Settings) => path.posix.join(s.ciServer.appDir, "docker-compose.yml");
export const commonEnvPath = (s: Settings) => path.posix.join(s.ciServer.appDir, "common.env");

/** The file must exist; if not, the one key that places it is named, with the command that sets it. */
export function need(current: string | null, file: string, key: "ciServer.appDir" | "ciServer.runnerConfigPath" = "ciServer.appDir"): string {
  if (current === null) {
    const what = key === "ciServer.appDir" ? "the directory of docker-compose.yml and common.env" : "the runner's config.toml on the host";
    throw new Error(`${file} does not exist on the CI server; set ${key} to ${what}: pulumi config set --path ${key} <path>`);
  }
  return current;
}

/**
 * The runbook's Collaborage 1.1 step as one edit: newer images, then (when GitLab is recreated) a
 * wait for GitLab. The program uses it for a runner bump alone; a GitLab target goes hop by hop
 * (upgradeEdits.ts, components/gitlabUpgrade.ts).
 */
export function upgradeEdit(s: Settings & { upgrade: NonNullable<Settings["upgrade"]> }): RemoteEdit {
  const u = s.upgrade;
  const file = composePath(s);
  const images = [
    ...(u.gitlabImage ? [{ service: GITLAB_SERVICE, image: u.gitlabImage }] : []),
    ...(u.runnerImage ? [{ service: RUNNER_SERVICE, image: u.runnerImage }] : []),
  ];
  return {
    restoreOnDestroy: false,
    write: {
      key: "compose-upgrade",
      path: file,
      validate: { compose: compose(s) },
      after: {
        kind: "compose-up",
        compose: compose(s),
        // Only the services whose image changes are recreated; the wait only when GitLab is.
        services: images.map((i) => i.service),
        ...(u.gitlabImage ? { waitHealthy: { container: GITLAB_SERVICE, timeoutSeconds: u.readyTimeoutSeconds, pollSeconds: u.readyTimeoutSeconds >= 300 ? 10 : 1 } } : {}),
        // The runner, when recreated, finishes its running jobs first (SIGQUIT).
        ...(u.runnerImage ? { gracefulStop: gracefulStop(s) } : {}),
        ...windowGuard(s, (u.gitlabImage ? u.readyTimeoutSeconds : 0) + runnerRecreateBound(s)),
      },
      summary: images.map((i) => `services.${i.service}.image = ${i.image}`),
    },
    fingerprint: JSON.stringify(u),
    render(current) {
      const text = need(current, file);
      const problems = [
        ...(u.gitlabImage ? upgradeProblems("GitLab", imageOf(text, GITLAB_SERVICE) ?? "", u.gitlabImage) : []),
        ...(u.runnerImage ? upgradeProblems("GitLab Runner", imageOf(text, RUNNER_SERVICE) ?? "", u.runnerImage) : []),
      ];
      if (problems.length) throw new Error(`upgrade: ${problems.join("; ")}`);
      return editCompose(text, { images }).text;
    },
    warnings(current) {
      if (current === null) return [];
      const warning = runnerSkewWarning(u.gitlabImage ?? imageOf(current, GITLAB_SERVICE) ?? "", u.runnerImage ?? imageOf(current, RUNNER_SERVICE) ?? "");
      return warning ? [warning] : [];
    },
  };
}

/** The runner container reads the proxy (and NO_PROXY) from common.env. */
export function composeProxyEdit(s: Settings): RemoteEdit {
  const file = composePath(s);
  return {
    restoreOnDestroy: true,
    format: "yaml",
    write: {
      key: "compose-proxy",
      path: file,
      validate: { compose: compose(s) },
      after: { kind: "compose-up", compose: compose(s), services: [RUNNER_SERVICE], gracefulStop: gracefulStop(s), ...windowGuard(s, runnerRecreateBound(s)) },
      summary: [`services.${RUNNER_SERVICE}.env_file += ${ENV_FILE}`],
    },
    fingerprint: ENV_FILE,
    render: (current) => editCompose(need(current, file), { envFile: { service: RUNNER_SERVICE, file: ENV_FILE } }).text,
  };
}

/** NO_PROXY in KEY=VALUE form (the runbook's `NO_PROXY: …` line is YAML, not env syntax). */
export function commonEnvEdit(s: Settings, noProxy: string): RemoteEdit {
  const file = commonEnvPath(s);
  return {
    restoreOnDestroy: true,
    format: "env",
    write: {
      key: "common-env",
      path: file,
      // Only the runner needs the new NO_PROXY now; other services pick it up at their next recreate.
      after: { kind: "compose-up", compose: compose(s), services: [RUNNER_SERVICE], gracefulStop: gracefulStop(s), ...windowGuard(s, runnerRecreateBound(s)) },
      summary: [`NO_PROXY=${noProxy}`, `no_proxy=${noProxy}`],
    },
    fingerprint: noProxy,
    render: (current) => setEnvVars(need(current, file), { NO_PROXY: noProxy, no_proxy: noProxy }),
  };
}

/**
 * live-restore before the drop-in's dockerd restart, so that the restart stops no container. Turned
 * on by a reload (no restart) and checked with docker info; destroy puts the file back and reloads.
 */
export function daemonJsonEdit(): RemoteEdit {
  return {
    restoreOnDestroy: true,
    write: {
      key: "docker-daemon-json",
      path: DAEMON_JSON_PATH,
      newFileMode: "0644",
      after: { kind: "dockerd-reload" },
      summary: [`"${LIVE_RESTORE_KEY}": true`],
    },
    fingerprint: LIVE_RESTORE_KEY,
    render: (current) => withLiveRestore(current),
  };
}

/** dockerd on the CI server pulls from Nexus on its own address: that must bypass the proxy. */
export function dockerDropInEdit(urls: ProxyUrls): RemoteEdit {
  const content = dockerdProxyDropIn(urls);
  return {
    restoreOnDestroy: true,
    write: {
      key: "docker-dropin",
      path: CI_DOCKER_DROPIN_PATH,
      // Proxy credentials make it a secret file; systemd reads it as root either way.
      newFileMode: hasCredentials(urls) ? "0600" : "0644",
      after: { kind: "dockerd-restart" },
      summary: dockerdProxyDropIn(maskProxyUrls(urls)).split("\n").filter((l) => l.startsWith("Environment=")),
    },
    fingerprint: content,
    render: () => content,
  };
}

export function runnerMachineEdit(input: MachineOptionsInput): RunnerMachineEdit {
  const r = input.settings.runner;
  return {
    concurrent: r.concurrent,
    runnerName: r.name,
    limit: r.limit,
    executor: "docker+machine",
    machine: {
      IdleCount: r.idleCount,
      IdleTime: r.idleTime,
      MaxBuilds: r.maxBuilds,
      MachineDriver: "amazonec2",
      MachineName: r.machineName,
      MachineOptions: machineOptions(input),
      autoscaling: r.autoscaling.map((a) => ({ Periods: a.periods, IdleCount: a.idleCount, IdleTime: a.idleTime, Timezone: a.timezone })),
    },
  };
}

/** The managed values, one per line, secrets masked: the preview shows these. */
export function runnerSummary(edit: RunnerMachineEdit): string[] {
  const m = edit.machine;
  return [
    `concurrent = ${edit.concurrent}`,
    `[[runners]] ${edit.runnerName === undefined ? "(the only one)" : JSON.stringify(edit.runnerName)}`,
    `executor = "${edit.executor}"`,
    ...(edit.limit === undefined ? [] : [`limit = ${edit.limit}`]),
    `IdleCount = ${m.IdleCount}`,
    `IdleTime = ${m.IdleTime}`,
    `MaxBuilds = ${m.MaxBuilds}`,
    `MachineDriver = "${m.MachineDriver}"`,
    `MachineName = "${m.MachineName}"`,
    ...maskMachineOptions(m.MachineOptions).map((o) => `MachineOptions: ${o}`),
    ...m.autoscaling.map((a) => `autoscaling: Periods=${JSON.stringify(a.Periods)} IdleCount=${a.IdleCount} IdleTime=${a.IdleTime} Timezone=${a.Timezone}`),
    "then the runner reloads it (a graceful restart instead when the entry leaves docker-autoscaler: a reload keeps its taskscaler)",
  ];
}

/**
 * config.toml's one edit, whichever executor: that executor's merge, then the S3 cache tables
 * when given, with both sets of managed values in the summary.
 */
export function runnerConfigEdit(
  s: Pick<Settings, "ciServer">,
  executor: { after: AfterAction; summary: string[]; edit: unknown; merge: (text: string) => string },
  cache?: RunnerCacheEdit,
): RemoteEdit {
  const file = s.ciServer.runnerConfigPath;
  return {
    restoreOnDestroy: true,
    format: "toml",
    write: { key: "config-toml", path: file, after: executor.after, summary: [...executor.summary, ...(cache ? cacheSummary(cache) : [])] },
    fingerprint: JSON.stringify(cache ? [executor.edit, cache] : executor.edit),
    render: (current) => {
      const merged = executor.merge(need(current, file, "ciServer.runnerConfigPath"));
      return cache ? mergeRunnerCache(merged, cache) : merged;
    },
  };
}

/**
 * The runbook's config.toml step. No restart: the runner reloads config.toml within ~3 s; the
 * write waits for its log to say so, and puts the old file back if the runner rejects the new one.
 * Except when the entry leaves docker-autoscaler (a move back): a reload would leave its taskscaler
 * running, so the write restarts the runner gracefully instead (core/remote/afterActions.ts).
 */
export function configTomlEdit(input: MachineOptionsInput, cache?: RunnerCacheEdit): RemoteEdit {
  const edit = runnerMachineEdit(input);
  const s = input.settings;
  return runnerConfigEdit(s, {
    after: {
      kind: "runner-reload", container: RUNNER_CONTAINER, timeoutSeconds: RUNNER_RELOAD_TIMEOUT_SECONDS,
      restartLeavingAutoscaler: { compose: compose(s), service: RUNNER_SERVICE, gracefulStop: gracefulStop(s) },
    },
    summary: runnerSummary(edit),
    edit,
    merge: (text) => mergeRunnerConfig(text, edit),
  }, cache);
}
