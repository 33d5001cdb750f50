// A throw-away "server" for the remote-step tests: a real sshd on 127.0.0.1 whose sessions
// see a private root tree (chroot) inside a private mount + PID namespace. Files sit at their
// real paths (/home/ec2-user/nop/docker/ci, /data/gitlab-runner/config, /etc/systemd/system,
// ...), sudo is real, and docker/systemctl/apt-get & co. are recording stand-ins.
//
// Isolation: every mount is made after `unshare --mount --propagation private`, so none is
// visible outside; the host's /usr is bound read-only; /etc, /var and /usr/lib/systemd/system
// are overlays whose writes land in the sandbox dir; /home, /data, /tmp, /root and /run are
// plain directories of the sandbox. Nothing outside the sandbox dir is written.
//
// Lifetime: PID 1 of the namespace is a small sh that waits for EOF on its stdin (our pipe).
// stop(), the test process exiting, or the test process dying all close that pipe, and the
// kernel then kills everything in the namespace; `unshare --kill-child` covers unshare dying.

import { ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import { verifyHostDeps } from "../helpers/hostDeps";
import { KNOWN_KEYS, runnerTomlModel } from "../helpers/runnerTomlModel";
import { ALL_STANDINS, COLLABORAGE_FIXTURES, LAYOUTS, Layout, LayoutSpec } from "./layouts";

export { Layout } from "./layouts";

const execFileP = promisify(execFile);

export interface ExecOptions {
    /** Piped to the remote command, then EOF (like remote.Command's `stdin`). */
    stdin?: string;
    /** Default 30 s; on expiry ssh is killed and the promise rejects. */
    timeoutMs?: number;
}

export interface ExecResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface CallRecord {
    cmd: string;
    argv: string[];
    /** Effective user that ran the stand-in (root under sudo). */
    user: string;
    uid: number;
    cwd: string;
}

/** One line of /.sandbox/events.log (standin.py's dockerd model). */
export interface DockerdEvent {
    event: string;
    name?: string;
    by?: string;
    signal?: string;
    liveRestore?: boolean;
    ok?: boolean;
    abortedJobs?: number;
    [k: string]: unknown;
}

export interface DockerdKnobs {
    /** Jobs the runner is running; each `docker inspect` poll after SIGQUIT finishes one. */
    runnerJobs?: number;
    /** The runner's jobs never finish (a graceful stop times out). */
    runnerNeverStops?: boolean;
    /** `docker logs` calls after a config.toml change before the runner reloads it (default 1). */
    runnerReloadPolls?: number;
    logFormat?: "runner" | "json";
    swarm?: "inactive" | "active";
    /** dockerd runs with --live-restore on its command line. */
    liveRestoreFlag?: boolean;
    /** dockerd was started with live-restore on in daemon.json (default: off, as Collaborage ships it). */
    liveRestore?: boolean;
}

/** One batched background migration as the rake task lists it: status, job class, table, column, job arguments (JSON). */
export type MigrationRow = [status: string, jobClass: string, table: string, column: string, jobArguments: string];

/** Per GitLab version (x.y.z), one list of rows per poll; the last repeats. Versions not listed: one finished row. */
export type GitlabMigrations = Record<string, MigrationRow[][]>;

export interface GitlabKnobs {
    /** `gitlab-backup create` fails (exit 1) after its first line. */
    backupFails?: boolean;
    /** `gitlab-backup create` waits 60 s (real time) after its first line, for a caller's bound to end it. */
    backupHangs?: boolean;
    /** pg_dump in the postgres container fails. */
    pgDumpFails?: boolean;
}

export interface SandboxUser {
    uid: number;
    gid: number;
    home: string;
}

export interface WriteOptions {
    /** Layout user name or "root" (default "root"). */
    owner?: string;
    mode?: number;
}

export interface Sandbox {
    readonly host: "127.0.0.1";
    readonly port: number;
    /** The login user of the layout (ec2-user, or ubuntu for the builder). */
    readonly user: string;
    /** Client private key (OpenSSH format) authorised for every layout user. */
    readonly privateKey: string;
    /** sshd's public host key, "ssh-ed25519 AAAA...". */
    readonly hostKey: string;
    /** Temp dir on the host holding everything of this sandbox. */
    readonly dir: string;
    readonly layout: Layout;
    readonly users: Readonly<Record<string, SandboxUser>>;
    /** The namespace's mount-namespace id ("mnt:[4026532177]"), to find its processes from the host. */
    readonly mountNamespace: string;
    /** Wall time startSandbox() took, for keeping startup fast. */
    readonly startupMs: number;
    /** Runs `script` as the remote command string in a fresh `ssh -T` session (over the sandbox's one master connection). */
    exec(script: string, opts?: ExecOptions): Promise<ExecResult>;
    /** ssh argv (without the remote command) for running other clients the same way. */
    sshArgs(): string[];
    /** Paths are as seen inside the sandbox ("/data/..."), never host paths. */
    readFile(p: string): Buffer;
    exists(p: string): boolean;
    stat(p: string): { mode: number; uid: number; gid: number; owner: string };
    writeFile(p: string, data: string | Buffer, opts?: WriteOptions): void;
    /** Stand-in calls so far, one shell-quoted command line each ("docker compose up -d"). */
    calls(): string[];
    callRecords(): CallRecord[];
    clearCalls(): void;
    /** Statuses `docker inspect -f '{{.State.Health.Status}}'` returns, one per call; the last repeats. */
    setHealth(lines: string[]): void;
    /** The arguments of every `sleep` the scripts ran (it lasts 1/SLEEP_SCALE as long here), in order. */
    sleeps(): string[];
    /** The dockerd model's events (stop, start, signal, recreate, dockerd-*; see standin.py), in order. */
    events(): DockerdEvent[];
    clearEvents(): void;
    /** Resets the dockerd model; it starts again from these knobs and the files as they are now. */
    setDockerd(knobs: DockerdKnobs): void;
    /** What GitLab's background migration checks report, per version and poll (standin_container.py); the polls count from 0 again. */
    setGitlabMigrations(script: GitlabMigrations): void;
    /** Failures of gitlab-backup create and pg_dump. */
    setGitlab(knobs: GitlabKnobs): void;
    /** The server's local time for `date +%H:%M` ("22:10"; a new sandbox says DEFAULT_CLOCK); undefined = the real clock. Every other date call is real. */
    setClock(hhmm: string | undefined): void;
    /** The namespace's processes (host pids). */
    processes(): Proc[];
    /** What `ps -eo args` inside the namespace prints. */
    processSnapshot(): string;
    /** sshd's log so far (stderr, -e). */
    sshdLog(): string;
    stop(): Promise<void>;
}

export interface SandboxOptions {
    layout: Layout;
    /** sudo's secure_path; default puts the stand-ins first. */
    sudoSecurePath?: string;
}

const STANDINS_DIR_IN_SANDBOX = "/usr/local/bin";
const SESSION_PATH = `${STANDINS_DIR_IN_SANDBOX}:/usr/bin:/bin:/usr/sbin:/sbin`;
const DEFAULT_SECURE_PATH = `${STANDINS_DIR_IN_SANDBOX}:/usr/sbin:/usr/bin:/sbin:/bin`;
const STARTUP_TIMEOUT_MS = 10_000;
const LOG_LIMIT = 256 * 1024;

const live = new Set<{ child: ChildProcess; dir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    process.on("exit", () => {
        // Its servers notice within 2 s that it is gone, and exit.
        zygote?.proc.kill("SIGKILL");
        for (const l of Array.from(live)) {
            try {
                l.child.kill("SIGKILL");
            } catch {
                /* already gone */
            }
            try {
                fs.rmSync(l.dir, { recursive: true, force: true });
            } catch {
                /* best effort at exit */
            }
        }
        live.clear();
    });
}

const SANDBOX_PREFIX = "/tmp/gra-sandbox-";

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Removes sandbox dirs left by test processes that were killed (no exit hook ran). */
function sweepStale(): void {
    const parent = path.dirname(SANDBOX_PREFIX);
    const base = path.basename(SANDBOX_PREFIX);
    for (const name of fs.readdirSync(parent)) {
        if (!name.startsWith(base)) continue;
        const d = path.join(parent, name);
        try {
            const owner = Number(fs.readFileSync(path.join(d, "owner.pid"), "utf8"));
            if (owner > 0 && !alive(owner)) fs.rmSync(d, { recursive: true, force: true });
        } catch {
            /* being created or removed by its owner */
        }
    }
}

function shQuote(s: string): string {
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function checkSandboxPath(p: string): void {
    if (!p.startsWith("/") || p.split("/").includes("..")) {
        throw new Error(`sandbox paths must be absolute and without "..": ${JSON.stringify(p)}`);
    }
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
        });
    });
}

