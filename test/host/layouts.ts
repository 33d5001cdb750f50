// What each sandbox layout puts on the "server": users, files at their real paths, which
// stand-in commands exist and which versions they report. Kept apart from the namespace
// mechanics in sandbox.ts so a new layout is a data change.

import * as path from "node:path";

export type Layout = "ci-2.1.0" | "ci-1.1.0" | "builder";

export const COLLABORAGE_FIXTURES = path.resolve(__dirname, "../fixtures/collaborage");

export interface LayoutUser {
    readonly name: string;
    /** Supplementary groups; created in the sandbox's /etc/group when missing. */
    readonly groups: readonly string[];
}

/** A file to create inside the sandbox. `owner` is a layout user name or "root". */
export interface LayoutFile {
    readonly path: string;
    readonly content: string | { readonly fixture: string };
    readonly owner: string;
    readonly mode: number;
}

export interface LayoutDir {
    readonly path: string;
    readonly owner: string;
    readonly mode: number;
}

export interface LayoutSpec {
    readonly users: readonly LayoutUser[];
    readonly dirs: readonly LayoutDir[];
    readonly files: readonly LayoutFile[];
    /** Stand-in commands installed in /usr/local/bin; the real ones of the same name are hidden. */
    readonly standins: readonly string[];
    /** Whether `docker compose` (the v2 CLI plugin) exists. */
    readonly composePlugin: boolean;
    readonly composeVersion: string;
    readonly dockerVersion: string;
    readonly containers: readonly string[];
    /** Containers' stop signals (the image's STOPSIGNAL); others get SIGTERM. */
    readonly stopSignals: Readonly<Record<string, string>>;
    /** Private /etc/apt (apt hosts); absent for the Amazon Linux CI server. */
    readonly etcApt: boolean;
    readonly osRelease: string;
    readonly lsb?: { id: string; description: string; release: string; codename: string };
    /** Unit files that a stand-in `apt-get install PKG` drops, as the real package would. */
    readonly packageUnits: Readonly<Record<string, readonly [string, string]>>;
    /** Stand-ins that answer "command not found" (127) until `apt-get install PKG` ran. */
    readonly requiresPackage: Readonly<Record<string, string>>;
}

// Written for these tests (not copied from a distribution); only the shape matters:
// [Service] with ExecStart, so a copy in /etc/systemd/system plus Environment= lines works.
const DOCKER_UNIT_AL2023 = `[Unit]
Description=Docker Application Container Engine
Documentation=https://docs.docker.com
After=network-online.target docker.socket containerd.service
Wants=network-online.target containerd.service
Requires=docker.socket

[Service]
Type=notify
EnvironmentFile=-/etc/sysconfig/docker
ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $OPTIONS
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutStartSec=0
Restart=on-failure
RestartSec=2
LimitNOFILE=infinity
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
`;

const DOCKER_UNIT_DOCKER_CE = `[Unit]
Description=Docker Application Container Engine
Documentation=https://docs.docker.com
After=network-online.target docker.socket firewalld.service containerd.service time-set.target
Wants=network-online.target containerd.service
Requires=docker.socket

[Service]
Type=notify
ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutStartSec=0
RestartSec=2
Restart=always
LimitNOFILE=infinity
Delegate=yes
KillMode=process
OOMScoreAdjust=-500

[Install]
WantedBy=multi-user.target
`;

const OS_RELEASE_AL2023 = `NAME="Amazon Linux"
VERSION="2023"
ID="amzn"
ID_LIKE="fedora"
VERSION_ID="2023"
PLATFORM_ID="platform:al2023"
PRETTY_NAME="Amazon Linux 2023"
`;

const OS_RELEASE_FOCAL = `NAME="Ubuntu"
VERSION="20.04.6 LTS (Focal Fossa)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 20.04.6 LTS"
VERSION_ID="20.04"
VERSION_CODENAME=focal
UBUNTU_CODENAME=focal
`;

export const CI_APP_DIR = "/home/ec2-user/nop/docker/ci";
export const RUNNER_CONFIG = "/data/gitlab-runner/config/config.toml";

