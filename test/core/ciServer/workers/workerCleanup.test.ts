// The worker cleanup and notice scripts: shellchecked, and run for real under sh against a fake
// `docker` (docker exec … docker-machine) to check which workers count as this runner's. The
// whole flow over SSH with the docker-machine stand-in is host scenario test/host/scenarios/workers.test.ts.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  WORKER_EXIT, WORKER_STACK_TAG, machineNamePattern, retirementNote, workerChangeEffect, workerChanges, workerCleanupBody,
  workerCleanupScript, workerNoticeBody, workerNoticeScript, workerSettingsLines, type WorkerScope,
} from "../../../../core/ciServer/workers/workerCleanup";
import { scriptBody, scriptHeader } from "../../../../core/remote/shell";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../../../helpers/shellcheck";

// A fake docker: `inspect` says whether the container runs; `exec <c> docker-machine` answers from
// files in $FAKE: names (ls -q), key-<m> (inspect AccessKey), busy-<m> (docker ps polls left that
// see a job), rmfail-<m>; every rm is appended to $FAKE/removed, every ssh to $FAKE/ssh.
const FAKE_DOCKER = `#!/bin/sh
case $1 in
  inspect) if [ -e "$FAKE/stopped" ]; then echo false; else echo true; fi ;;
  exec)
    [ "$2" = gitlab-runner ] && [ "$3" = docker-machine ] || { echo "fake: unexpected exec $*" >&2; exit 99; }
    shift 3
    case $1 in
      ls) cat "$FAKE/names" ;;
      inspect) m=$4; cat "$FAKE/key-$m" 2>/dev/null || echo ;;
      ssh)
        echo "$2" >> "$FAKE/ssh"
        f="$FAKE/busy-$2"
        if [ -s "$f" ]; then c=$(cat "$f"); if [ "$c" -gt 0 ]; then echo $((c - 1)) > "$f"; echo 0123abcd; fi; fi ;;
      rm)
        if [ -e "$FAKE/rmfail-$3" ]; then echo "Error removing host $3" >&2; exit 1; fi
        echo "$3" >> "$FAKE/removed"; echo "Successfully removed $3" ;;
      *) echo "fake: unexpected docker-machine $*" >&2; exit 99 ;;
    esac ;;
  *) echo "fake: unexpected docker $*" >&2; exit 99 ;;
esac
`;

const TOKEN = "glrt-Ab_cD3fGhXyz1234567890";
function configToml(entries: { name: string; token: string; executor?: string; machineName?: string; key?: string }[]): string {
  return "concurrent = 3\ncheck_interval = 0\n\n" + entries.map((e) => [
    "[[runners]]",
    `  name = "${e.name}"`,
    '  url = "http://192.0.2.3/gitlab"',
    `  token = "${e.token}"`,
    `  executor = "${e.executor ?? "docker"}"`,
    "  [runners.docker]",
    '    image = "alpine"',
    ...(e.machineName ? [
      "  [runners.machine]",
      "    IdleCount = 0",
      `    MachineName = "${e.machineName}"`,
      `    MachineOptions = [${e.key ? `"amazonec2-access-key=${e.key}", "amazonec2-secret-key=CANARY", ` : ""}"amazonec2-zone=a"]`,
      "    [[runners.machine.autoscaling]]",
      '      Periods = ["* * 9-17 * * mon-fri *"]',
    ] : []),
  ].join("\n")).join("\n\n") + "\n";
}

interface Run { code: number | null; stdout: string; stderr: string; removed: string[]; ssh: string[] }

