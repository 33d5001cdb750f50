// The one place that reads pulumi.Config. Everything else takes the typed result.
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./types";
import { settingsWarnings } from "./conditional";
import { FOREIGN_SECRET_KEYS, SECRET_KEYS, STRUCTURED_KEYS, validateSettings, type RawConfig } from "./validate";

const projectPrefix = () => `${pulumi.getProject()}:`;
/** Internal to the SDK (runtime/config.ts), so looked up rather than imported; absent = no check. */
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;

/** The stack's whole project namespace, secrets as "[secret]": what the typo check needs. */
function projectConfig(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [full, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!full.startsWith(projectPrefix())) continue;
    const key = full.slice(projectPrefix().length);
    let parsed: unknown = value;
    try {
      parsed = /^[[{]/.test(value) ? JSON.parse(value) : value;
    } catch {
      // shown as the text it is
    }
    out[key] = isConfigSecret?.(full) ? "[secret]" : parsed;
  }
  return out;
}

export interface Secrets {
  sshPrivateKey: pulumi.Output<string>;
  /** user:password for the proxy, when it needs them. */
  proxyCredentials?: pulumi.Output<string>;
}

export interface LoadedSettings {
  settings: Settings;
  secrets: Secrets;
  /** Shown on every preview and plan (settings/conditional.ts): ignored keys, an opt-out of host key checks. */
  warnings?: string[];
}

export function loadSettings(): LoadedSettings {
  const config = new pulumi.Config();
  const structured: Record<string, unknown> = {};
  for (const key of STRUCTURED_KEYS) {
    // getObject throws on invalid JSON with the key name; structured values arrive parsed.
    structured[key] = config.getObject<unknown>(key);
  }
  const raw: RawConfig = {
    ...structured,
    region: new pulumi.Config("aws").get("region"),
    // Plain reads only to check presence and form; the values themselves travel as secrets below.
    sshPrivateKey: config.get("sshPrivateKey"),
    proxyCredentials: config.get("proxyCredentials"),
    projectConfig: projectConfig(),
    plaintextSecrets: isConfigSecret ? [
      ...SECRET_KEYS.filter((k) => config.get(k) !== undefined && !isConfigSecret(`${projectPrefix()}${k}`)),
      ...FOREIGN_SECRET_KEYS.filter((k) => pulumi.runtime.getConfig(k) !== undefined && !isConfigSecret(k)),
    ] : [],
    otherKeys: Object.keys(pulumi.runtime.allConfig()).filter((k) => !k.startsWith(projectPrefix())),
  };
  const settings = validateSettings(raw);
  const proxyCredentials = config.getSecret("proxyCredentials");
  return {
    settings,
    warnings: settingsWarnings(raw, settings),
    secrets: {
      sshPrivateKey: config.requireSecret("sshPrivateKey"),
      ...(proxyCredentials ? { proxyCredentials } : {}),
    },
  };
}
