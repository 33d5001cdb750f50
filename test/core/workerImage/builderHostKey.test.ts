// The AMI builder's host key: derived, written in OpenSSH's formats, installed through cloud-config.
// Oracle: OpenSSH's ssh-keygen reads the private key and gives the same public key.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { BUILDER_HOST_KEY_COMMENT, builderCloudConfig, builderHostKey, builderSeed, ed25519FromSeed, openSshPrivateKey, openSshPublicKeyLine } from "../../../core/workerImage/builderHostKey";

const SEED = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
const LOGIN = "-----BEGIN OPENSSH PRIVATE KEY-----\nlogin-key-stand-in\n-----END OPENSSH PRIVATE KEY-----\n";

function sshKeygen(args: string[], privateKey: string): { status: number | null; out: string; err: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-hostkey-"));
  try {
    const file = path.join(dir, "ssh_host_ed25519_key");
    fs.writeFileSync(file, privateKey, { mode: 0o600 });
    const r = spawnSync("ssh-keygen", [...args, "-f", file], { encoding: "utf8" });
    return { status: r.status, out: r.stdout.trim(), err: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("the AMI builder's host key", () => {
  const k = ed25519FromSeed(SEED);

  it("public key: the Ed25519 key of the seed (RFC 8032), in authorized_keys form", () => {
    assert.equal(k.publicKey.toString("hex"), "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
    assert.equal(openSshPublicKeyLine(k), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4");
    assert.equal(openSshPublicKeyLine(k, "c"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4 c");
  });

  it("private key: OpenSSH's format, exactly", () => {
    assert.equal(openSshPrivateKey(k, "test"), [
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
      "QyNTUxOQAAACADoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuAAAAIhaW1hZWltY",
      "WQAAAAtzc2gtZWQyNTUxOQAAACADoQe/884Qvh1w3RjnS8CZZ+TWMJulDV8d3IZkElUxuA",
      "AAAEAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHwOhB7/zzhC+HXDdGOdLwJln",
      "5NYwm6UNXx3chmQSVTG4AAAABHRlc3QB",
      "-----END OPENSSH PRIVATE KEY-----",
      "",
    ].join("\n"));
  });

  it("ssh-keygen -y on the private key gives the same public key, for any seed and comment length (padding)", () => {
    for (const [seed, comment] of [[SEED, "test"], [builderSeed(LOGIN, "b1"), BUILDER_HOST_KEY_COMMENT], [Buffer.alloc(32, 0xff), "x".repeat(13)]] as [Buffer, string][]) {
      const key = ed25519FromSeed(seed);
      const r = sshKeygen(["-y"], openSshPrivateKey(key, comment));
      assert.equal(r.status, 0, `ssh-keygen missing or refused the key (Debian package openssh-client): ${r.err}`);
      assert.equal(r.out.split(" ").slice(0, 2).join(" "), openSshPublicKeyLine(key));
    }
  });

  it("the seed: HMAC-SHA256 of the login key (trimmed) over a label and the build", () => {
    assert.equal(builderSeed("KEY", "build-1").toString("hex"), "954164794b6fc677c730f2fa5a81d71ced36eb8f7f8c4ca46e4b1fa22d3a9f8e");
    assert.deepEqual(builderSeed("KEY\n", "build-1"), builderSeed("KEY", "build-1"));
    assert.notDeepEqual(builderSeed("KEY", "build-2"), builderSeed("KEY", "build-1"), "a new build, a new key");
    assert.notDeepEqual(builderSeed("KEY2", "build-1"), builderSeed("KEY", "build-1"));
  });

  it("user data: cloud-config replacing the image's host keys with this one and generating none", () => {
    const text = builderCloudConfig(k, "gitlab-runner-autoscaling provisioning 0123456789abcdef");
    assert.match(text, /^#cloud-config\n# gitlab-runner-autoscaling provisioning 0123456789abcdef\n/);
    const doc = parse(text);
    assert.deepEqual(doc, {
      ssh_deletekeys: true,
      ssh_genkeytypes: [],
      ssh_keys: { ed25519_private: openSshPrivateKey(k, BUILDER_HOST_KEY_COMMENT), ed25519_public: openSshPublicKeyLine(k, BUILDER_HOST_KEY_COMMENT) },
    });
  });

  it("builderHostKey: the pinned key is the public half of the key in the user data", () => {
    const { hostKey, userData } = builderHostKey(LOGIN, "b1", "h");
    const r = sshKeygen(["-y"], parse(userData).ssh_keys.ed25519_private);
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out.split(" ").slice(0, 2).join(" "), hostKey);
    assert.doesNotMatch(userData, /login-key-stand-in/, "the login key itself never goes into the user data");
  });
});
