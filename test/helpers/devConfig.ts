// The dev stack's configuration as raw values, the base every settings test mutates.
import { parse } from "yaml";
import type { RawConfig } from "../../settings/validate";
import { repoFile } from "./fixtures";

export const PROJECT = "gitlab-runner-autoscaling";
export const TEST_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nplaceholder\n-----END OPENSSH PRIVATE KEY-----\n";

/** Pulumi.<stack>.yaml's config block with the project prefix stripped. */
export function stackConfig(stack = "dev"): Record<string, unknown> {
  const config = parse(repoFile(`Pulumi.${stack}.yaml`)).config as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k.startsWith(`${PROJECT}:`) ? k.slice(PROJECT.length + 1) : k] = v;
  return out;
}

export function devRaw(): RawConfig {
  const c = structuredClone(stackConfig());
  return { ...c, region: c["aws:region"], sshPrivateKey: TEST_SSH_KEY } as RawConfig;
}
