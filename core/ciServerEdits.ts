// What each CI-server step of the runbook writes, as pure specs: the guarded-write parameters
// (known at preview, so `pulumi preview --diff` shows the managed values) and a render function
// from the file's current text to its new text (run on the remote read's result).
import * as path from "node:path";
import type { Settings } from "../settings/types";
import { setEnvVars } from "./commonEnv";
import { editCompose, imageOf } from "./composeFile";
import { mergeRunnerConfig, type RunnerMachineEdit } from "./configToml";
import { cacheSummary, mergeRunnerCache, type RunnerCacheEdit } from "./ciServer/configTomlCache";
import { machineOptions, maskMachineOptions, type MachineOptionsInput } from "./machineOptions";
import { CI_DOCKER_DROPIN_PATH, dockerdProxyDropIn, hasCredentials, maskProxyUrls, type ProxyUrls } from "./proxyFiles";
import type { ComposeContext, GuardedWrite } from "./scripts";
import { upgradeProblems } from "./upgradePath";

export interface RemoteEdit {
  write: GuardedWrite;
  /** false: destroy leaves the edit in place (a GitLab upgrade cannot be rolled back). */
  restoreOnDestroy: boolean;
  /** New file text from the current one (null = the file does not exist). Throws on a bad state. */
  render(current: string | null): string;
  /**
   * Everything render depends on, secrets included. When it changes the file is read again; the
   * summary alone would miss a change of a masked value (a proxy password) and the write would
   * then compare against a stale read.
   */
  fingerprint: string;
}

export const RUNNER_SERVICE = "gitlab-runner";
export const GITLAB_SERVICE = "gitlab";
export const ENV_FILE = "./common.env";

const compose = (s: Settings): ComposeContext => ({ appDir: s.ciServer.appDir, command: s.ciServer.composeCommand });
export const composePath = (s: Settings) => path.posix.join(s.ciServer.appDir, "docker-compose.yml");
export const commonEnvPath = (s: Settings) => path.posix.join(s.ciServer.appDir, "common.env");

function need(current: string | null, file: string): string {
  if (current === null) throw new Error(`${file} does not exist on the CI server; check ciServer.appDir and ciServer.runnerConfigPath`);
  return current;
}

/** The runbook's Collaborage 1.1 step: newer GitLab and runner images, then a wait for GitLab. */
export function upgradeEdit(s: Settings & { upgrade: NonNullable<Settings["upgrade"]> }): RemoteEdit {
  const u = s.upgrade;
  const file = composePath(s);
  return {
    restoreOnDestroy: false,
    write: {
      key: "compose-upgrade",
      path: file,
      validate: { compose: compose(s) },
      after: {
        kind: "compose-up",
        compose: compose(s),
        services: [GITLAB_SERVICE, RUNNER_SERVICE],
        waitHealthy: { container: GITLAB_SERVICE, timeoutSeconds: u.readyTimeoutSeconds, pollSeconds: u.readyTimeoutSeconds >= 300 ? 10 : 1 },
      },
      summary: [`services.${GITLAB_SERVICE}.image = ${u.gitlabImage}`, `services.${RUNNER_SERVICE}.image = ${u.runnerImage}`],
    },
    fingerprint: JSON.stringify(u),
    render(current) {
      const text = need(current, file);
      const problems = [
        ...upgradeProblems("GitLab", imageOf(text, GITLAB_SERVICE) ?? "", u.gitlabImage),
        ...upgradeProblems("GitLab Runner", imageOf(text, RUNNER_SERVICE) ?? "", u.runnerImage),
      ];
      if (problems.length) throw new Error(`upgrade: ${problems.join("; ")}`);
      return editCompose(text, { images: [{ service: GITLAB_SERVICE, image: u.gitlabImage }, { service: RUNNER_SERVICE, image: u.runnerImage }] }).text;
    },
  };
}

/** The runner container reads the proxy (and NO_PROXY) from common.env. */
export function composeProxyEdit(s: Settings): RemoteEdit {
  const file = composePath(s);
  return {
    restoreOnDestroy: true,
    write: {
      key: "compose-proxy",
      path: file,
      validate: { compose: compose(s) },
      after: { kind: "compose-up", compose: compose(s), services: [RUNNER_SERVICE] },
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
    write: {
      key: "common-env",
      path: file,
      // Only the runner needs the new NO_PROXY now; other services pick it up at their next recreate.
      after: { kind: "compose-up", compose: compose(s), services: [RUNNER_SERVICE] },
      summary: [`NO_PROXY=${noProxy}`, `no_proxy=${noProxy}`],
    },
    fingerprint: noProxy,
    render: (current) => setEnvVars(need(current, file), { NO_PROXY: noProxy, no_proxy: noProxy }),
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
  ];
}

/** The runbook's config.toml step (plus the S3 cache tables when given). No restart: the runner reloads config.toml within ~3 s. */
export function configTomlEdit(input: MachineOptionsInput, cache?: RunnerCacheEdit): RemoteEdit {
  const file = input.settings.ciServer.runnerConfigPath;
  const edit = runnerMachineEdit(input);
  return {
    restoreOnDestroy: true,
    write: { key: "config-toml", path: file, summary: [...runnerSummary(edit), ...(cache ? cacheSummary(cache) : [])] },
    fingerprint: JSON.stringify(cache ? [edit, cache] : edit),
    render: (current) => {
      const merged = mergeRunnerConfig(need(current, file), edit);
      return cache ? mergeRunnerCache(merged, cache) : merged;
    },
  };
}
