// The AMI builder's SSH host key, known before the builder exists: an Ed25519 key derived from the
// stack's login key (a secret) and the build, installed by cloud-init from the builder's user data
// (a Pulumi secret), and pinned in the builder's connection. No provider plugin, no key stored in
// the stack: the same inputs give the same key, a new build (a new builder) gives a new one.
import { createHmac, createPrivateKey, createPublicKey } from "node:crypto";
import { ed25519PublicBlob, sshString, sshUint32 } from "./sshWire";

const LABEL = "gitlab-runner-autoscaling ami-builder ssh host key v1";
export const BUILDER_HOST_KEY_COMMENT = "gitlab-runner-autoscaling-builder";
/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");

export interface Ed25519Key {
  seed: Buffer;
  publicKey: Buffer;
}

/** The key of one build: HMAC-SHA256(login key, label + build) as the seed. */
export function builderSeed(loginKey: string, build: string): Buffer {
  return createHmac("sha256", loginKey.trim()).update(`${LABEL}\n${build}`).digest();
}

export function ed25519FromSeed(seed: Buffer): Ed25519Key {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  const spki = createPublicKey(createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
  return { seed, publicKey: Buffer.from(spki.subarray(spki.length - 32)) };
}

/** authorized_keys form: what the connection pins (without a comment) and ed25519_public. */
export function openSshPublicKeyLine(k: Ed25519Key, comment?: string): string {
  return `ssh-ed25519 ${ed25519PublicBlob(k.publicKey).toString("base64")}${comment ? ` ${comment}` : ""}`;
}

/**
 * OpenSSH's own private key format (PROTOCOL.key), unencrypted: what sshd reads as a host key.
 * checkint is any 32-bit value (OpenSSH picks it at random); here it comes from the seed, so the
 * text is a pure function of the key.
 */
export function openSshPrivateKey(k: Ed25519Key, comment: string): string {
  const checkint = k.seed.readUInt32BE(0) ^ 0x5a5a5a5a;
  let inner = Buffer.concat([sshUint32(checkint), sshUint32(checkint), sshString("ssh-ed25519"), sshString(k.publicKey), sshString(Buffer.concat([k.seed, k.publicKey])), sshString(comment)]);
  // Padded with 1, 2, 3… to the cipher block size (8 for "none").
  const pad = (8 - (inner.length % 8)) % 8;
  inner = Buffer.concat([inner, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), sshString("none"), sshString("none"), sshString(""), sshUint32(1), sshString(ed25519PublicBlob(k.publicKey)), sshString(inner)]);
  const lines = body.toString("base64").match(/.{1,70}/g)!;
  return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}

/**
 * The builder's user data: cloud-init's ssh module replaces the image's host keys with this one
 * (ssh_deletekeys) before sshd starts, and generates no other (ssh_keys given). `header` is a
 * comment line (the build's visible hash).
 */
export function builderCloudConfig(k: Ed25519Key, header: string): string {
  const indent = (text: string) => text.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
  return [
    "#cloud-config",
    `# ${header}`,
    "ssh_deletekeys: true",
    "ssh_genkeytypes: []",
    "ssh_keys:",
    "  ed25519_private: |",
    indent(openSshPrivateKey(k, BUILDER_HOST_KEY_COMMENT)),
    `  ed25519_public: ${openSshPublicKeyLine(k, BUILDER_HOST_KEY_COMMENT)}`,
    "",
  ].join("\n");
}

/** Everything the builder needs about its key, from the login key and the build's (secret) hash. */
export function builderHostKey(loginKey: string, build: string, header: string): { hostKey: string; userData: string } {
  const k = ed25519FromSeed(builderSeed(loginKey, build));
  return { hostKey: openSshPublicKeyLine(k), userData: builderCloudConfig(k, header) };
}
