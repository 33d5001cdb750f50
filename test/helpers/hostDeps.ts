// Debian packages that the host-level suite (test/host) relies on.
// The suite never skips itself when they are missing: a skipped layer would
// look green while testing nothing.

import { execFileSync } from "child_process";
import { accessSync, constants, existsSync, unlinkSync, writeFileSync } from "fs";

interface Requirement {
    /** Absolute path, so a shim earlier in PATH (pyenv, /usr/local/bin) cannot satisfy it. */
    readonly path: string;
    readonly pkg: string;
}

const REQUIREMENTS: readonly Requirement[] = [
    { path: "/usr/sbin/sshd", pkg: "openssh-server" },
    { path: "/usr/bin/ssh", pkg: "openssh-client" },
    { path: "/usr/bin/ssh-keygen", pkg: "openssh-client" },
    { path: "/usr/bin/shellcheck", pkg: "shellcheck" },
    { path: "/usr/bin/docker-compose", pkg: "docker-compose" },
    { path: "/usr/bin/unshare", pkg: "util-linux" },
    { path: "/usr/bin/nsenter", pkg: "util-linux" },
    { path: "/usr/bin/sudo", pkg: "sudo" },
    { path: "/usr/bin/python3", pkg: "python3" },
    { path: "/usr/bin/mount", pkg: "mount" },
    { path: "/usr/bin/ps", pkg: "procps" },
    { path: "/usr/sbin/chroot", pkg: "coreutils" },
    // The reverse edit on destroy runs under both awks of the CI servers (test/core/remote/reverseApply.test.ts).
    { path: "/usr/bin/mawk", pkg: "mawk" },
    { path: "/usr/bin/gawk", pkg: "gawk" },
];

let satisfied = false;

function isExecutable(path: string): boolean {
    try {
        accessSync(path, constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** Packages whose marker executable is absent, deduplicated, in a stable order. */
export function missingHostPackages(): string[] {
    const pkgs = REQUIREMENTS.filter((r) => !isExecutable(r.path)).map((r) => r.pkg);
    return Array.from(new Set(pkgs));
}

function aptCommand(pkgs: readonly string[]): string {
    return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
}

/**
 * Makes sure every package the host suite needs is installed. As root with
 * apt-get available it installs what is missing; otherwise it throws with the
 * command to run. Cached per process after the first success.
 */
export function ensureHostDeps(): void {
    if (satisfied) return;
    const missing = missingHostPackages();
    if (missing.length === 0) {
        satisfied = true;
        return;
    }
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    if (!isRoot || !existsSync("/usr/bin/apt-get")) {
        throw new Error(
            `host test dependencies missing: ${missing.join(", ")}. ` +
                `Install them with: sudo sh -c '${aptCommand(missing)}'`,
        );
    }
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const run = (args: string[]): void => {
        try {
            execFileSync("/usr/bin/apt-get", args, { env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
        } catch (err) {
            const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
            const tail = `${e.stdout?.toString() ?? ""}\n${e.stderr?.toString() ?? ""}`.slice(-4000);
            throw new Error(
                `installing host test dependencies failed (apt-get ${args.join(" ")}): ${e.message}\n${tail}\n` +
                    `Try by hand: ${aptCommand(missing)}`,
            );
        }
    };
    // Installing openssh-server must not start a system sshd: the suite starts its own, sandboxed.
    const policy = "/usr/sbin/policy-rc.d";
    const ownPolicy = !existsSync(policy);
    if (ownPolicy) writeFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    try {
        run(["update", "-qq"]);
        run(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
    } finally {
        if (ownPolicy) unlinkSync(policy);
    }
    const still = missingHostPackages();
    if (still.length > 0) {
        throw new Error(`host test dependencies still missing after apt-get install: ${still.join(", ")}`);
    }
    satisfied = true;
}
