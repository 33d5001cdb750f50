// SSH wire encoding (RFC 4251) for the keys of core/workerImage/: uint32, length-prefixed strings,
// and the public key blob of an Ed25519 key (RFC 8709).

export function sshUint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A string: its length, then its bytes (text as latin1: the names here are ASCII). */
export function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === "string" ? Buffer.from(b, "latin1") : b;
  return Buffer.concat([sshUint32(buf.length), buf]);
}

export const ed25519PublicBlob = (pub: Buffer): Buffer => Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