interface Account {
    name: string;
    uid: number;
    gid: number;
    home: string;
    groups: readonly string[];
}

/** Picks free ids in the sandbox copies of passwd/group and appends the layout's users and groups. */
function addAccounts(spec: LayoutSpec, passwd: string, group: string, shadow: string, gshadow: string) {
    const usedUids = new Set(passwd.split("\n").filter(Boolean).map((l) => Number(l.split(":")[2])));
    const groupLines = group.split("\n").filter(Boolean);
    const usedGids = new Set(groupLines.map((l) => Number(l.split(":")[2])));
    const groupNames = new Map(groupLines.map((l) => [l.split(":")[0], l] as const));
    const nextFree = (used: Set<number>, from: number) => {
        let n = from;
        while (used.has(n)) n++;
        used.add(n);
        return n;
    };
    const accounts: Account[] = [];
    const addPasswd: string[] = [];
    const addShadow: string[] = [];
    const addGroup: string[] = [];
    const addGshadow: string[] = [];
    const members = new Map<string, string[]>();
    for (const u of spec.users) {
        const id = nextFree(usedUids, 1000);
        usedGids.add(id);
        const acc: Account = { name: u.name, uid: id, gid: id, home: `/home/${u.name}`, groups: u.groups };
        accounts.push(acc);
        addPasswd.push(`${u.name}:x:${id}:${id}::${acc.home}:/bin/bash`);
        // "*": no password, yet not "locked" ("!"), which sshd would refuse even for keys.
        addShadow.push(`${u.name}:*:19000:0:99999:7:::`);
        addGroup.push(`${u.name}:x:${id}:`);
        addGshadow.push(`${u.name}:!::`);
        for (const g of u.groups) members.set(g, [...(members.get(g) ?? []), u.name]);
    }
    let groupText = groupLines
        .map((l) => {
            const [name] = l.split(":");
            const add = members.get(name);
            if (!add) return l;
            const parts = l.split(":");
            const cur = parts[3] ? parts[3].split(",") : [];
            parts[3] = [...cur, ...add].join(",");
            return parts.join(":");
        })
        .join("\n");
    for (const [g, names] of Array.from(members)) {
        if (groupNames.has(g)) continue;
        const gid = nextFree(usedGids, 990);
        addGroup.push(`${g}:x:${gid}:${names.join(",")}`);
        addGshadow.push(`${g}:!::${names.join(",")}`);
    }
    groupText += "\n" + addGroup.join("\n") + "\n";
    return {
        accounts,
        passwd: passwd.replace(/\n?$/, "\n") + addPasswd.join("\n") + "\n",
        shadow: shadow.replace(/\n?$/, "\n") + addShadow.join("\n") + "\n",
        group: groupText,
        gshadow: gshadow.replace(/\n?$/, "\n") + addGshadow.join("\n") + "\n",
    };
}

