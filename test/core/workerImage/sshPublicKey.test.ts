import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openSshPublicKey } from "../../../core/workerImage/sshPublicKey";

// Oracle: OpenSSH's own ssh-keygen -y on the same key.
function keygen(type: string, format: string[]): { priv: string; pub: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grs-key-"));
  const file = path.join(dir, "k");
  const gen = spawnSync("ssh-keygen", ["-q", "-t", type, ...format, "-N", "", "-f", file]);
  assert.equal(gen.status, 0, `ssh-keygen missing or failed (Debian package openssh-client): ${gen.stderr}`);
  const pub = spawnSync("ssh-keygen", ["-y", "-f", file]).stdout.toString().trim();
  const priv = fs.readFileSync(file, "utf8");
  fs.rmSync(dir, { recursive: true });
  return { priv, pub };
}

describe("OpenSSH public key from the private key", () => {
  for (const [type, format] of [["rsa", ["-b", "2048", "-m", "PEM"]], ["rsa", []], ["ed25519", []]] as [string, string[]][]) {
    it(`matches ssh-keygen -y for ${type} ${format.includes("PEM") ? "PEM" : "OpenSSH"} keys`, () => {
      const { priv, pub } = keygen(type, format);
      assert.equal(openSshPublicKey(priv), pub.split(" ").slice(0, 2).join(" "));
    });
  }

  it("rejects what is not a key", () => {
    assert.throws(() => openSshPublicKey("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"), /not an openssh-key-v1 key/);
  });
});
