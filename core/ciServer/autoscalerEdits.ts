// The CI server's files for runner.executor docker-autoscaler, as RemoteEdits (see
// core/ciServer/edits.ts): config.toml's [runners.autoscaler], and the AWS files the fleeting
// plugin reads, beside config.toml on the volume the runner container mounts at /etc/gitlab-runner.
import * as path from "node:path";
import type { AutoscalerSettings, Settings } from "../../settings/types";
import { convertMachinePeriod, goDuration, idleSlots } from "./configToml/autoscalerConvert";
import { runnerConfigEdit, runnerRestart, type RemoteEdit } from "./edits";
import type { RunnerCacheEdit } from "./configToml/configTomlCache";
import { formatTomlValue } from "./configToml/configToml";
import { mergeAutoscalerConfig, type AutoscalerPolicy, type RunnerAutoscalerEdit } from "./configToml/configTomlAutoscaler";

/** Where Collaborage's compose file mounts the runner's config directory in the container. */
export const RUNNER_CONFIG_DIR_IN_CONTAINER = "/etc/gitlab-runner";
export const FLEETING_AWS_CONFIG = "fleeting-aws-config";
export const FLEETING_AWS_CREDENTIALS = "fleeting-aws-credentials";

type AutoscalerMode = Pick<Settings, "region" | "runner" | "ciServer" | "ami"> & { runner: { autoscaler: AutoscalerSettings } };

/** The file on the host (beside config.toml) and the same file as the runner container sees it. */
export function fleetingFile(s: Pick<Settings, "ciServer">, name: string): { host: string; container: string } {
  return { host: path.posix.join(path.posix.dirname(s.ciServer.runnerConfigPath), name), container: path.posix.join(RUNNER_CONFIG_DIR_IN_CONTAINER, name) };
}

export function asAutoscalerMode(s: Settings): AutoscalerMode {
  if (s.runner.executor !== "docker-autoscaler" || !s.runner.autoscaler) throw new Error("runner.executor is not docker-autoscaler");
  return s as AutoscalerMode;
}

export interface AutoscalerTomlInput {
  settings: AutoscalerMode;
  /** The Auto Scaling group's real name (Pulumi auto-names it). */
  groupName: string;
  /** Private key on the CI server, as the container sees it, when the workers take a static key pair. */
  keyPath?: string;
}

/** docker-machine's idle settings as policies: the stack-wide one first, the periods after (the last match wins, as in docker-machine). */
export function autoscalerPolicies(s: AutoscalerMode): AutoscalerPolicy[] {
  const r = s.runner;
  const slots = (machines: number) => idleSlots(machines, r.autoscaler.capacityPerInstance);
  return [
    { idle_count: slots(r.idleCount), idle_time: goDuration(r.idleTime) },
    ...r.autoscaling.map((a) => ({
      periods: a.periods.map((p) => {
        const c = convertMachinePeriod(p);
        if (c.problem !== undefined) throw new Error(`runner.autoscaling period ${JSON.stringify(p)} ${c.problem}`);
        return c.period;
      }),
      timezone: a.timezone,
      idle_count: slots(a.idleCount),
      idle_time: goDuration(a.idleTime),
    })),
  ];
}

export function runnerAutoscalerEdit(input: AutoscalerTomlInput): RunnerAutoscalerEdit {
  const s = input.settings;
  const r = s.runner;
  return {
    concurrent: r.concurrent,
    runnerName: r.name,
    limit: r.limit,
    autoscaler: {
      plugin: r.autoscaler.plugin,
      capacity_per_instance: r.autoscaler.capacityPerInstance,
      max_use_count: r.maxBuilds,
      max_instances: r.autoscaler.maxInstances,
      // Otherwise a stopped runner leaves the group at its last size, billing.
      delete_instances_on_shutdown: true,
      plugin_config: {
        name: input.groupName,
        config_file: fleetingFile(s, FLEETING_AWS_CONFIG).container,
        credentials_file: r.credentials === "accessKey" ? fleetingFile(s, FLEETING_AWS_CREDENTIALS).container : undefined,
      },
      connector_config: {
        username: s.ami.sshUser,
        // Workers have private addresses only; the manager is in the same VPC.
        use_external_addr: false,
        key_path: input.keyPath,
        use_static_credentials: input.keyPath === undefined ? undefined : true,
      },
      policy: autoscalerPolicies(s),
    },
  };
}