/** Where a sandbox path lives on the host before the namespace exists (most specific first). */
function backingRoots(dir: string, root: string): [string, string][] {
    return [
        ["/etc/systemd/system", path.join(dir, "fs/etc-systemd-system")],
        ["/etc/apt", path.join(dir, "fs/etc-apt")],
        ["/etc", path.join(dir, "upper/etc")],
        ["/usr/lib/systemd/system", path.join(dir, "upper/usr-lib-systemd-system")],
        ["/var", path.join(dir, "upper/var")],
        ["/", root],
    ];
}

function hostPathBeforeStart(dir: string, root: string, p: string): { host: string; lowerOf?: string } {
    for (const [prefix, base] of backingRoots(dir, root)) {
        if (p === prefix || p.startsWith(prefix === "/" ? "/" : prefix + "/")) {
            const rel = prefix === "/" ? p.slice(1) : p.slice(prefix.length + 1);
            const isOverlay = base.includes(`${path.sep}upper${path.sep}`);
            return { host: path.join(base, rel), lowerOf: isOverlay ? p : undefined };
        }
    }
    throw new Error(`unmapped sandbox path ${p}`);
}

/** mkdir -p in an overlay upper dir, copying owner and mode of directories the lower has. */
function mkdirsLike(hostDir: string, sandboxDir: string | undefined): void {
    if (fs.existsSync(hostDir)) return;
    mkdirsLike(path.dirname(hostDir), sandboxDir ? path.dirname(sandboxDir) : undefined);
    fs.mkdirSync(hostDir);
    let mode = 0o755;
    let uid = 0;
    let gid = 0;
    if (sandboxDir) {
        try {
            const st = fs.statSync(sandboxDir);
            if (st.isDirectory()) ({ mode, uid, gid } = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
        } catch {
            /* not in the lower layer: a new directory */
        }
    }
    fs.chownSync(hostDir, uid, gid);
    fs.chmodSync(hostDir, mode);
}

function copyLike(src: string, dst: string): void {
    fs.copyFileSync(src, dst);
    const st = fs.statSync(src);
    fs.chownSync(dst, st.uid, st.gid);
    fs.chmodSync(dst, st.mode & 0o7777);
}

/**
 * The sandbox's clock. The scripts' waits (health, graceful stop, reload, drain) count their
 * seconds with their own counters and the stand-ins change state per poll, never per second, so
 * a whole-second `sleep` lasts 1/50 of that here: the same polls and messages, without minutes
 * of idle waiting. Fractions (a test's own loops) sleep for real. Every call is logged.
 */
export const SLEEP_SCALE = 50;
const FAST_SLEEP = [
    "#!/bin/sh",
    "printf '%s\\n' \"$*\" >> /.sandbox/sleeps.log 2>/dev/null",
    "[ $# -eq 1 ] || exec /usr/bin/sleep \"$@\"",
    "case $1 in '' | *[!0-9]*) exec /usr/bin/sleep \"$1\" ;; esac",
    `ms=$(( $1 * 1000 / ${SLEEP_SCALE} ))`,
    "exec /usr/bin/sleep \"$((ms / 1000)).$(printf '%03d' $((ms % 1000)))\"",
    "",
].join("\n");

/** `date +%H:%M` (the snapshot window's check) answers /.sandbox/state/clock when a test set it. */
export const DEFAULT_CLOCK = "12:00";
const CLOCK_DATE = [
    "#!/bin/sh",
    "if [ \"$*\" = \"+%H:%M\" ] && [ -s /.sandbox/state/clock ]; then exec cat /.sandbox/state/clock; fi",
    "exec /usr/bin/date \"$@\"",
    "",
].join("\n");

function standinWrapper(name: string): string {
    return `#!/bin/sh\nexec /usr/bin/python3 -I -S /.sandbox/standin.py ${name} "$@"\n`;
}

function sshdConfig(port: number, users: string[]): string {
    return [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        "HostKey /.sandbox/ssh_host_ed25519_key",
        "PidFile /.sandbox/sshd.pid",
        "AuthorizedKeysFile /.sandbox/authorized_keys",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        `AllowUsers ${users.join(" ")}`,
        "UsePAM no",
        // The sandbox dir's parents are the test machine's, not a server's.
        "StrictModes no",
        "PrintMotd no",
        "PrintLastLog no",
        "AcceptEnv LANG LC_*",
        `SetEnv PATH=${SESSION_PATH}`,
        "Subsystem sftp internal-sftp",
        "MaxStartups 64:30:128",
        "MaxSessions 64",
        "LogLevel INFO",
        "",
    ].join("\n");
}

function holderScript(dir: string, root: string, spec: LayoutSpec, hideInUsrBin: boolean): string {
    const q = shQuote;
    const lines = [
        "#!/bin/sh",
        "# PID 1 of the sandbox namespace: mount the private tree, then become sshd.",
        "set -eu",
        `R=${q(root)}`,
        `SB=${q(dir)}`,
        'mount --bind -o ro /usr "$R/usr"',
    ];
    if (hideInUsrBin) {
        lines.push('mount -t overlay overlay -o "lowerdir=$SB/whiteout/usr-bin:/usr/bin" "$R/usr/bin"');
    }
    lines.push(
        'mount -t overlay overlay -o "lowerdir=/usr/lib/systemd/system,upperdir=$SB/upper/usr-lib-systemd-system,workdir=$SB/work/usr-lib-systemd-system" "$R/usr/lib/systemd/system"',
        'mount --bind -o ro "$SB/standins" "$R/usr/local/bin"',
        'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$SB/upper/etc,workdir=$SB/work/etc" "$R/etc"',
        'mount --bind "$SB/fs/etc-systemd-system" "$R/etc/systemd/system"',
    );
    if (spec.etcApt) lines.push('mount --bind "$SB/fs/etc-apt" "$R/etc/apt"');
    lines.push(
        'mount -t overlay overlay -o "lowerdir=/var,upperdir=$SB/upper/var,workdir=$SB/work/var" "$R/var"',
        'mount --rbind /dev "$R/dev"',
        'mount -t tmpfs -o mode=1777,size=64m tmpfs "$R/dev/shm"',
        'mount -t proc proc "$R/proc"',
        'mount --bind -o ro /sys "$R/sys"',
        // sshd becomes PID 1: it reaps every orphan (one per session) and its exit ends the
        // namespace. The watcher turns EOF on our stdin pipe into a SIGTERM for it.
        "exec 3<&0",
        "( read -r _ <&3 || true; kill -TERM 1 ) &",
        'exec chroot "$R" /usr/sbin/sshd -D -e -f /.sandbox/sshd_config </dev/null 3<&-',
        "",
    );
    return lines.join("\n");
}

export interface Proc {
    /** The host's pid. */
    pid: number;
    ppid: number;
    /** The argv joined by spaces, or [comm] for an empty one, as `ps -eo args` shows it. */
    args: string;
}

/**
 * The processes of one PID namespace, read from the host's /proc: the scenarios look at them every
 * 100 ms while a command runs (secrets must never be in an argv), and spawning nsenter, chroot and
 * ps each time cost more CPU than the command itself.
 */
export function namespaceProcesses(pidNamespace: string): Proc[] {
    const out: Proc[] = [];
    for (const name of fs.readdirSync("/proc")) {
        if (!/^[0-9]+$/.test(name)) continue;
        try {
            if (fs.readlinkSync(`/proc/${name}/ns/pid`) !== pidNamespace) continue;
            const argv = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0+$/, "");
            const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            const args = argv === "" ? `[${fs.readFileSync(`/proc/${name}/comm`, "utf8").trim()}]` : argv.split("\0").join(" ");
            out.push({ pid: Number(name), ppid, args });
        } catch {
            /* exited meanwhile */
        }
    }
    return out;
}

