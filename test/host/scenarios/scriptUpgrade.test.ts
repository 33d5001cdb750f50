// Issue 17's upgrade note, shown: an existing stack made by the program before the remote shell
// moved into core/remote/sh/ gets, on its next `up`, an update of every CI-server command whose
// script text changed (the reads, the writes and the worker notice re-run). That update changes no byte on the
// server, takes no backup and restarts nothing. The earlier scripts are the fixture
// test/fixtures/pre-issue-17/ci-server-commands.json.
import { strict as assert } from "node:assert";
import { apply, ciRoutes, CI_PATHS, hostStackConfig, readFiles, STATE_DIR, type ApplyResult } from "../programRun";
import { countRestarts } from "../restartCounts";
import { useSandbox, type Sandbox } from "../sandbox";
import { fixtureJson } from "../../helpers/fixtures";

/**
 * Every file of the state directory (originals, backups, reverse edits, markers) with its sha256,
 * except the owner markers: a write that finds its content in place takes ownership with the stdin
 * it ran with (the re-run read gives a new one), so that destroy's delete, which runs with that
 * stdin, still restores. Their names are listed.
 */
async function stateOf(sb: Sandbox): Promise<string> {
  const r = await sb.exec(`sudo -n sh -c 'cd ${STATE_DIR} && find . -type f | LC_ALL=C sort | while read -r f; do case $f in */owner) echo "$f";; *) sha256sum "$f";; esac; done'`);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const EARLIER: Record<string, { create: string; delete?: string }> = fixtureJson("pre-issue-17/ci-server-commands.json");

describe("host scenario: the first up after the scripts moved to .sh files (Collaborage 2.1.0)", function () {
  this.timeout(300_000);
  const ci = useSandbox("ci-2.1.0");
  let earlier: ApplyResult;
  let next: ApplyResult;
  let filesBefore: Record<string, Buffer | null>;
  let stateBefore: string;
  let events: ReturnType<Sandbox["events"]>;

  before(async () => {
    const sb = ci();
    const config = hostStackConfig(sb);
    // The stack as the earlier program left it: every CI-server command ran its earlier script.
    earlier = await apply(config, {
      routes: ciRoutes(sb),
      intercept: ({ name, stdin }, box) => (EARLIER[name] ? box.exec(EARLIER[name].create, { stdin }) : undefined),
    });
    filesBefore = readFiles(sb, Object.values(CI_PATHS));
    stateBefore = await stateOf(sb);
    sb.clearEvents();
    sb.clearCalls();
    // The next `up`: each command whose text changed is updated, which runs its (new) create again.
    next = await apply(config, { routes: ciRoutes(sb) });
    events = sb.events();
  });

  it("the earlier stack applied, and every CI-server command's script text did change (so `up` shows an update for each)", () => {
    assert.equal(earlier.error, undefined, String(earlier.error));
    const now = next.commands.filter((c) => c.name.startsWith("ci-server-") || c.name === "workers-cleanup");
    assert.deepEqual(now.map((c) => c.name).sort(), Object.keys(EARLIER).sort());
    for (const c of now) assert.notEqual(c.create, EARLIER[c.name].create, `${c.name}: create changed`);
    assert.ok(earlier.executed.some((e) => e.name === "ci-server-config-toml-write" && /^wrote: /m.test(e.stdout)), "the earlier scripts wrote the files");
  });

  it("the update succeeds and every write finds its file as it is: unchanged", () => {
    assert.equal(next.error, undefined, String(next.error));
    const writes = next.executed.filter((e) => /^ci-server-.*-write$/.test(e.name));
    assert.equal(writes.length, Object.keys(EARLIER).filter((n) => n.endsWith("-write")).length);
    for (const w of writes) assert.match(w.stdout, /^unchanged: /, `${w.name}: ${w.stdout}`);
    // The worker notice only counts workers (docker-machine ls in the runner container).
    const notice = next.executed.find((e) => e.name === "workers-cleanup");
    assert.match(notice?.stdout ?? "", /^(\d+ worker\(s\) of |worker count not available: )/, notice?.stdout);
  });

  it("changes no byte on the server: the files and the backup/marker state are as before", async () => {
    assert.deepEqual(next.files, filesBefore);
    const stateAfter = await stateOf(ci());
    assert.ok(stateBefore.includes("./config-toml/original"), stateBefore);
    assert.equal(stateAfter, stateBefore, "no new backup, no original or written marker rewritten");
  });

  it("restarts, recreates and reloads nothing", () => {
    assert.deepEqual(countRestarts(events), { gitlabRestarts: 0, runnerRecreations: 0, dockerdRestarts: 0, containersStopped: 0, jobsAborted: 0, runnerSignals: [] });
    assert.deepEqual(events, []);
  });
});