function ciLayout(composeFixture: string, v2: boolean): LayoutSpec {
    const u = "ec2-user";
    return {
        users: [{ name: u, groups: ["docker"] }],
        dirs: [
            { path: "/home/ec2-user/nop", owner: u, mode: 0o755 },
            { path: "/home/ec2-user/nop/docker", owner: u, mode: 0o755 },
            { path: CI_APP_DIR, owner: u, mode: 0o755 },
            { path: `${CI_APP_DIR}/dockerfiles`, owner: u, mode: 0o755 },
            { path: `${CI_APP_DIR}/dockerfiles/nexus`, owner: u, mode: 0o755 },
            { path: "/data", owner: "root", mode: 0o755 },
            { path: "/data/gitlab-runner", owner: "root", mode: 0o755 },
            // Docker creates missing bind-mount sources as root 0755.
            { path: "/data/gitlab-runner/config", owner: "root", mode: 0o755 },
            { path: "/etc/systemd/system/docker.service.d", owner: "root", mode: 0o755 },
        ],
        files: [
            { path: `${CI_APP_DIR}/docker-compose.yml`, content: { fixture: composeFixture }, owner: u, mode: 0o664 },
            { path: `${CI_APP_DIR}/common.env`, content: { fixture: "common.env" }, owner: u, mode: 0o664 },
            {
                path: `${CI_APP_DIR}/dockerfiles/nexus/Dockerfile`,
                content: "FROM sonatype/nexus3:3.55.0\n# sandbox stand-in: never built here\n",
                owner: u,
                mode: 0o664,
            },
            { path: `${CI_APP_DIR}/httpd.conf`, content: "# sandbox stand-in for the proxy's httpd.conf\n", owner: u, mode: 0o664 },
            { path: RUNNER_CONFIG, content: { fixture: "config.toml" }, owner: "root", mode: 0o600 },
            { path: "/usr/lib/systemd/system/docker.service", content: DOCKER_UNIT_AL2023, owner: "root", mode: 0o644 },
            { path: "/etc/docker/daemon.json", content: { fixture: "ci-daemon.json" }, owner: "root", mode: 0o644 },
        ],
        standins: v2 ? ["docker", "systemctl", "curl", "gpg"] : ["docker", "docker-compose", "systemctl", "curl", "gpg"],
        composePlugin: v2,
        composeVersion: v2 ? "2.18.1" : "1.14.0",
        dockerVersion: v2 ? "24.0.5" : "19.03.5",
        containers: ["proxy", "gitlab", "gitlab-db", "gitlab-runner", "nexus.repository"],
        // gitlab-runner images 12.x-17.10 declare STOPSIGNAL SIGQUIT (dockerfiles/runner/*/Dockerfile).
        stopSignals: { "gitlab-runner": "SIGQUIT" },
        etcApt: false,
        osRelease: OS_RELEASE_AL2023,
        packageUnits: {},
        requiresPackage: {},
    };
}

export const LAYOUTS: Record<Layout, LayoutSpec> = {
    "ci-2.1.0": ciLayout("ci-docker-compose.yml", true),
    "ci-1.1.0": ciLayout("ci-docker-compose.v1.1.0.yml", false),
    builder: {
        users: [{ name: "ubuntu", groups: ["adm", "sudo"] }],
        dirs: [
            { path: "/etc/apt/apt.conf.d", owner: "root", mode: 0o755 },
            { path: "/etc/apt/preferences.d", owner: "root", mode: 0o755 },
            { path: "/etc/apt/sources.list.d", owner: "root", mode: 0o755 },
            { path: "/etc/apt/trusted.gpg.d", owner: "root", mode: 0o755 },
        ],
        files: [
            { path: "/etc/apt/sources.list", content: "# sandbox: apt-get is a stand-in; no sources\n", owner: "root", mode: 0o644 },
        ],
        standins: ["docker", "systemctl", "apt-get", "curl", "gpg", "dpkg", "lsb_release"],
        composePlugin: true,
        composeVersion: "2.21.0",
        dockerVersion: "24.0.7",
        containers: [],
        stopSignals: {},
        etcApt: true,
        osRelease: OS_RELEASE_FOCAL,
        lsb: { id: "Ubuntu", description: "Ubuntu 20.04.6 LTS", release: "20.04", codename: "focal" },
        packageUnits: { "docker-ce": ["/usr/lib/systemd/system/docker.service", DOCKER_UNIT_DOCKER_CE] },
        requiresPackage: { docker: "docker-ce" },
    },
};

/** Every stand-in name any layout uses: the real commands of these names are hidden in all layouts. */
export const ALL_STANDINS = Array.from(new Set(Object.values(LAYOUTS).flatMap((l) => l.standins))).sort();