function parseCalls(text: string): CallRecord[] {
    return text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as CallRecord);
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
    verifyHostDeps();
    installExitHook();
    const started = Date.now();
    const spec = LAYOUTS[opts.layout];
    if (!spec) throw new Error(`unknown sandbox layout ${JSON.stringify(opts.layout)}`);

    sweepStale();
    // /tmp, not $TMPDIR: an overlay's upper dir must not lie inside its lower (/etc, /var).
    const dir = fs.mkdtempSync(SANDBOX_PREFIX);
    fs.writeFileSync(path.join(dir, "owner.pid"), String(process.pid));
    const root = path.join(dir, "root");
    const ctl = path.join(root, ".sandbox");
    try {
        // ---- the root tree: symlinks like the host's (merged /usr), plain dirs, mount points
        fs.mkdirSync(root, { mode: 0o755 });
        for (const name of ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]) {
            let target: string;
            try {
                target = fs.readlinkSync(`/${name}`);
            } catch {
                if (fs.existsSync(`/${name}`)) throw new Error(`/${name} is not a symlink; only merged-/usr hosts are supported`);
                continue;
            }
            fs.symlinkSync(target, path.join(root, name));
        }
        const plain: [string, number][] = [
            ["usr", 0o755], ["etc", 0o755], ["var", 0o755], ["dev", 0o755], ["proc", 0o555], ["sys", 0o555],
            ["home", 0o755], ["tmp", 0o1777], ["root", 0o700], ["run", 0o755], ["run/sshd", 0o755],
            ["run/lock", 0o1777], ["opt", 0o755], ["srv", 0o755], ["mnt", 0o755], ["media", 0o755],
            [".sandbox", 0o755], [".sandbox/real", 0o755], [".sandbox/state", 0o755],
            // Container state (standin_container.py): written by whoever runs compose up (root or group docker).
            [".sandbox/state/containers", 0o777],
        ];
        for (const [rel, mode] of plain) {
            fs.mkdirSync(path.join(root, rel));
            fs.chmodSync(path.join(root, rel), mode);
        }
        // Noon, outside Collaborage's snapshot window (23:00-00:30): no scenario depends on the time of day.
        fs.writeFileSync(path.join(root, ".sandbox/state/clock"), `${DEFAULT_CLOCK}\n`);
        for (const rel of ["upper/etc", "upper/var", "upper/usr-lib-systemd-system", "work/etc", "work/var",
            "work/usr-lib-systemd-system", "fs/etc-systemd-system", "fs/etc-apt", "standins", "whiteout/usr-bin"]) {
            fs.mkdirSync(path.join(dir, rel), { recursive: true, mode: 0o755 });
        }
        for (const rel of ["upper/etc", "upper/var", "upper/usr-lib-systemd-system"]) fs.chmodSync(path.join(dir, rel), 0o755);
        if (!fs.existsSync(STANDINS_DIR_IN_SANDBOX)) throw new Error(`${STANDINS_DIR_IN_SANDBOX} must exist on the host (mount point)`);

        // ---- accounts, sudo, os-release: files in the /etc overlay's upper layer
        const etcUpper = path.join(dir, "upper/etc");
        const acc = addAccounts(
            spec,
            fs.readFileSync("/etc/passwd", "utf8"),
            fs.readFileSync("/etc/group", "utf8"),
            fs.readFileSync("/etc/shadow", "utf8"),
            fs.existsSync("/etc/gshadow") ? fs.readFileSync("/etc/gshadow", "utf8") : "",
        );
        for (const [name, text] of [["passwd", acc.passwd], ["group", acc.group], ["shadow", acc.shadow], ["gshadow", acc.gshadow]] as const) {
            const dst = path.join(etcUpper, name);
            fs.writeFileSync(dst, text);
            if (fs.existsSync(`/etc/${name}`)) {
                const st = fs.statSync(`/etc/${name}`);
                fs.chownSync(dst, st.uid, st.gid);
                fs.chmodSync(dst, st.mode & 0o7777);
            } else {
                fs.chmodSync(dst, name.endsWith("shadow") ? 0o640 : 0o644);
            }
        }
        mkdirsLike(path.join(etcUpper, "sudoers.d"), "/etc/sudoers.d");
        const sudoers = path.join(etcUpper, "sudoers.d/90-cloud-init-users");
        fs.writeFileSync(
            sudoers,
            [
                "# sandbox: what cloud-init writes on EC2 images",
                "Defaults !requiretty",
                `Defaults secure_path="${opts.sudoSecurePath ?? DEFAULT_SECURE_PATH}"`,
                ...spec.users.map((u) => `${u.name} ALL=(ALL) NOPASSWD:ALL`),
                "",
            ].join("\n"),
        );
        fs.chmodSync(sudoers, 0o440);
        fs.writeFileSync(path.join(etcUpper, "os-release"), spec.osRelease);
        // The host's name must resolve or sudo prints "unable to resolve host" on every call.
        copyLike("/etc/hosts", path.join(etcUpper, "hosts"));
        const hostname = fs.readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
        if (!new RegExp(`\\s${hostname.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\s|$)`, "m").test(fs.readFileSync("/etc/hosts", "utf8"))) {
            fs.appendFileSync(path.join(etcUpper, "hosts"), `127.0.1.1 ${hostname}\n`);
        }
        if (!spec.etcApt) execFileSync("mknod", [path.join(etcUpper, "apt"), "c", "0", "0"]); // overlay whiteout

        // ---- homes and layout files
        const users: Record<string, SandboxUser> = {};
        const ownerIds = (owner: string) => {
            if (owner === "root") return { uid: 0, gid: 0 };
            const a = acc.accounts.find((x) => x.name === owner);
            if (!a) throw new Error(`layout owner ${owner} is not a layout user`);
            return a;
        };
        for (const a of acc.accounts) {
            users[a.name] = { uid: a.uid, gid: a.gid, home: a.home };
            const home = path.join(root, a.home);
            fs.mkdirSync(home);
            for (const f of fs.existsSync("/etc/skel") ? fs.readdirSync("/etc/skel") : []) {
                const src = path.join("/etc/skel", f);
                if (fs.statSync(src).isFile()) {
                    fs.copyFileSync(src, path.join(home, f));
                    fs.chownSync(path.join(home, f), a.uid, a.gid);
                    fs.chmodSync(path.join(home, f), 0o644);
                }
            }
            fs.chownSync(home, a.uid, a.gid);
            fs.chmodSync(home, 0o700);
        }
        users.root = { uid: 0, gid: 0, home: "/root" };
        const place = (p: string) => {
            const { host, lowerOf } = hostPathBeforeStart(dir, root, p);
            return { host, lowerOf };
        };
        for (const d of spec.dirs) {
            const { host, lowerOf } = place(d.path);
            mkdirsLike(path.dirname(host), lowerOf ? path.dirname(lowerOf) : undefined);
            if (!fs.existsSync(host)) fs.mkdirSync(host);
            const o = ownerIds(d.owner);
            fs.chownSync(host, o.uid, o.gid);
            fs.chmodSync(host, d.mode);
        }
        for (const f of spec.files) {
            const { host, lowerOf } = place(f.path);
            mkdirsLike(path.dirname(host), lowerOf ? path.dirname(lowerOf) : undefined);
            const content = typeof f.content === "string"
                ? f.content
                : fs.readFileSync(path.join(COLLABORAGE_FIXTURES, f.content.fixture));
            fs.writeFileSync(host, content);
            const o = ownerIds(f.owner);
            fs.chownSync(host, o.uid, o.gid);
            fs.chmodSync(host, f.mode);
        }

        // ---- stand-ins; the real commands of those names are whited out of /usr/bin
        for (const name of spec.standins) {
            const p = path.join(dir, "standins", name);
            fs.writeFileSync(p, standinWrapper(name));
            fs.chmodSync(p, 0o755);
        }
        fs.writeFileSync(path.join(dir, "standins", "sleep"), FAST_SLEEP);
        fs.chmodSync(path.join(dir, "standins", "sleep"), 0o755);
        fs.writeFileSync(path.join(dir, "standins", "date"), CLOCK_DATE);
        fs.chmodSync(path.join(dir, "standins", "date"), 0o755);
        let hideInUsrBin = false;
        for (const name of ALL_STANDINS) {
            let present = true;
            try {
                fs.lstatSync(path.join("/usr/bin", name));
            } catch {
                present = false;
            }
            if (present) {
                execFileSync("mknod", [path.join(dir, "whiteout/usr-bin", name), "c", "0", "0"]);
                hideInUsrBin = true;
            }
        }
        fs.copyFileSync(path.join(__dirname, "standin.py"), path.join(ctl, "standin.py"));
        fs.copyFileSync(path.join(__dirname, "standin_container.py"), path.join(ctl, "standin_container.py"));
        // The runner's reload of config.toml: the runner-toml model (the runner's TOML library on its
        // keys and types), a static binary, since the real gitlab-runner cannot be built here.
        fs.copyFileSync(runnerTomlModel(), path.join(ctl, "runner-toml"));
        fs.chmodSync(path.join(ctl, "runner-toml"), 0o755);
        fs.copyFileSync(KNOWN_KEYS, path.join(ctl, "runner-known-keys.json"));
        fs.copyFileSync("/usr/bin/docker-compose", path.join(ctl, "real/docker-compose"));
        fs.chmodSync(path.join(ctl, "real/docker-compose"), 0o755);
        fs.writeFileSync(
            path.join(ctl, "config.json"),
            JSON.stringify({
                layout: opts.layout,
                composePlugin: spec.composePlugin,
                composeVersion: spec.composeVersion,
                dockerVersion: spec.dockerVersion,
                containers: spec.containers,
                stopSignals: spec.stopSignals,
                lsb: spec.lsb ?? null,
                packageUnits: spec.packageUnits,
                requiresPackage: spec.requiresPackage,
            }),
        );
        for (const f of ["calls.log", "health", "events.log", "dockerd.json", "knobs.json", "sleeps.log"]) {
            fs.writeFileSync(path.join(ctl, f), "");
            fs.chmodSync(path.join(ctl, f), 0o666);
        }

        // ---- keys and sshd
        const clientKey = path.join(dir, "client_ed25519");
        const hostKeyFile = path.join(ctl, "ssh_host_ed25519_key");
        await Promise.all([
            execFileP("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sandbox-client", "-f", clientKey]),
            execFileP("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sandbox-host", "-f", hostKeyFile]),
        ]);
        const clientPub = fs.readFileSync(`${clientKey}.pub`, "utf8").trim();
        const hostKey = fs.readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
        fs.writeFileSync(path.join(ctl, "authorized_keys"), clientPub + "\n");
        fs.chmodSync(path.join(ctl, "authorized_keys"), 0o644);
        fs.writeFileSync(path.join(dir, "holder.sh"), holderScript(dir, root, spec, hideInUsrBin));

        let lastError = "";
        for (let attempt = 0; attempt < 3; attempt++) {
            const port = await freePort();
            fs.writeFileSync(path.join(ctl, "sshd_config"), sshdConfig(port, spec.users.map((u) => u.name)));
            fs.writeFileSync(path.join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
            const result = await launch(dir, root, port);
            if ("error" in result) {
                lastError = result.error;
                if (/Address already in use|Cannot bind/.test(lastError)) continue;
                break;
            }
            const user = spec.users[0].name;
            let master: ChildProcess | undefined;
            let composeServer: number | undefined;
            try {
                [master, composeServer] = await Promise.all([
                    startMaster({ clientKey, port, dir, user }),
                    startComposeServer(result.child.pid!, root),
                ]);
            } catch (e) {
                master?.kill("SIGKILL");
                if (composeServer !== undefined) await killAndWait(composeServer);
                result.child.stdin!.end();
                result.child.kill("SIGKILL");
                await waitExit(result.child, 3000);
                throw e;
            }
            return makeSandbox({
                child: result.child, master, composeServer, log: result.log, dir, root, port, layout: opts.layout,
                user, users, privateKey: fs.readFileSync(clientKey, "utf8"),
                clientKey, hostKey, startedMs: Date.now() - started,
            });
        }
        throw new Error(`sandbox sshd did not start: ${lastError}`);
    } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
    }
}