function runScript(body: string, setup: { toml: string; names: string[]; keys?: Record<string, string>; busy?: Record<string, number>; rmfail?: string[]; stopped?: boolean }, configPath: string): Run {
  const dir = path.dirname(configPath);
  const fake = path.join(dir, "fake");
  fs.rmSync(fake, { recursive: true, force: true });
  fs.mkdirSync(fake);
  fs.writeFileSync(configPath, setup.toml);
  fs.writeFileSync(path.join(fake, "names"), setup.names.map((n) => n + "\n").join(""));
  for (const [m, k] of Object.entries(setup.keys ?? {})) fs.writeFileSync(path.join(fake, `key-${m}`), k + "\n");
  for (const [m, n] of Object.entries(setup.busy ?? {})) fs.writeFileSync(path.join(fake, `busy-${m}`), `${n}\n`);
  for (const m of setup.rmfail ?? []) fs.writeFileSync(path.join(fake, `rmfail-${m}`), "");
  if (setup.stopped) fs.writeFileSync(path.join(fake, "stopped"), "");
  const r = spawnSync("sh", ["-c", body], { encoding: "utf8", env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, FAKE: fake } });
  const list = (f: string) => (fs.existsSync(path.join(fake, f)) ? fs.readFileSync(path.join(fake, f), "utf8").split("\n").filter(Boolean) : []);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, removed: list("removed"), ssh: list("ssh") };
}

