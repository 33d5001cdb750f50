// Smoke test of the host-test harness itself: each layout boots, SSH behaves like the
// remote.Command transport, files sit at their real paths with the right owners, stand-ins
// record and validate for real, and nothing leaks onto the test machine.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { Layout } from "./layouts";
import { CI_APP_DIR, RUNNER_CONFIG } from "./layouts";
import { Sandbox, startSandbox, useSandbox } from "./sandbox";

function hostState() {
    const snap = (p: string) => {
        try {
            return JSON.stringify(fs.statSync(p)) + fs.readdirSync(p).join(",");
        } catch (e) {
            return (e as NodeJS.ErrnoException).code ?? "error";
        }
    };
    return {
        mountinfo: fs.readFileSync("/proc/self/mountinfo", "utf8"),
        home: snap("/home/ec2-user"),
        homeUbuntu: snap("/home/ubuntu"),
        data: snap("/data"),
        stateDir: snap("/var/lib/gitlab-runner-autoscaling"),
        passwd: fs.readFileSync("/etc/passwd", "utf8"),
        sudoersD: fs.readdirSync("/etc/sudoers.d").join(","),
        systemd: fs.readdirSync("/etc/systemd/system").join(","),
    };
}

/** Host processes in a mount namespace (as "pid args" lines). */
function processesIn(mountNs: string): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
            if (fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== mountNs) continue;
            found.push(`${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ")}`);
        } catch {
            /* exited meanwhile */
        }
    }
    return found;
}

function pgrep(pattern: string): string {
    try {
        return execFileSync("pgrep", ["-af", pattern], { encoding: "utf8" });
    } catch {
        return ""; // exit 1: no match
    }
}

const BROKEN_COMPOSE = "version: '3'\nservices:\n  gitlab-runner:\n    image: [unclosed\n";

