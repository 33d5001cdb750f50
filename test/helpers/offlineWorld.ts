// Shared setup for the component and whole-program tests: the CI server's files from the
// Collaborage fixtures, stack-config variants of the dev stack, one runOffline call with the
// secret keys marked, and small look-ups into what the offline engine recorded.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { CI_DOCKER_DROPIN_PATH } from "../../core/proxy/proxyFiles";
import { scriptHeader } from "../../core/remote/shell";
import { OfflineEngine, SECRET_SIG, isSecretEnvelope, revealPublic, unwrapSecrets, type OfflineWorld, type RecordedResource } from "../../offline/mockEngine";
import { placeholderSshKey } from "../../offline/placeholders";
import { PROJECT, runOffline, type OfflineRun } from "../../offline/runOffline";
import { validateSettings } from "../../settings/validate";
import type { Settings } from "../../settings/types";
import { stackConfig } from "./devConfig";
import { fixture } from "./fixtures";

export { isSecretEnvelope, revealPublic, unwrapSecrets };

export const APP_DIR = "/home/ec2-user/nop/docker/ci";
export const PATHS = {
  compose: `${APP_DIR}/docker-compose.yml`,
  commonEnv: `${APP_DIR}/common.env`,
  configToml: "/data/gitlab-runner/config/config.toml",
  dockerDropIn: CI_DOCKER_DROPIN_PATH,
  daemonJson: "/etc/docker/daemon.json",
  fleetingAwsConfig: "/data/gitlab-runner/config/fleeting-aws-config",
  fleetingAwsCredentials: "/data/gitlab-runner/config/fleeting-aws-credentials",
} as const;

export const FIXTURE_TEXT = {
  compose: fixture("collaborage/ci-docker-compose.yml"),
  commonEnv: fixture("collaborage/common.env"),
  configToml: fixture("collaborage/config.toml"),
  daemonJson: fixture("collaborage/ci-daemon.json"),
} as const;

export const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

export const T = {
  stack: "pulumi:pulumi:Stack",
  network: "gitlab-runner-autoscaling:network:RunnerNetwork",
  credentials: "gitlab-runner-autoscaling:iam:RunnerCredentials",
  proxyAmi: "gitlab-runner-autoscaling:ami:ProxyAmi",
  ciServer: "gitlab-runner-autoscaling:ci:CiServer",
  fileEdit: "gitlab-runner-autoscaling:ci:RemoteFileEdit",
  workerCleanup: "gitlab-runner-autoscaling:ci:WorkerCleanup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  keyPair: "aws:ec2/keyPair:KeyPair",
  instance: "aws:ec2/instance:Instance",
  amiFromInstance: "aws:ec2/amiFromInstance:AmiFromInstance",
  instanceState: "aws:ec2transitgateway/instanceState:InstanceState",
  user: "aws:iam/user:User",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  accessKey: "aws:iam/accessKey:AccessKey",
  command: "command:remote:Command",
} as const;

export const ACCOUNT = "123456789012";
export const TEST_PROVIDER_SECRET = "test-provider-secret-access-key";

/** The CI server as the runbook finds it (Collaborage 2.1.0), our docker drop-in not there yet. */
export function fixtureWorld(overrides: Partial<OfflineWorld> = {}): OfflineWorld {
  return {
    serverFiles: {
      [PATHS.compose]: FIXTURE_TEXT.compose,
      [PATHS.commonEnv]: FIXTURE_TEXT.commonEnv,
      [PATHS.configToml]: FIXTURE_TEXT.configToml,
      [PATHS.dockerDropIn]: null,
      [PATHS.daemonJson]: FIXTURE_TEXT.daemonJson,
      [PATHS.fleetingAwsConfig]: null,
      [PATHS.fleetingAwsCredentials]: null,
    },
    providerSecret: TEST_PROVIDER_SECRET,
    account: ACCOUNT,
    ...overrides,
  };
}

export type StackConfig = Record<string, any>;

export const TEST_SSH_LABEL = "component tests";

/** Pulumi.dev.yaml plus the secret the operator sets with --secret (sshPrivateKey). */
export function devStack(): StackConfig {
  return { ...structuredClone(stackConfig("dev")), sshPrivateKey: placeholderSshKey(TEST_SSH_LABEL) };
}

/** The dev stack changed by `change` (gets a deep copy). */
export function variant(change: (c: StackConfig) => void, base: StackConfig = devStack()): StackConfig {
  const c = structuredClone(base);
  change(c);
  return c;
}

const SECRET_CONFIG_KEYS = ["sshPrivateKey", "proxyCredentials"];

/** Runs the program under the offline engine; secret config keys are marked as `pulumi config set --secret` would. */
const cache = new Map<string, Promise<OfflineRun>>();

/** runStack, run once per (config, world) in this mocha process: the runs are deterministic. */
export function cachedRun(config: StackConfig, world: OfflineWorld = fixtureWorld()): Promise<OfflineRun> {
  const key = JSON.stringify([config, world]);
  if (!cache.has(key)) cache.set(key, runStack(config, world));
  return cache.get(key)!;
}

