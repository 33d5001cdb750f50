// The OpenSSH public key of a private key, so the AMI builder's key pair can be made from the one
// secret the operator already gives (sshPrivateKey) instead of a second key to manage.
import { createPrivateKey } from "node:crypto";
import { ed25519PublicBlob, sshString } from "./sshWire";

/** An mpint: big-endian, with a leading zero byte when the top bit is set. */
const mpint = (b: Buffer) => sshString(b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);

/** "openssh-key-v1" files carry the public key in clear right after the header. */
function fromOpenSshFormat(pem: string): string {
  const body = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  const buf = Buffer.from(body, "base64");
  const magic = "openssh-key-v1\0";
  if (buf.subarray(0, magic.length).toString("latin1") !== magic) throw new Error("sshPrivateKey: not an openssh-key-v1 key");
  let off = magic.length;
  const next = () => {
    const len = buf.readUInt32BE(off);
    const v = buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return v;
  };
  next(); // cipher name
  next(); // kdf name
  next(); // kdf options
  const count = buf.readUInt32BE(off);
  off += 4;
  if (count < 1) throw new Error("sshPrivateKey: the key file holds no key");
  const blob = next();
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
  return `${type} ${blob.toString("base64")}`;
}

export function openSshPublicKey(privateKey: string): string {
  if (privateKey.includes("BEGIN OPENSSH PRIVATE KEY")) return fromOpenSshFormat(privateKey);
  const jwk = createPrivateKey(privateKey).export({ format: "jwk" });
  const b64 = (s?: string) => Buffer.from(s ?? "", "base64url");
  if (jwk.kty === "RSA") {
    const blob = Buffer.concat([sshString("ssh-rsa"), mpint(b64(jwk.e)), mpint(b64(jwk.n))]);
    return `ssh-rsa ${blob.toString("base64")}`;
  }
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") {
    return `ssh-ed25519 ${ed25519PublicBlob(b64(jwk.x)).toString("base64")}`;
  }
  throw new Error(`sshPrivateKey: unsupported key type ${jwk.kty}${jwk.crv ? `/${jwk.crv}` : ""} (use RSA or Ed25519)`);
}