interface Log {
    text: string;
}

async function launch(dir: string, root: string, port: number): Promise<{ child: ChildProcess; log: Log } | { error: string }> {
    const child = spawn(
        "/usr/bin/unshare",
        ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "/bin/sh", path.join(dir, "holder.sh")],
        { stdio: ["pipe", "pipe", "pipe"] },
    );
    const entry = { child, dir };
    live.add(entry);
    const log: Log = { text: "" };
    const append = (b: Buffer) => {
        log.text += b.toString();
        if (log.text.length > LOG_LIMIT) log.text = log.text.slice(-LOG_LIMIT);
    };
    child.stdout!.on("data", append);
    child.stderr!.on("data", append);
    // Let a forgetful test process still exit; the exit hook then kills the namespace.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as net.Socket).unref?.();

    const ready = `Server listening on 127.0.0.1 port ${port}.`;
    const outcome = await new Promise<"ready" | "exited" | "timeout">((resolve) => {
        const timer = setTimeout(() => resolve("timeout"), STARTUP_TIMEOUT_MS);
        const check = () => {
            if (log.text.includes(ready)) {
                clearTimeout(timer);
                resolve("ready");
            }
        };
        child.stderr!.on("data", check);
        child.once("exit", () => {
            clearTimeout(timer);
            resolve("exited");
        });
    });
    if (outcome === "ready") {
        // Connectable, not just "listening" in the log.
        await new Promise<void>((resolve, reject) => {
            const sock = net.connect(port, "127.0.0.1", () => {
                sock.destroy();
                resolve();
            });
            sock.on("error", reject);
        });
        live.delete(entry);
        return { child, log };
    }
    child.stdin!.end();
    child.kill("SIGKILL");
    await waitExit(child, 3000);
    live.delete(entry);
    return { error: `${outcome === "timeout" ? `no "${ready}" within ${STARTUP_TIMEOUT_MS} ms` : "namespace exited"}; output:\n${log.text}` };
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        child.once("exit", () => {
            clearTimeout(timer);
            resolve(true);
        });
    });
}

