// What cloud-init does on the AMI builder when EC2 launches it: the host key pair in the user data's
// `ssh_keys` (written by core/workerImage/builderHostKey.ts) replaces the instance's own before sshd serves the
// first login, so the program's pinned key is what answers. Here the builder "instance" is a
// sandbox (GRA_BUILDER_SSHD: its key file, sshd's host pid and port): the key file is rewritten,
// sshd re-executes itself on SIGHUP (re-reading its host keys), and this waits until ssh-keyscan
// sees the new key. User data without ssh_keys leaves the sandbox's key as it is.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { parse } from "yaml";

interface BuilderSshd {
  keyFile: string;
  pid: number;
  port: number;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function installBuilderHostKey(userData: unknown): void {
  const target = process.env.GRA_BUILDER_SSHD;
  if (!target || typeof userData !== "string" || !userData.startsWith("#cloud-config")) return;
  const keys = (parse(userData) as { ssh_keys?: Record<string, string> }).ssh_keys;
  if (!keys?.ed25519_private || !keys.ed25519_public) return;
  const sshd = JSON.parse(target) as BuilderSshd;
  fs.writeFileSync(sshd.keyFile, keys.ed25519_private, { mode: 0o600 });
  fs.writeFileSync(`${sshd.keyFile}.pub`, `${keys.ed25519_public.trim()}\n`);
  process.kill(sshd.pid, "SIGHUP");
  const want = keys.ed25519_public.trim().split(/\s+/).slice(0, 2).join(" ");
  let seen = "";
  for (let i = 0; i < 100; i++) {
    try {
      seen = execFileSync("ssh-keyscan", ["-T", "2", "-t", "ed25519", "-p", String(sshd.port), "127.0.0.1"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      if (seen.includes(want)) return;
    } catch {
      // sshd is re-executing: the port is closed for a moment.
    }
    sleep(50);
  }
  throw new Error(`cloud-init stand-in: the builder's sshd did not take the user data's host key (ssh-keyscan saw: ${seen.trim() || "nothing"})`);
}