describe("host sandbox harness", function () {
    this.timeout(60_000);

    describe("lifecycle and isolation", () => {
        it("leaves no mount, process or file on the host after stop()", async function () {
            this.timeout(600_000); // first run on a fresh machine may install packages
            const before = hostState();
            const sb = await startSandbox({ layout: "ci-2.1.0" });
            let stopped = false;
            try {
                assert.match(sb.hostKey, /^ssh-ed25519 AAAA[0-9A-Za-z+/=]+$/);
                assert.match(sb.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
                const ns = sb.mountNamespace;
                assert.notEqual(ns, fs.readlinkSync("/proc/self/ns/mnt"));
                assert.ok(processesIn(ns).some((p) => p.includes("sshd")), "sshd runs while the sandbox is up");

                // Writes as root inside stay inside.
                const r = await sb.exec(
                    "sudo -n sh -c 'echo probe > /etc/sandbox-probe && mkdir -p /var/lib/gitlab-runner-autoscaling " +
                        "&& echo s > /var/lib/gitlab-runner-autoscaling/x && echo t > /tmp/sandbox-probe'; " +
                        "sudo -n touch /usr/sandbox-probe; echo usr=$?",
                );
                assert.match(r.stdout, /usr=1/, "the host's /usr is read-only inside");
                assert.equal(sb.readFile("/etc/sandbox-probe").toString(), "probe\n");
                assert.equal(sb.readFile("/var/lib/gitlab-runner-autoscaling/x").toString(), "s\n");
                assert.equal(fs.existsSync("/etc/sandbox-probe"), false);
                assert.equal(fs.existsSync("/usr/sandbox-probe"), false);
                assert.equal(fs.existsSync("/tmp/sandbox-probe"), false);
                assert.deepEqual(hostState(), before, "host unchanged while running");

                await sb.stop();
                stopped = true;
            } finally {
                if (!stopped) await sb.stop();
            }
            assert.deepEqual(processesIn(sb.mountNamespace), [], "no process of the sandbox survives stop()");
            assert.equal(pgrep(sb.dir), "", "neither unshare nor the holder survives stop()");
            assert.equal(fs.existsSync(sb.dir), false, "temp dir removed");
            assert.deepEqual(hostState(), before, "host unchanged after stop");
            await sb.stop(); // idempotent
        });
    });

    const layouts: { layout: Layout; user: string; composeV2: boolean; composeV1: boolean }[] = [
        { layout: "ci-2.1.0", user: "ec2-user", composeV2: true, composeV1: false },
        { layout: "ci-1.1.0", user: "ec2-user", composeV2: false, composeV1: true },
        { layout: "builder", user: "ubuntu", composeV2: false, composeV1: false },
    ];

    for (const l of layouts) {
        describe(`layout ${l.layout}`, () => {
            const sandbox = useSandbox(l.layout);
            let sb: Sandbox;
            before(() => {
                sb = sandbox();
            });

            it("logs in over SSH as the layout user, with passwordless sudo and the expected compose", async () => {
                const r = await sb.exec("id -un; sudo -n id -u; docker compose version || true; command -v docker-compose");
                const lines = r.stdout.split("\n");
                assert.equal(lines[0], l.user);
                assert.equal(lines[1], "0");
                if (l.composeV2) assert.match(r.stdout, /^Docker Compose version v2\./m);
                else assert.doesNotMatch(r.stdout, /Docker Compose version/);
                if (l.composeV1) {
                    assert.equal(r.code, 0);
                    assert.match(r.stdout, /^\/usr\/local\/bin\/docker-compose$/m);
                } else {
                    assert.equal(r.code, 1, "command -v docker-compose finds nothing");
                }
                assert.equal(sb.user, l.user);
            });

            it("passes stdin through and keeps the script as one remote command string", async () => {
                const r = await sb.exec("tr a-z A-Z; echo \"$0:$HOME\"", { stdin: "secret-stdin\n" });
                assert.equal(r.code, 0);
                assert.equal(r.stdout, `SECRET-STDIN\nbash:/home/${l.user}\n`);
            });

            it("puts stand-ins first in PATH, also under sudo", async () => {
                const r = await sb.exec("command -v systemctl; sudo -n sh -c 'command -v systemctl; echo $PATH'");
                assert.equal(r.stdout.split("\n")[0], "/usr/local/bin/systemctl");
                assert.equal(r.stdout.split("\n")[1], "/usr/local/bin/systemctl");
                assert.match(r.stdout.split("\n")[2], /^\/usr\/local\/bin:/);
            });

            it("records stand-in calls with argv and effective user; enforces root for systemctl changes", async () => {
                sb.clearCalls();
                const r = await sb.exec("systemctl restart docker; echo rc=$?; sudo -n systemctl daemon-reload");
                assert.match(r.stdout, /rc=1/);
                assert.match(r.stderr, /Interactive authentication required/);
                assert.deepEqual(sb.calls(), ["systemctl restart docker", "systemctl daemon-reload"]);
                assert.deepEqual(
                    sb.callRecords().map((c) => c.user),
                    [l.user, "root"],
                );
            });

            it("date +%H:%M answers the clock a test set (also under sudo); every other date call, and an unset clock, is the real date", async () => {
                sb.setClock("22:10");
                try {
                    const r = await sb.exec("date +%H:%M; sudo -n date +%H:%M; date -u +%Y; date +%s");
                    const [a, b, year, secs] = r.stdout.split("\n");
                    assert.deepEqual([a, b], ["22:10", "22:10"]);
                    assert.equal(year, String(new Date().getUTCFullYear()));
                    assert.ok(Math.abs(Number(secs) - Date.now() / 1000) < 60, secs);
                } finally {
                    sb.setClock(undefined);
                }
                const real = (await sb.exec("date +%H:%M")).stdout.trim();
                assert.match(real, /^\d\d:\d\d$/);
                assert.throws(() => sb.setClock("7:00"), /setClock wants HH:MM/);
            });

            it("runs the sandbox's sleep first in PATH, also under sudo: whole seconds scaled, anything else by coreutils' sleep, each call logged", async () => {
                const before = sb.sleeps().length;
                const r = await sb.exec("command -v sleep; sleep 3; echo a=$?; sudo -n sleep 1; echo b=$?; sleep 0.01; echo c=$?; sleep x 2>&1; echo d=$?");
                assert.equal(r.stdout.split("\n")[0], "/usr/local/bin/sleep");
                assert.match(r.stdout, /^a=0\nb=0\nc=0\n\/usr\/bin\/sleep: invalid time interval 'x'\n(?:.*\n)?d=1\n$/m);
                assert.deepEqual(sb.sleeps().slice(before), ["3", "1", "0.01", "x"]);
            });

            it("shows a command's argv to processSnapshot() while it runs", async () => {
                // As the scripts run: `sh -c '<body>'`, whose argv holds the whole body.
                // It runs until released (bounded), and the snapshot is polled (bounded): no fixed
                // sleep that a loaded machine could outlast.
                const running = sb.exec("sh -c 'i=0; while [ ! -e /tmp/release-4242 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; : canary-4242'");
                let ps = "";
                for (let i = 0; i < 300 && !/canary-4242/.test(ps); i++) {
                    await new Promise((r) => setTimeout(r, 100));
                    ps = sb.processSnapshot();
                }
                await sb.exec("touch /tmp/release-4242");
                await running;
                await sb.exec("rm -f /tmp/release-4242");
                assert.match(ps, /canary-4242/);
                assert.match(ps, /sshd/);
            });

            if (l.layout !== "builder") {
                it("has the Collaborage files at their real paths with real owners", async () => {
                    const compose = sb.stat(`${CI_APP_DIR}/docker-compose.yml`);
                    assert.equal(compose.owner, "ec2-user");
                    const cfg = sb.stat(RUNNER_CONFIG);
                    assert.equal(cfg.owner, "root");
                    assert.equal(cfg.mode, 0o600);
                    assert.match(sb.readFile(RUNNER_CONFIG).toString(), /\[\[runners\]\]/);
                    assert.ok(sb.exists("/etc/systemd/system/docker.service.d"));
                    const r = await sb.exec(
                        `cat ${RUNNER_CONFIG} >/dev/null 2>&1; echo user=$?; sudo -n cat ${RUNNER_CONFIG} | grep -c '\\[\\[runners\\]\\]'; ` +
                            "stat -c '%U %a' ~/nop/docker/ci/common.env; test -e /etc/apt; echo apt=$?",
                    );
                    assert.match(r.stdout, /^user=1$/m, "ec2-user cannot read config.toml");
                    assert.match(r.stdout, /^1$/m);
                    assert.match(r.stdout, /^ec2-user \d+$/m);
                    assert.match(r.stdout, /^apt=1$/m, "no /etc/apt on the Amazon Linux server");
                });

                const compose = l.composeV2 ? "docker compose" : "docker-compose";
                it(`validates compose files for real through the ${compose} stand-in`, async () => {
                    sb.writeFile(`${CI_APP_DIR}/broken.yml`, BROKEN_COMPOSE, { owner: "ec2-user" });
                    sb.clearCalls();
                    const ok = await sb.exec(`cd ${CI_APP_DIR} && ${compose} config -q`);
                    assert.equal(ok.code, 0, ok.stderr);
                    const okF = await sb.exec(`${compose} -f ${CI_APP_DIR}/docker-compose.yml config -q`);
                    assert.equal(okF.code, 0, okF.stderr);
                    const bad = await sb.exec(`cd ${CI_APP_DIR} && ${compose} -f broken.yml config -q`);
                    assert.notEqual(bad.code, 0);
                    const upBad = await sb.exec(`cd ${CI_APP_DIR} && ${compose} -f broken.yml up -d`);
                    assert.notEqual(upBad.code, 0, "up refuses a project that does not load");
                    const up = await sb.exec(`cd ${CI_APP_DIR} && ${compose} up -d --no-deps gitlab-runner`);
                    assert.equal(up.code, 0, up.stderr);
                    const last = sb.callRecords().at(-1)!;
                    assert.equal(sb.calls().at(-1), `${compose} up -d --no-deps gitlab-runner`);
                    assert.equal(last.cwd, CI_APP_DIR);
                    assert.equal(last.user, "ec2-user");
                });

                it(`runs the real docker-compose through the test process's compose server as the caller: what the binary itself says`, async () => {
                    // A project whose env_file only root may read, and a broken one: each call's
                    // stdout, stderr and status, first through the server, then with the binary.
                    sb.writeFile(`${CI_APP_DIR}/secret.env`, "A=1\n", { owner: "root", mode: 0o600 });
                    sb.writeFile(`${CI_APP_DIR}/private.yml`, "version: '3'\nservices:\n  a:\n    image: busybox\n    env_file: ./secret.env\n", { owner: "ec2-user" });
                    sb.writeFile(`${CI_APP_DIR}/broken.yml`, BROKEN_COMPOSE, { owner: "ec2-user" });
                    const calls = [
                        `cd ${CI_APP_DIR} && ${compose} config`, `cd ${CI_APP_DIR} && ${compose} -f private.yml config`,
                        `cd ${CI_APP_DIR} && sudo -n ${compose} -f private.yml config`, `cd ${CI_APP_DIR} && ${compose} -f broken.yml config -q`,
                        `cd ${CI_APP_DIR} && ${compose} -f broken.yml up -d`,
                    ];
                    const run = async () => { const out = []; for (const c of calls) out.push(await sb.exec(c)); return out; };
                    const viaServer = await run();
                    const moved = await sb.exec("sudo -n mv /.sandbox/compose.sock /.sandbox/compose.sock.off");
                    assert.equal(moved.code, 0, moved.stderr);
                    const viaBinary = await run();
                    assert.equal((await sb.exec("sudo -n mv /.sandbox/compose.sock.off /.sandbox/compose.sock")).code, 0);
                    // An uncaught error's traceback: the binary's has its entry-point frame on top.
                    const entryFrame = /^  File "\/\.sandbox\/real\/docker-compose", line \d+, in <module>\n.*\n(?: *\^+\n)?/m;
                    assert.deepEqual(viaServer, viaBinary.map((r) => ({ ...r, stderr: r.stderr.replace(entryFrame, "") })));
                    assert.deepEqual(viaServer.map((r) => r.code === 0), [true, false, true, false, false]);
                    assert.match(viaServer[1].stderr, /secret\.env/, "ec2-user cannot read root's env_file");
                    assert.match(viaServer[2].stdout, /A: '1'|A: "1"|A: 1/);
                });

                it("replays the configured health sequence and reports the docker unit's proxy", async () => {
                    sb.setHealth(["starting", "unhealthy", "healthy"]);
                    const fmt = "'{{.State.Health.Status}}'";
                    const r = await sb.exec(Array(4).fill(`docker inspect -f ${fmt} gitlab`).join("; "));
                    assert.equal(r.stdout, "starting\nunhealthy\nhealthy\nhealthy\n");

                    const none = await sb.exec("docker info");
                    assert.doesNotMatch(none.stdout, /HTTP Proxy:/);
                    sb.writeFile(
                        "/etc/systemd/system/docker.service.d/http-proxy.conf",
                        '[Service]\nEnvironment="HTTP_PROXY=http://proxy.example:3128/" "NO_PROXY=10.0.0.5"\n',
                    );
                    const withProxy = await sb.exec("docker info");
                    assert.match(withProxy.stdout, /^ HTTP Proxy: http:\/\/proxy\.example:3128\/$/m);
                    assert.match(withProxy.stdout, /^ No Proxy: 10\.0\.0\.5$/m);
                    // A later drop-in with an empty Environment= resets the list, as in systemd.
                    sb.writeFile("/etc/systemd/system/docker.service.d/zz-reset.conf", "[Service]\nEnvironment=\n");
                    const reset = await sb.exec("docker info");
                    assert.doesNotMatch(reset.stdout, /HTTP Proxy:/);
                });
            } else {
                it("is an Ubuntu focal host whose docker appears only after apt-get install", async () => {
                    assert.ok(sb.exists("/etc/apt/apt.conf.d"));
                    assert.match(sb.readFile("/home/ubuntu/.profile").toString(), /\.bashrc/);
                    const r = await sb.exec(
                        "grep ^VERSION_CODENAME= /etc/os-release; lsb_release -cs; dpkg --print-architecture; " +
                            "docker --version >/dev/null 2>&1; echo before=$?; apt-get install -y docker-ce; echo user=$?; " +
                            "sudo -n apt-get install -y docker-ce docker-ce-cli; sudo -n docker --version; " +
                            "test -f /usr/lib/systemd/system/docker.service; echo unit=$?",
                    );
                    assert.equal(
                        r.stdout.replace(/Docker version [^\n]*/, "Docker version X"),
                        "VERSION_CODENAME=focal\nfocal\namd64\nbefore=127\nuser=100\nDocker version X\nunit=0\n",
                    );
                    assert.ok(sb.calls().includes("apt-get install -y docker-ce docker-ce-cli"));
                });
            }
        });
    }
});