interface Parts {
    child: ChildProcess;
    /** The ssh master connection every session goes through. */
    master: ChildProcess;
    /** Pid of the docker-compose server in the sandbox's namespace. */
    composeServer: number;
    log: Log;
    dir: string;
    root: string;
    port: number;
    layout: Layout;
    user: string;
    users: Record<string, SandboxUser>;
    privateKey: string;
    clientKey: string;
    hostKey: string;
    startedMs: number;
}

type SshTarget = Pick<Parts, "clientKey" | "port" | "dir" | "user">;

const muxSocket = (dir: string) => path.join(dir, "mux");

/**
 * ssh's argv up to the remote command. Every session goes through one master connection per
 * sandbox (OpenSSH multiplexing): each is still its own session channel with a fresh login
 * shell, stdin and exit status, as remote.Command's are, but it skips a key exchange and sshd's
 * re-exec, which cost ~300 ms per command on a 2-core machine. Should the master be gone, ssh
 * connects directly.
 */
function sshClientArgs(p: SshTarget, role: "master" | "session"): string[] {
    return [
        "-T", "-F", "/dev/null", "-i", p.clientKey, "-p", String(p.port),
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(p.dir, "known_hosts")}`,
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlgorithms=ssh-ed25519",
        "-o", `ControlMaster=${role === "master" ? "yes" : "no"}`, "-o", `ControlPath=${muxSocket(p.dir)}`,
        "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
        ...(role === "master" ? ["-N"] : []),
        "--", `${p.user}@127.0.0.1`,
    ];
}

// ---- docker-compose, imported once per test process (composeServer.py) -------------------------

interface Zygote {
    proc: ChildProcess;
    waiting: ((line: string) => void)[];
}
let zygote: Zygote | undefined;

function composeZygote(): Zygote {
    if (zygote && zygote.proc.exitCode === null && zygote.proc.signalCode === null) return zygote;
    const proc = spawn("/usr/bin/python3", [path.join(__dirname, "composeServer.py")], { stdio: ["pipe", "pipe", "inherit"] });
    proc.unref();
    for (const st of [proc.stdin, proc.stdout]) (st as unknown as net.Socket).unref?.();
    const z: Zygote = { proc, waiting: [] };
    let buf = "";
    proc.stdout!.on("data", (b: Buffer) => {
        buf += b.toString();
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            z.waiting.shift()?.(line);
        }
    });
    proc.on("exit", (code, signal) => {
        for (const w of z.waiting.splice(0)) w(JSON.stringify({ error: `the compose server exited (${signal ?? code})` }));
    });
    zygote = z;
    return z;
}

/** A server of real docker-compose runs on the sandbox's /.sandbox/compose.sock (see composeServer.py); its pid. */
async function startComposeServer(nsPid: number, root: string): Promise<number> {
    const z = composeZygote();
    // Held only while an answer is awaited: an idle server never keeps the test process alive.
    const out = z.proc.stdout as unknown as net.Socket;
    out.ref();
    const line = await new Promise<string>((resolve) => {
        z.waiting.push((l) => {
            if (z.waiting.length === 0) out.unref();
            resolve(l);
        });
        z.proc.stdin!.write(`${JSON.stringify({ ns: `/proc/${nsPid}/ns/mnt`, root, sock: "/.sandbox/compose.sock" })}\n`);
    });
    const r = JSON.parse(line) as { pid?: number; error?: string };
    if (r.pid === undefined) throw new Error(`the sandbox's compose server did not start: ${r.error}`);
    return r.pid;
}

