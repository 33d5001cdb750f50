// Issue #4, scenario 8: the AMI builder's remote steps (ProxyAmi) from the real program, run on an
// Ubuntu builder sandbox reached where the offline engine puts the builder (10.0.1.10, port 22),
// while the CI-server steps run on a CI sandbox. Then every builder step again: nothing changes.
import { strict as assert } from "node:assert";
import { APT_PROXY_PATH, BUILDER_DOCKER_DROPIN_PATH, PROFILE_MARKER, aptProxyConf, dockerdProxyDropIn, profileExports } from "../../../core/proxy/proxyFiles";
import { apply, ciRoutes, BUILDER_HOST, hostStackConfig, type ApplyResult, type ProgramCommand } from "../programRun";
import { useSandbox } from "../sandbox";
import { assertNoCanaryLeaks, assertScriptsPassShellcheck } from "./checks";
import { EXPECTED_NO_PROXY, EXPECTED_PROXY_URL } from "./expected";

const PROFILE = "/home/ubuntu/.profile";
const STEPS = ["worker-ami-wait-ssh", "worker-ami-apt-proxy", "worker-ami-profile-proxy", "worker-ami-docker", "worker-ami-docker-proxy", "worker-ami-check"];
const URLS = { http: EXPECTED_PROXY_URL, https: EXPECTED_PROXY_URL, noProxy: EXPECTED_NO_PROXY };
const count = (text: string, line: string) => text.split("\n").filter((l) => l === line).length;

describe("host scenario 8: AMI builder steps on an Ubuntu builder", function () {
  this.timeout(180_000);
  const ci = useSandbox("ci-2.1.0");
  const builder = useSandbox("builder");
  let run: ApplyResult;
  let builderCommands: ProgramCommand[];
  let profileBefore: string;

  before(async () => {
    const b = builder();
    profileBefore = b.readFile(PROFILE).toString("utf8");
    run = await apply(hostStackConfig(ci(), (c) => delete c.ami.existingAmi), {
      // The builder's connection is port 22 on its private IP: route by host only.
      routes: [...ciRoutes(ci()), { host: BUILDER_HOST, sandbox: b }],
    });
    builderCommands = run.commands.filter((c) => c.host === BUILDER_HOST);
  });

  it("runs the builder steps in order on the builder, over port 22 as ubuntu, and succeeds", () => {
    assert.equal(run.error, undefined, String(run.error));
    assert.deepEqual(builderCommands.map((c) => c.name), STEPS);
    assert.deepEqual([...new Set(builderCommands.map((c) => `${c.user}@${c.host}:${c.port}`))], [`ubuntu@${BUILDER_HOST}:22`]);
    assert.deepEqual(run.executed.filter((e) => e.host === BUILDER_HOST).map((e) => e.name), STEPS);
    assert.match(run.executed.find((e) => e.name === "worker-ami-check")!.stdout, /docker uses the proxy/);
  });

  it("creates the apt proxy file with the expected content, root-owned", () => {
    const b = builder();
    assert.equal(b.readFile(APT_PROXY_PATH).toString("utf8"), aptProxyConf(URLS));
    assert.equal(b.readFile(APT_PROXY_PATH).toString("utf8"),
      `Acquire::http::Proxy "${EXPECTED_PROXY_URL}/";\nAcquire::https::Proxy "${EXPECTED_PROXY_URL}/";\n`);
    assert.equal(b.stat(APT_PROXY_PATH).owner, "root");
  });

  it("appends one marked exports block to ~/.profile and keeps the rest of it", () => {
    const text = builder().readFile(PROFILE).toString("utf8");
    const begin = `# BEGIN ${PROFILE_MARKER}`;
    const end = `# END ${PROFILE_MARKER}`;
    assert.equal(count(text, begin), 1);
    assert.equal(count(text, end), 1);
    assert.ok(text.startsWith(profileBefore), "the user's own lines are untouched");
    assert.equal(text.slice(profileBefore.length), `${begin}\n${profileExports(URLS)}${end}\n`);
    assert.equal(builder().stat(PROFILE).owner, "ubuntu");
  });

  it("~/.profile, now holding the proxy password, is not readable by other users", () => {
    // The sandbox's home is 0700, so the walk in scenario 9 cannot see this; Ubuntu 20.04 (the
    // stack's baseAmi) creates /home/ubuntu 0755, so in the image the file's own mode decides.
    const st = builder().stat(PROFILE);
    assert.match(builder().readFile(PROFILE).toString("utf8"), /CANARY-pw-7731/);
    assert.equal(st.mode & 0o044, 0, `~/.profile is ${st.mode.toString(8)} with the proxy password in it; the block keeps the file's 0644`);
  });

  it("installs Docker CE from Docker's apt repo as root and the docker proxy drop-in", () => {
    const b = builder();
    assert.equal(b.readFile(BUILDER_DOCKER_DROPIN_PATH).toString("utf8"), dockerdProxyDropIn(URLS));
    assert.equal(b.stat(BUILDER_DOCKER_DROPIN_PATH).owner, "root");
    const apt = b.callRecords().filter((r) => r.cmd === "apt-get");
    assert.ok(apt.some((r) => r.argv.join(" ") === "install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin"));
    assert.ok(apt.every((r) => r.user === "root"));
    assert.ok(b.exists("/etc/apt/sources.list.d/docker.list"));
    const calls = b.calls();
    assert.ok(calls.lastIndexOf("systemctl restart docker") > calls.indexOf("apt-get install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin"));
  });

  it("running every builder step again changes nothing (one profile block, no reinstall)", async () => {
    const b = builder();
    const paths = [APT_PROXY_PATH, PROFILE, BUILDER_DOCKER_DROPIN_PATH];
    const before = paths.map((p) => b.readFile(p).toString("base64"));
    const modes = paths.map((p) => b.stat(p).mode);
    b.clearCalls();
    const out: Record<string, string> = {};
    for (const c of builderCommands) {
      const r = await b.exec(c.create, { stdin: c.stdin });
      assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
      out[c.name] = r.stdout;
    }
    assert.deepEqual(paths.map((p) => b.readFile(p).toString("base64")), before);
    assert.deepEqual(paths.map((p) => b.stat(p).mode), modes);
    assert.equal(count(b.readFile(PROFILE).toString("utf8"), `# BEGIN ${PROFILE_MARKER}`), 1);
    assert.match(out["worker-ami-apt-proxy"], /^unchanged: /);
    assert.match(out["worker-ami-profile-proxy"], /^unchanged: /);
    assert.match(out["worker-ami-docker-proxy"], /^unchanged: /);
    assert.match(out["worker-ami-docker"], /docker already installed/);
    assert.deepEqual(b.calls().filter((c) => c.startsWith("apt-get ")), [], "no apt-get on the second run");
  });

  it("9: leaks no secret canary on the builder or the CI server", () => {
    assertNoCanaryLeaks(builder(), { commands: builderCommands, executed: run.executed.filter((e) => e.host === BUILDER_HOST) });
    assertNoCanaryLeaks(ci(), { commands: run.commands.filter((c) => c.host !== BUILDER_HOST), executed: run.executed.filter((e) => e.host !== BUILDER_HOST) });
  });

  it("every builder script passes shellcheck -s sh", () => {
    assertScriptsPassShellcheck(builderCommands);
  });
});