export function runStack(config: StackConfig, world: OfflineWorld = fixtureWorld()): Promise<OfflineRun> {
  const secretKeys = SECRET_CONFIG_KEYS.filter((k) => config[k] !== undefined).map((k) => `${PROJECT}:${k}`);
  return runOffline(config, world, { secretKeys });
}

/** Runs a config the program must refuse; returns the error and the resources registered by then. */
export async function rejectedRun(config: StackConfig, world: OfflineWorld = fixtureWorld()): Promise<{ error: Error; registered: string[] }> {
  let engine: OfflineEngine | undefined;
  const original = OfflineEngine.prototype.newResource;
  OfflineEngine.prototype.newResource = function (this: OfflineEngine, args) {
    engine = this;
    return original.call(this, args);
  };
  try {
    await runStack(config, world);
  } catch (error) {
    const registered = engine ? engine.resources.map(keyOf) : [];
    // The resources downstream of the failed one reject too; let them settle before the next run.
    await (pulumi.runtime as any).waitForRPCs().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    return { error: error as Error, registered };
  } finally {
    OfflineEngine.prototype.newResource = original;
  }
  assert.fail("the run should have been rejected");
}

/** Typed settings for a stack config, as the program sees them (to compute expectations with the pure core). */
export function settingsOf(config: StackConfig): Settings {
  const { "aws:region": region, sshPrivateKey, proxyCredentials, ...rest } = config;
  return validateSettings({ ...rest, region, sshPrivateKey, proxyCredentials });
}

// ---- look-ups ---------------------------------------------------------------------------------

export const keyOf = (r: Pick<RecordedResource, "type" | "name">) => `${r.type}::${r.name}`;

export function find(run: OfflineRun, type: string, name: string): RecordedResource | undefined {
  return run.engine.resources.find((r) => r.type === type && r.name === name);
}

export function get(run: OfflineRun, type: string, name: string): RecordedResource {
  const r = find(run, type, name);
  assert.ok(r, `no ${type} named ${name}; recorded: ${run.engine.resources.map((x) => x.name).join(", ")}`);
  return r;
}

export const inputsOf = (run: OfflineRun, type: string, name: string): Record<string, any> => get(run, type, name).inputs;

export const ofType = (run: OfflineRun, type: string) => run.engine.resources.filter((r) => r.type === type);
export const childrenOf = (run: OfflineRun, type: string, name: string) =>
  run.engine.resources.filter((r) => r.parent === `${type}::${name}`);
export const commands = (run: OfflineRun) => ofType(run, T.command);

/** The command's input as the provider would receive it (secret envelopes opened). */
export function revealed(run: OfflineRun, name: string, key: string): any {
  return unwrapSecrets(inputsOf(run, T.command, name)[key]);
}

/** Writes' `create` start with one comment line per managed value: the summary a preview shows. */
export const summaryOf = (create: string): string[] => scriptHeader(create).slice(1);

/** The config-toml write's summary lines (managed values, secrets masked). */
export const configTomlSummary = (run: OfflineRun) => summaryOf(inputsOf(run, T.command, "ci-server-config-toml-write").create);

/** Outputs inside recorded state (e.g. the AccessKey's secret) turned into envelopes or values. */
export async function settle(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const [value, secret] = await Promise.all([(v as any).promise(), pulumi.isSecret(v)]);
    const inner = await settle(value);
    return secret ? { [ENVELOPE_KEY]: ENVELOPE_SIG, value: inner } : inner;
  }
  if (Array.isArray(v)) return Promise.all(v.map(settle));
  if (v && typeof v === "object") return Object.fromEntries(await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await settle(x)])));
  return v;
}
/** Pulumi's wire key for the secret signature (sdk/nodejs/runtime/rpc.ts: specialSigKey). */
const ENVELOPE_KEY = "4dabf18193072939515e22adb298388d";
const ENVELOPE_SIG = SECRET_SIG;

/** Resolves an Output's value (for components instantiated directly under setMocks). */
export const valueOf = <V>(o: pulumi.Output<V>): Promise<V> => new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));

/** Differences between two runs' inputs, as `name.key` (secrets opened, so secret changes count). */
export function inputDiff(a: OfflineRun, b: OfflineRun): string[] {
  const index = (run: OfflineRun) => new Map(run.engine.resources.map((r) => [keyOf(r), unwrapSecrets(r.inputs) as Record<string, unknown>]));
  const ia = index(a);
  const ib = index(b);
  const out: string[] = [];
  for (const k of new Set([...ia.keys(), ...ib.keys()])) {
    const x = ia.get(k);
    const y = ib.get(k);
    const name = k.slice(k.indexOf("::") + 2);
    if (!x || !y) {
      out.push(`${name} (only in ${x ? "first" : "second"})`);
      continue;
    }
    for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (JSON.stringify(x[key]) !== JSON.stringify(y[key])) out.push(`${name}.${key}`);
    }
  }
  return out.sort();
}