describe("worker cleanup (core/ciServer/workers/workerCleanup.ts)", () => {
  let dir: string;
  let configPath: string;
  const scope = (): WorkerScope => ({ container: "gitlab-runner", configPath, machineName: "gitlab-docker-machine-%s" });
  const cleanup = (over: Partial<WorkerScope> = {}, drain = 5) => workerCleanupBody({ ...scope(), ...over, drainTimeoutSeconds: drain, pollSeconds: 1 });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-workers-"));
    configPath = path.join(dir, "config.toml");
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "docker"), FAKE_DOCKER, { mode: 0o755 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("machineNamePattern: %s is <unix time>-<8 hex>; anything but [a-z0-9-] with one %s is refused", () => {
    assert.equal(machineNamePattern("gitlab-docker-machine-%s"), "gitlab-docker-machine-[0-9]+-[0-9a-f]{8}");
    assert.equal(machineNamePattern("w-%s-x"), "w-[0-9]+-[0-9a-f]{8}-x");
    assert.throws(() => machineNamePattern("gitlab-docker-machine"), /%s exactly once/);
    assert.throws(() => machineNamePattern("a.b-%s"), /\[a-z0-9-\]/);
    assert.throws(() => machineNamePattern("%s-%s"), /%s exactly once/);
  });

  it("the scripts are clean under shellcheck, wrapped and as bodies; their headers say what they do", () => {
    const s: WorkerScope = { container: "gitlab-runner", configPath: "/data/gitlab-runner/config/config.toml", runnerName: "it's a runner", machineName: "gitlab-docker-machine-%s" };
    const c = workerCleanupScript({ ...s, drainTimeoutSeconds: 600, pollSeconds: 10 });
    const n = workerNoticeScript({ ...s, maxBuilds: 100, idleTime: 1800 }, ["MachineName = gitlab-docker-machine-%s"]);
    assert.equal(scriptBody(c), workerCleanupBody({ ...s, drainTimeoutSeconds: 600, pollSeconds: 10 }));
    assert.equal(scriptBody(n), workerNoticeBody({ ...s, maxBuilds: 100, idleTime: 1800 }));
    assert.deepEqual(scriptHeader(c), [
      "gitlab-runner-autoscaling: remove the docker-machine workers of runner.machineName gitlab-docker-machine-%s that config.toml no longer manages",
      "wait for their jobs at most 600 s",
    ]);
    assert.deepEqual(scriptHeader(n), ["gitlab-runner-autoscaling: docker-machine workers of this runner (the settings new workers get)", "MachineName = gitlab-docker-machine-%s"]);
    for (const [label, script, body] of [["cleanup", c, scriptBody(c)!], ["notice", n, scriptBody(n)!]]) {
      assertShellcheckClean(script, `${label} (wrapped)`, WRAPPED_EXCLUDES);
      assertShellcheckClean(body, `${label} (body)`);
    }
  });

  it("refuses values that could become code", () => {
    assert.throws(() => workerCleanupBody({ ...scope(), container: "gitlab runner; rm -rf /", drainTimeoutSeconds: 5, pollSeconds: 1 }), /container must match/);
    assert.throws(() => workerCleanupBody({ ...scope(), configPath: "config.toml", drainTimeoutSeconds: 5, pollSeconds: 1 }), /must be absolute/);
    assert.throws(() => workerCleanupBody({ ...scope(), runnerName: 'a"b', drainTimeoutSeconds: 5, pollSeconds: 1 }), /plain name/);
    assert.throws(() => workerCleanupBody({ ...scope(), drainTimeoutSeconds: 0, pollSeconds: 1 }), /drainTimeoutSeconds/);
  });

  // glrt-: ShortenToken keeps the 9 characters after the prefix; the runner lower-cases them and
  // (13+) drops what RFC 1123 does not allow ("_").
  const mine = ["runner-ab_cd3fgh-gitlab-docker-machine-1718000000-1a2b3c4d", "runner-abcd3fgh-gitlab-docker-machine-1718000001-00ff00ff"];
  const others = [
    "runner-zzzzzzzzz-gitlab-docker-machine-1718000000-1a2b3c4d", // another runner
    "runner-abcd3fgh-other-name-1718000000-1a2b3c4d", // another MachineName
    "runner-abcd3fgh-gitlab-docker-machine-1718000000-1a2b3c4dx", // not a name the runner makes
    "runner-glrt-ab_-gitlab-docker-machine-1718000000-1a2b3c4d", // the first 8 characters: never used for glrt- tokens
    "xrunner-abcd3fgh-gitlab-docker-machine-1718000000-1a2b3c4d",
  ];

  it("destroy (config.toml restored): removes exactly this runner's workers of its MachineName, no other", () => {
    const r = runScript(cleanup(), { toml: configToml([{ name: "r1", token: TOKEN }]), names: [...others, ...mine] }, configPath);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.removed, mine);
    assert.match(r.stdout, /^workers of the only \[\[runners\]\] entry \(runner-<ab_cd3fgh, abcd3fgh>-gitlab-docker-machine-%s\): 2 found, 0 still managed with the current settings$/m);
    assert.match(r.stdout, new RegExp(`^removed: ${mine.join(" ")}$`, "m"));
    assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN) && !r.stdout.includes("Xyz1234"), "the token is never printed");
  });

  it("derives the short token as each token kind's runner does (legacy, GR…, glrtr-)", () => {
    const cases: [string, string[]][] = [
      ["AbCdEfGh1234", ["runner-abcdefgh-gitlab-docker-machine-1-00000000"]],
      ["GR1348941aBcDeFgHiJkLmNoP", ["runner-gr1348941abcdefgh-gitlab-docker-machine-1-00000000", "runner-gr134894-gitlab-docker-machine-1-00000001"]],
      ["glrtr-QwErTyUiOp123456", ["runner-qwertyuio-gitlab-docker-machine-1-00000000", "runner-glrtr-qw-gitlab-docker-machine-1-00000001"]],
    ];
    for (const [token, names] of cases) {
      const r = runScript(cleanup(), { toml: configToml([{ name: "r1", token }]), names: [...names, ...others] }, configPath);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.removed, names, token.slice(0, 6));
    }
  });

  it("picks the [[runners]] entry by name; with several entries and no name it refuses (exit 22)", () => {
    const toml = configToml([{ name: "other", token: "glrt-zzzzzzzzzzzzzzzzzzzz" }, { name: "r1", token: TOKEN }]);
    const named = runScript(cleanup({ runnerName: "r1" }), { toml, names: [...others, ...mine] }, configPath);
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(named.removed, mine);
    const unnamed = runScript(cleanup(), { toml, names: [...others, ...mine] }, configPath);
    assert.equal(unnamed.code, WORKER_EXIT.noRunner);
    assert.match(unnamed.stderr, /has 2 \[\[runners\]\] entries and 2 match the only \[\[runners\]\] entry/);
    assert.deepEqual(unnamed.removed, []);
  });

  it("keeps the workers config.toml still manages with its current key; removes those of an older key (rotation)", () => {
    const toml = configToml([{ name: "r1", token: TOKEN, executor: "docker+machine", machineName: "gitlab-docker-machine-%s", key: "AKIANEWKEY000000" }]);
    const r = runScript(cleanup(), { toml, names: mine, keys: { [mine[0]]: "AKIAOLDKEY000000", [mine[1]]: "AKIANEWKEY000000" } }, configPath);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.removed, [mine[0]]);
    assert.match(r.stdout, /2 found, 1 still managed with the current settings/);
    // A renamed MachineName (config.toml names another one): the old name's workers all go.
    const renamed = configToml([{ name: "r1", token: TOKEN, executor: "docker+machine", machineName: "new-name-%s", key: "AKIANEWKEY000000" }]);
    const r2 = runScript(cleanup(), { toml: renamed, names: mine, keys: { [mine[0]]: "AKIANEWKEY000000", [mine[1]]: "AKIANEWKEY000000" } }, configPath);
    assert.deepEqual(r2.removed, mine);
  });

  it("waits for running jobs, removing each worker once idle, bounded by the drain timeout", () => {
    const r = runScript(cleanup({}, 30), { toml: configToml([{ name: "r1", token: TOKEN }]), names: mine, busy: { [mine[0]]: 2 } }, configPath);
    assert.equal(r.code, 0, r.stderr);
    // The idle one goes first; the busy one after its job ended (3 polls: busy, busy, idle).
    assert.deepEqual(r.removed, [mine[1], mine[0]]);
    assert.deepEqual(r.ssh, [mine[0], mine[1], mine[0], mine[0]]);
    assert.match(r.stdout, new RegExp(`^waiting for the jobs on: ${mine[0]} \\(0 s of at most 30 s\\)$`, "m"));
    assert.doesNotMatch(r.stdout, /still running/);

    const cut = runScript(cleanup({}, 2), { toml: configToml([{ name: "r1", token: TOKEN }]), names: mine, busy: { [mine[0]]: 1000 } }, configPath);
    assert.equal(cut.code, 0, cut.stderr);
    assert.deepEqual(cut.removed, [mine[1], mine[0]]);
    // Polls at 0, 1 and 2 s, then the timeout: never more than drain/poll + 1 checks.
    assert.equal(cut.ssh.filter((m) => m === mine[0]).length, 3);
    assert.match(cut.stdout, new RegExp(`^jobs still running after 2 s on: ${mine[0]}; removing those workers anyway \\(the jobs fail\\)$`, "m"));
    assert.match(cut.stdout, new RegExp(`^removed with a job still running: ${mine[0]}$`, "m"));
  });

  it("fails, naming them, when a worker cannot be removed (exit 23), so the key it needs is kept", () => {
    const r = runScript(cleanup(), { toml: configToml([{ name: "r1", token: TOKEN }]), names: mine, rmfail: [mine[0]] }, configPath);
    assert.equal(r.code, WORKER_EXIT.machineFailed);
    assert.deepEqual(r.removed, [mine[1]]);
    assert.match(r.stderr, new RegExp(`could not remove: ${mine[0]} .*docker-machine rm -f -y`));
  });

  it("refuses when the runner container is not running (exit 21) or the token is not literal (exit 22)", () => {
    const down = runScript(cleanup(), { toml: configToml([{ name: "r1", token: TOKEN }]), names: mine, stopped: true }, configPath);
    assert.equal(down.code, WORKER_EXIT.runnerDown);
    assert.match(down.stderr, /the runner container gitlab-runner is not running/);
    const env = runScript(cleanup(), { toml: configToml([{ name: "r1", token: "$RUNNER_TOKEN" }]), names: mine }, configPath);
    assert.equal(env.code, WORKER_EXIT.noRunner);
    assert.deepEqual(env.removed, []);
  });

  it("the notice counts this runner's workers and never fails", () => {
    const notice = workerNoticeBody({ ...scope(), maxBuilds: 100, idleTime: 1800 });
    const r = runScript(notice, { toml: configToml([{ name: "r1", token: TOKEN }]), names: [...others, ...mine] }, configPath);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "2 worker(s) of the only [[runners]] entry (runner-<ab_cd3fgh, abcd3fgh>-gitlab-docker-machine-%s) exist; they keep the settings they were created with and retire after 100 job(s) (MaxBuilds) or 1800 s idle (IdleTime).\n");
    assert.deepEqual(r.removed, []);
    const down = runScript(notice, { toml: configToml([{ name: "r1", token: TOKEN }]), names: mine, stopped: true }, configPath);
    assert.equal(down.code, 0);
    assert.match(down.stdout, /^worker count not available: the runner container gitlab-runner is not running/);
  });
});

