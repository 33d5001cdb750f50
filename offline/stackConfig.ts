// Reads a Pulumi.<stack>.yaml for offline runs: `secure:` values and missing secrets become
// placeholders, so a plan never needs or shows a real secret.
import * as fs from "node:fs";
import { parse } from "yaml";
import { STRUCTURED_KEYS, type RawConfig } from "../settings/validate";
import { PLACEHOLDER_PROXY_CREDENTIALS, placeholderSshKey } from "./placeholders";
import { PROJECT } from "./runOffline";

export interface OfflineConfig {
  /** Full keys (`project:key`, `aws:region`) to values. */
  config: Record<string, unknown>;
  secretKeys: string[];
}

const SSH_KEY = `${PROJECT}:sshPrivateKey`;
const PROXY_CREDENTIALS = `${PROJECT}:proxyCredentials`;

export function readStackConfig(file: string): OfflineConfig {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: create the stack's settings with \`pulumi stack init NAME\` and \`pulumi config set …\`, or pass --config-file PATH`);
  }
  let doc: any;
  try {
    doc = parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  const raw = (doc?.config ?? {}) as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const key = k.includes(":") ? k : `${PROJECT}:${k}`;
    const secure = !!v && typeof v === "object" && "secure" in (v as object);
    if (secure) secretKeys.push(key);
    config[key] = secure ? placeholderFor(key) : v;
  }
  if (!(SSH_KEY in config)) {
    config[SSH_KEY] = placeholderSshKey();
    secretKeys.push(SSH_KEY);
  }
  return { config, secretKeys };
}

function placeholderFor(key: string): string {
  if (key === SSH_KEY) return placeholderSshKey();
  if (key === PROXY_CREDENTIALS) return PLACEHOLDER_PROXY_CREDENTIALS;
  return "[secret]";
}

/** The same config as the settings validator's raw input. */
export function rawConfigOf(c: OfflineConfig): RawConfig {
  const get = (k: string) => c.config[`${PROJECT}:${k}`];
  return {
    ...Object.fromEntries(STRUCTURED_KEYS.map((k) => [k, get(k)])),
    region: c.config["aws:region"],
    sshPrivateKey: get("sshPrivateKey") as string | undefined,
    proxyCredentials: get("proxyCredentials") as string | undefined,
  };
}
