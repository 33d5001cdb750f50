// Debian packages that the oracles (shellcheck, docker-compose, ssh-keygen, the awks) and the host
// suite's sandbox rely on. The suite never skips itself when they are missing: a skipped layer
// would look green while testing nothing.
//
// apt runs at most once per mocha run, in the main process (mocha's global setup, before the
// parallel test processes start): three processes each running apt-get at once fail on apt's lock.
// The test processes only verify.

import { execFileSync } from "child_process";
import { accessSync, constants, existsSync, unlinkSync, writeFileSync } from "fs";

export interface Requirement {
    /** Absolute path, so a shim earlier in PATH (pyenv, /usr/local/bin) cannot satisfy it. */
    readonly path: string;
    readonly pkg: string;
}

export const REQUIREMENTS: readonly Requirement[] = [
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

/** What the functions below act on; the defaults are the real machine (tests pass stand-ins). */
export interface HostDepsOptions {
    requirements?: readonly Requirement[];
    aptGet?: string;
    /** Written while apt installs, so that installing openssh-server starts no system sshd. */
    policyRcD?: string;
    isRoot?: boolean;
}

function resolved(o: HostDepsOptions) {
    return {
        requirements: o.requirements ?? REQUIREMENTS,
        aptGet: o.aptGet ?? "/usr/bin/apt-get",
        policyRcD: o.policyRcD ?? "/usr/sbin/policy-rc.d",
        isRoot: o.isRoot ?? (typeof process.getuid === "function" && process.getuid() === 0),
    };
}

function isExecutable(path: string): boolean {
    try {
        accessSync(path, constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** Packages whose marker executable is absent, deduplicated, in a stable order. */
export function missingHostPackages(requirements: readonly Requirement[] = REQUIREMENTS): string[] {
    const pkgs = requirements.filter((r) => !isExecutable(r.path)).map((r) => r.pkg);
    return Array.from(new Set(pkgs));
}

function aptCommand(pkgs: readonly string[]): string {
    return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
}

function missingError(missing: readonly string[]): Error {
    return new Error(
        `host test dependencies missing: ${missing.join(", ")}. ` +
            `Install them with: sudo sh -c '${aptCommand(missing)}' (npm test does it itself when run as root)`,
    );
}

/**
 * For mocha's global setup (main process, once per run): as root with apt-get it installs what is
 * missing; otherwise it throws with the command to run.
 */
export function installHostDeps(options: HostDepsOptions = {}): void {
    const o = resolved(options);
    const missing = missingHostPackages(o.requirements);
    if (missing.length === 0) return;
    if (!o.isRoot || !existsSync(o.aptGet)) throw missingError(missing);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const run = (args: string[]): void => {
        try {
            execFileSync(o.aptGet, args, { env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
        } catch (err) {
            const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
            const tail = `${e.stdout?.toString() ?? ""}\n${e.stderr?.toString() ?? ""}`.slice(-4000);
            throw new Error(
                `installing host test dependencies failed (apt-get ${args.join(" ")}): ${e.message}\n${tail}\n` +
                    `Try by hand: ${aptCommand(missing)}`,
            );
        }
    };
    const ownPolicy = !existsSync(o.policyRcD);
    if (ownPolicy) writeFileSync(o.policyRcD, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    try {
        run(["update", "-qq"]);
        run(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
    } finally {
        if (ownPolicy) unlinkSync(o.policyRcD);
    }
    const still = missingHostPackages(o.requirements);
    if (still.length > 0) {
        throw new Error(`host test dependencies still missing after apt-get install: ${still.join(", ")}`);
    }
}

/** For each test process (and each sandbox start): throws when a package is missing; never installs. */
export function verifyHostDeps(options: HostDepsOptions = {}): void {
    const missing = missingHostPackages(resolved(options).requirements);
    if (missing.length > 0) throw missingError(missing);
}

/**
 * The mocha wiring, shared by test/setup.ts and the test that checks it: install in the global
 * setup, verify in a root hook of every test process.
 */
export function hostDepsFixtures(options: HostDepsOptions = {}) {
    return {
        mochaGlobalSetup(): void {
            installHostDeps(options);
        },
        mochaHooks: {
            beforeAll(): void {
                verifyHostDeps(options);
            },
        },
    };
}
