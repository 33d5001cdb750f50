// Stand-ins for secrets in offline runs: a plan never needs or shows a real one.
import { createHash, createPrivateKey } from "node:crypto";

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** A deterministic Ed25519 key from a label: same plan output every run, obviously not a real key. */
export function placeholderSshKey(label = "gitlab-runner-autoscaling offline placeholder"): string {
  const seed = createHash("sha256").update(label).digest();
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  return key.export({ format: "pem", type: "pkcs8" }).toString();
}

export const PLACEHOLDER_PROXY_CREDENTIALS = "placeholder-user:placeholder-password";
export const PLACEHOLDER_PROVIDER_SECRET = "placeholder-secret-access-key";
