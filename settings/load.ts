// The one place that reads pulumi.Config. Everything else takes the typed result.
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./types";
import { STRUCTURED_KEYS, validateSettings } from "./validate";

export interface Secrets {
  sshPrivateKey: pulumi.Output<string>;
  /** user:password for the proxy, when it needs them. */
  proxyCredentials?: pulumi.Output<string>;
}

export interface LoadedSettings {
  settings: Settings;
  secrets: Secrets;
}

export function loadSettings(): LoadedSettings {
  const config = new pulumi.Config();
  const raw: Record<string, unknown> = {};
  for (const key of STRUCTURED_KEYS) {
    // getObject throws on invalid JSON with the key name; structured values arrive parsed.
    raw[key] = config.getObject<unknown>(key);
  }
  const settings = validateSettings({
    ...raw,
    region: new pulumi.Config("aws").get("region"),
    // Plain reads only to check presence and form; the values themselves travel as secrets below.
    sshPrivateKey: config.get("sshPrivateKey"),
    proxyCredentials: config.get("proxyCredentials"),
  });
  const proxyCredentials = config.getSecret("proxyCredentials");
  return {
    settings,
    secrets: {
      sshPrivateKey: config.requireSecret("sshPrivateKey"),
      ...(proxyCredentials ? { proxyCredentials } : {}),
    },
  };
}