/** Kills a process that is not our child and waits (bounded) until it has left its namespaces. */
async function killAndWait(pid: number): Promise<void> {
    try {
        process.kill(pid, "SIGKILL");
    } catch {
        return;
    }
    for (let i = 0; i < 100; i++) {
        try {
            fs.readlinkSync(`/proc/${pid}/ns/mnt`);
        } catch {
            return; // gone, or a zombie that holds no namespace
        }
        await new Promise((r) => setTimeout(r, 10));
    }
}

/** The master connection, once its control socket exists. */
async function startMaster(p: SshTarget): Promise<ChildProcess> {
    const master = spawn("/usr/bin/ssh", sshClientArgs(p, "master"), { stdio: ["ignore", "ignore", "pipe"] });
    master.unref();
    (master.stderr as unknown as net.Socket | null)?.unref?.();
    let stderr = "";
    master.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    for (let i = 0; i < 100; i++) {
        if (master.exitCode !== null || master.signalCode !== null) break;
        if (fs.existsSync(muxSocket(p.dir))) return master;
        await new Promise((r) => setTimeout(r, 20));
    }
    master.kill("SIGKILL");
    throw new Error(`sandbox ssh master connection did not start: ${stderr.trim() || "no control socket within 2 s"}`);
}

function makeSandbox(p: Parts): Sandbox {
    const entry = { child: p.child, dir: p.dir };
    live.add(entry);
    const masterEntry = { child: p.master, dir: p.dir };
    live.add(masterEntry);
    const pid = p.child.pid!;
    const ctl = path.join(p.root, ".sandbox");
    let stopped = false;
    // unshare itself lives in the new mount namespace, so its /proc root shows our mounts.
    const inside = (sp: string) => {
        checkSandboxPath(sp);
        if (stopped) throw new Error("sandbox is stopped");
        return `/proc/${pid}/root${p.root}${sp}`;
    };
    // The namespace's processes are the host's processes in this PID namespace (unshare itself is not).
    const pidNamespace = fs.readlinkSync(`/proc/${pid}/ns/pid_for_children`);
    const nameOf = (uid: number) => Object.entries(p.users).find(([, u]) => u.uid === uid)?.[0] ?? String(uid);
    const sshArgs = () => sshClientArgs(p, "session");

    return {
        host: "127.0.0.1",
        port: p.port,
        user: p.user,
        privateKey: p.privateKey,
        hostKey: p.hostKey,
        dir: p.dir,
        layout: p.layout,
        users: p.users,
        startupMs: p.startedMs,
        mountNamespace: fs.readlinkSync(`/proc/${pid}/ns/mnt`),
        sshArgs,
        exec(script, opts = {}) {
            if (stopped) return Promise.reject(new Error("sandbox is stopped"));
            const timeoutMs = opts.timeoutMs ?? 30_000;
            return new Promise<ExecResult>((resolve, reject) => {
                const ssh = spawn("/usr/bin/ssh", [...sshArgs(), script], { stdio: ["pipe", "pipe", "pipe"] });
                const out: Buffer[] = [];
                const errb: Buffer[] = [];
                ssh.stdout.on("data", (b: Buffer) => out.push(b));
                ssh.stderr.on("data", (b: Buffer) => errb.push(b));
                ssh.stdin.on("error", () => undefined); // remote may exit before reading stdin
                ssh.stdin.end(opts.stdin ?? "");
                const timer = setTimeout(() => {
                    ssh.kill("SIGKILL");
                    reject(new Error(`ssh exec timed out after ${timeoutMs} ms; stderr so far:\n${Buffer.concat(errb)}`));
                }, timeoutMs);
                ssh.on("error", (e) => {
                    clearTimeout(timer);
                    reject(e);
                });
                ssh.on("close", (code, signal) => {
                    clearTimeout(timer);
                    resolve({
                        code: code ?? (signal ? 128 : -1),
                        stdout: Buffer.concat(out).toString(),
                        stderr: Buffer.concat(errb).toString(),
                    });
                });
            });
        },
        readFile: (sp) => fs.readFileSync(inside(sp)),
        exists: (sp) => fs.existsSync(inside(sp)),
        stat(sp) {
            const st = fs.statSync(inside(sp));
            return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, owner: nameOf(st.uid) };
        },
        writeFile(sp, data, wopts = {}) {
            const hp = inside(sp);
            fs.writeFileSync(hp, data);
            const owner = wopts.owner ?? "root";
            const u = p.users[owner];
            if (!u) throw new Error(`unknown sandbox user ${owner}`);
            fs.chownSync(hp, u.uid, u.gid);
            if (wopts.mode !== undefined) fs.chmodSync(hp, wopts.mode);
        },
        callRecords: () => parseCalls(fs.readFileSync(path.join(ctl, "calls.log"), "utf8")),
        calls() {
            return this.callRecords().map((r) => [r.cmd, ...r.argv].map(shQuote).join(" "));
        },
        clearCalls: () => fs.writeFileSync(path.join(ctl, "calls.log"), ""),
        setHealth: (lines) => fs.writeFileSync(path.join(ctl, "health"), lines.map((l) => l + "\n").join("")),
        events: () => fs.readFileSync(path.join(ctl, "events.log"), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as DockerdEvent),
        sleeps: () => fs.readFileSync(path.join(ctl, "sleeps.log"), "utf8").split("\n").filter((l) => l !== ""),
        clearEvents: () => fs.writeFileSync(path.join(ctl, "events.log"), ""),
        setDockerd(knobs) {
            fs.writeFileSync(path.join(ctl, "knobs.json"), JSON.stringify(knobs));
            fs.writeFileSync(path.join(ctl, "dockerd.json"), "");
        },
        setGitlabMigrations(script) {
            fs.writeFileSync(path.join(ctl, "state/gitlab-migrations.json"), JSON.stringify(script));
            fs.rmSync(path.join(ctl, "state/containers/.gitlab-migration-polls.json"), { force: true });
        },
        setGitlab: (knobs) => fs.writeFileSync(path.join(ctl, "state/gitlab.json"), JSON.stringify(knobs)),
        setClock(hhmm) {
            if (hhmm === undefined) fs.rmSync(path.join(ctl, "state/clock"), { force: true });
            else if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(hhmm)) throw new Error(`setClock wants HH:MM, got ${JSON.stringify(hhmm)}`);
            else fs.writeFileSync(path.join(ctl, "state/clock"), `${hhmm}\n`);
        },
        processes() {
            if (stopped) throw new Error("sandbox is stopped");
            return namespaceProcesses(pidNamespace);
        },
        processSnapshot() {
            return ["COMMAND", ...this.processes().map((p) => p.args)].join("\n") + "\n";
        },
        sshdLog: () => p.log.text,
        async stop() {
            if (stopped) return;
            stopped = true;
            p.master.kill("SIGTERM");
            live.delete(masterEntry);
            await killAndWait(p.composeServer);
            p.child.stdin!.end();
            if (!(await waitExit(p.child, 3000))) {
                p.child.kill("SIGKILL");
                await waitExit(p.child, 3000);
            }
            live.delete(entry);
            fs.rmSync(p.dir, { recursive: true, force: true });
        },
    };
}

/**
 * Mocha helper: a sandbox for the enclosing describe(), started in before() and stopped in
 * after() (also when a test failed). Call the returned function inside tests.
 */
export function useSandbox(layout: Layout, extra: Omit<SandboxOptions, "layout"> = {}): () => Sandbox {
    let sb: Sandbox | undefined;
    before(async function () {
        // First use on a fresh machine may apt-get install the host packages.
        this.timeout(600_000);
        sb = await startSandbox({ layout, ...extra });
    });
    after(async () => {
        await sb?.stop();
        sb = undefined;
    });
    return () => {
        if (!sb) throw new Error(`sandbox ${layout} is not running (used outside its describe?)`);
        return sb;
    };
}