/** The managed values, one per line (nothing secret here), with the idle conversion spelled out. */
export function autoscalerSummary(edit: RunnerAutoscalerEdit, s: AutoscalerMode): string[] {
  const a = edit.autoscaler;
  const cap = s.runner.autoscaler.capacityPerInstance;
  const kv = (o: object) => Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${formatTomlValue(v)}`).join(" ");
  const idleNote = (machines: number) => `(idle machines ${machines} × ${cap} job slot(s) per instance: the autoscaler counts idle job slots)`;
  return [
    `concurrent = ${edit.concurrent}`,
    `[[runners]] ${edit.runnerName === undefined ? "(the only one)" : JSON.stringify(edit.runnerName)}`,
    `executor = "docker-autoscaler" ([runners.machine] removed)`,
    ...(edit.limit === undefined ? [] : [`limit = ${edit.limit}`]),
    `autoscaler: ${kv({ plugin: a.plugin, capacity_per_instance: a.capacity_per_instance, max_use_count: a.max_use_count, max_instances: a.max_instances, delete_instances_on_shutdown: a.delete_instances_on_shutdown })}`,
    `autoscaler.plugin_config: ${kv(a.plugin_config)}`,
    `autoscaler.connector_config: ${kv(a.connector_config)}`,
    ...a.policy.map((p, i) => `autoscaler.policy: ${kv(p)} ${idleNote(i === 0 ? s.runner.idleCount : s.runner.autoscaling[i - 1].idleCount)}`),
    "then a graceful runner restart: [runners.autoscaler] is not reloaded",
  ];
}

/**
 * config.toml for the autoscaler. [runners.autoscaler] is not reloaded: the write ends with a
 * graceful runner restart, and so does destroy's restore.
 */
export function configTomlAutoscalerEdit(input: AutoscalerTomlInput, cache?: RunnerCacheEdit): RemoteEdit {
  const edit = runnerAutoscalerEdit(input);
  return runnerConfigEdit(input.settings, {
    after: runnerRestart(input.settings),
    summary: autoscalerSummary(edit, input.settings),
    edit,
    merge: (text) => mergeAutoscalerConfig(text, edit),
  }, cache);
}

/** AWS shared config for the plugin: the region (plugin_config has no region key in the plugin's documented keys). */
export const awsConfigFile = (region: string) => `[default]\nregion = ${region}\n`;

/** AWS shared credentials for the plugin (accessKey mode): secret. */
export function awsCredentialsFile(key: { id: string; secret: string }): string {
  for (const v of [key.id, key.secret]) if (!/^\S+$/.test(v)) throw new Error("the access key id or secret has characters an AWS credentials file cannot hold");
  return `[default]\naws_access_key_id = ${key.id}\naws_secret_access_key = ${key.secret}\n`;
}

export function fleetingAwsConfigEdit(s: Pick<Settings, "ciServer" | "region">): RemoteEdit {
  const file = fleetingFile(s, FLEETING_AWS_CONFIG).host;
  const content = awsConfigFile(s.region);
  return {
    restoreOnDestroy: true,
    write: { key: "fleeting-aws-config", path: file, newFileMode: "0600", summary: [`region = ${s.region}`] },
    fingerprint: content,
    render: () => content,
  };
}

/** Root-only (0600) file; the content comes on stdin with the rest of the guarded write. */
export function fleetingCredentialsEdit(s: Pick<Settings, "ciServer">, key: { id: string; secret: string }): RemoteEdit {
  const file = fleetingFile(s, FLEETING_AWS_CREDENTIALS).host;
  const content = awsCredentialsFile(key);
  return {
    restoreOnDestroy: true,
    write: { key: "fleeting-aws-credentials", path: file, newFileMode: "0600", summary: [`aws_access_key_id = ${key.id}`, "aws_secret_access_key = [secret]"] },
    fingerprint: content,
    render: () => content,
  };
}
