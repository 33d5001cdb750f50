// Reads a Pulumi.<stack>.yaml for offline runs: `secure:` values and missing secrets become
// placeholders, so a plan never needs or shows a real secret.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { maskCredentialsInText } from "../core/proxy/proxyFiles";
import { FOREIGN_SECRET_KEYS, SECRET_KEYS, STRUCTURED_KEYS, type RawConfig } from "../settings/validate";
import { PLACEHOLDER_PROXY_CREDENTIALS, placeholderSshKey } from "./placeholders";
import { PROJECT } from "./runOffline";

export interface OfflineConfig {
  /** Full keys (`project:key`, `aws:region`) to values. */
  config: Record<string, unknown>;
  secretKeys: string[];
  /** Keys that must be secret (declared so in Pulumi.yaml, or SECRET_KEYS) but are plain in the stack file. */
  plaintextSecrets: string[];
}

const PROJECT_FILE = path.resolve(__dirname, "../Pulumi.yaml");

/** Keys Pulumi.yaml's config block declares `secret: true`: the CLI refuses a plain value for them. */
export function declaredSecretKeys(projectFile = PROJECT_FILE): string[] {
  const declared = (parse(fs.readFileSync(projectFile, "utf8"))?.config ?? {}) as Record<string, unknown>;
  return Object.entries(declared).filter(([, v]) => !!v && typeof v === "object" && (v as { secret?: unknown }).secret === true).map(([k]) => k);
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
    // First line only (where): the lines a YAML error quotes may hold a plain-text secret or a proxy password.
    throw new Error(maskCredentialsInText(`cannot read ${file}: ${(e as Error).message.split("\n")[0]}`));
  }
  const raw = (doc?.config ?? {}) as Record<string, unknown>;
  if ((doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`cannot read ${file}: expected a YAML map with a config: map of keys to values, as \`pulumi config set\` writes it`);
  }
  const config: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  const mustBeSecret = new Set([...[...declaredSecretKeys(), ...SECRET_KEYS].map((k) => `${PROJECT}:${k}`), ...FOREIGN_SECRET_KEYS]);
  const plaintextSecrets: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const key = k.includes(":") ? k : `${PROJECT}:${k}`;
    const secure = !!v && typeof v === "object" && "secure" in (v as object);
    if (secure) secretKeys.push(key);
    // Mirrors the CLI ("must be encrypted as it's secret"): a plain value is refused, never used.
    else if (mustBeSecret.has(key)) plaintextSecrets.push(key.startsWith(`${PROJECT}:`) ? key.slice(PROJECT.length + 1) : key);
    config[key] = secure ? placeholderFor(key) : v;
  }
  if (!(SSH_KEY in config)) {
    config[SSH_KEY] = placeholderSshKey();
    secretKeys.push(SSH_KEY);
  }
  return { config, secretKeys, plaintextSecrets };
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
    projectConfig: Object.fromEntries(Object.entries(c.config)
      .filter(([k]) => k.startsWith(`${PROJECT}:`))
      .map(([k, v]) => [k.slice(PROJECT.length + 1), c.secretKeys.includes(k) ? "[secret]" : v])),
    plaintextSecrets: c.plaintextSecrets,
    otherKeys: Object.keys(c.config).filter((k) => !k.startsWith(`${PROJECT}:`)),
  };
}