describe("which settings changes reach running workers", () => {
  it("classifies each settings key", () => {
    assert.equal(workerChangeEffect("workers.instanceType"), "retire");
    assert.equal(workerChangeEffect("ami.baseAmi"), "retire");
    assert.equal(workerChangeEffect("workers.tags.team"), "retire");
    assert.equal(workerChangeEffect("proxy.httpProxy"), "retire");
    assert.equal(workerChangeEffect("runner.idleTime"), "now");
    assert.equal(workerChangeEffect("runner.autoscaling[0].idleCount"), "now");
    assert.equal(workerChangeEffect("runner.machineName"), "remove");
    assert.equal(workerChangeEffect("runner.keyGeneration"), "remove");
    assert.equal(workerChangeEffect("runner.concurrent"), undefined);
    assert.deepEqual(workerChanges(["runner.concurrent", "workers.spot", "runner.machineName", "runner.maxBuilds", "workers.zone"]),
      { retire: ["workers.spot", "workers.zone"], now: ["runner.maxBuilds"], remove: ["runner.machineName"] });
  });

  it("retirementNote and workerSettingsLines: exact text", () => {
    assert.deepEqual(retirementNote({ maxBuilds: 100, idleTime: 1800, drainTimeoutSeconds: 600, machineName: "gitlab-docker-machine-%s" }), [
      "Running workers keep the settings they were created with: after a change of ami (ami.* or the rebuilt AMI), workers.instanceType, workers.subnetId, workers.zone, workers.securityGroupId, workers.spot, workers.privateAddressOnly, workers.iamInstanceProfile, workers.tags, workers.rootSize, workers.imdsV2, proxy.*, they retire after 100 jobs (MaxBuilds) or 1800 s idle (IdleTime); the up output counts them.",
      "A change of runner.machineName, runner.keyGeneration, runner.credentials, and pulumi destroy, remove this runner's workers of the old gitlab-docker-machine-%s in the same run, after their jobs end (at most 600 s).",
    ]);
    assert.match(retirementNote({ maxBuilds: 0, idleTime: 60, drainTimeoutSeconds: 1, machineName: "m-%s" })[0], /they retire after 60 s idle \(IdleTime\);/);
    assert.deepEqual(workerSettingsLines({
      machineName: "w-%s", maxBuilds: 5, idleTime: 60, amiId: "ami-0123456789abcdef0", instanceType: "t3.small", subnetId: "subnet-1", zone: "c",
      securityGroupName: "workers", spot: true, accessKeyId: "AKIAEXAMPLE", stack: "prod",
    }), [
      "MachineName = w-%s",
      "MaxBuilds = 5, IdleTime = 60",
      "AMI ami-0123456789abcdef0, t3.small, spot, subnet subnet-1, zone c, security group workers",
      "instance profile (none), access key AKIAEXAMPLE",
      `tag ${WORKER_STACK_TAG} = prod`,
    ]);
  });
});
