// Issue 19's resume with the real Pulumi engine and real state: GitLab 16.0.6 → 16.11.10 in three
// hops (16.3.9, 16.7.10, 16.11.10) on the Collaborage 2.1.0 sandbox's stand-in GitLab. The preview
// lists the whole path; an up whose 16.7.10 migrations never finish stops at that hop's gate with
// the state holding everything before it; the next up resumes there without re-running the backup
// or the earlier hops; a third up changes nothing. The offline engine cannot model a failed up (it
// predicts whole runs), so it is compared on the preview and on up #2 from the state up #1 left.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { RecordedResource } from "../../offline/mockEngine";
import type { OfflineRun } from "../../offline/runOffline";
import { CI_PATHS, type StackConfig } from "../host/programRun";
import type { MigrationRow, Sandbox } from "../host/sandbox";
import { listDir } from "../host/scenarios/checks";
import { gitlabRunning } from "../host/scenarios/gitlabServer";
import { keyOfUrn, sshRuns, type EngineRun } from "./engine";
import { divergences, offlineRunner, predictUp, seqOf } from "./differential";
import { useRealWorld } from "./world";

const STACK = "upgrade-resume";
const CMD = "command:remote:Command";
const cmd = (name: string) => `${CMD}::${name}`;
const HOPS = ["16.3.9", "16.7.10", "16.11.10"];
const hop = (v: string) => [`gitlab-upgrade-to-${v}-read`, `gitlab-upgrade-to-${v}-write`, `gitlab-upgrade-to-${v}-gate`];
/** The upgrade's commands in the order they must run. */
const PATH = ["gitlab-upgrade-read", "gitlab-upgrade-preflight", "gitlab-upgrade-gate-start", "gitlab-upgrade-backup", ...HOPS.flatMap(hop)];
/** What up #1 leaves done: everything before 16.7.10's gate. */
const DONE_FIRST = PATH.slice(0, PATH.indexOf("gitlab-upgrade-to-16.7.10-gate"));
const BACKUPS = "/data/gitlab-upgrade-backups";
const STUCK: MigrationRow = ["active", "BackfillNamespaceTraversalIdsChildren", "namespaces", "id", "[]"];

const upgrade = (c: StackConfig) => {
  c.upgrade = {
    gitlabImage: "gitlab/gitlab-ce:16.11.10-ce.0", runnerImage: "follow",
    // Small bounds: a gate polls every second (sleeps last 1/50 as long in the sandbox).
    readyTimeoutSeconds: 5, migrationsTimeoutSeconds: 4, backupTimeoutSeconds: 60,
  };
};

/** The names of the command resources whose plugin call (create, update, delete: each runs a script) the run made. */
const commandRuns = (r: EngineRun) => r.pluginCalls.filter((c) => c.plugin === "command" && c.op !== "run" && c.urn).map((c) => `${c.op} ${c.urn!.split("::").pop()}`);
const composeImage = (sb: Sandbox) => /\n {4}image: (gitlab\/gitlab-ce:\S+)\n/.exec(sb.readFile(CI_PATHS.compose).toString("utf8"))?.[1];
const gitlabRecreates = (sb: Sandbox) => sb.events().filter((e) => e.event === "recreate" && e.name === "gitlab").length;

interface StateResource { urn: string; type: string; delete?: boolean; pendingReplacement?: boolean }
function stateResources(statePath: string): StateResource[] {
  return (JSON.parse(fs.readFileSync(statePath, "utf8")).checkpoint.latest.resources ?? []) as StateResource[];
}

/** Every resource that waits, through explicit dependsOn (a component: all its descendants), for `root`. */
function waitingFor(resources: RecordedResource[], root: string): Set<string> {
  const key = (r: RecordedResource) => `${r.type}::${r.name}`;
  const byUrn = new Map(resources.map((r) => [r.urn, key(r)]));
  const within = (k: string): string[] => resources.filter((r) => r.parent === k).flatMap((r) => [key(r), ...within(key(r))]);
  const deps = new Map(resources.map((r) => [key(r), r.dependsOn.map((u) => byUrn.get(u)!).flatMap((d) => [d, ...within(d)])]));
  const out = new Set<string>([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [k, ds] of deps) if (!out.has(k) && ds.some((d) => out.has(d))) { out.add(k); grew = true; }
  }
  out.delete(root);
  return out;
}

describe("real engine (Pulumi CLI v3.276.0): a three-hop GitLab upgrade stopped at a gate, then resumed", function () {
  this.timeout(300_000);
  const w = useRealWorld(STACK, upgrade);
  let full: OfflineRun;

  before(async () => {
    const sb = w.ci();
    // GitLab and its database as compose made them (the stand-in's docker exec works on that record);
    // the backup copies gitlab-secrets.json and gitlab.rb out of the container's config volume.
    await gitlabRunning(sb);
    // Outside the snapshot window (23:00-00:30): the preflight and each hop's recreate check it.
    sb.setClock("10:00");
    sb.setHealth(["healthy"]);
    // 16.7.10's batched migrations never finish; every other version's are done.
    sb.setGitlabMigrations({ "16.7.10": [[STUCK]] });
    sb.clearEvents();
    sb.clearCalls();
    assert.equal(composeImage(sb), "gitlab/gitlab-ce:16.0.6-ce.0");
  });

  it("preview of the new stack: the preflight, the first gate, the backup and every hop's read, write and gate, in dependency order; nothing runs", async () => {
    const preview = await w.stack().preview(false);
    const predicted = await predictUp(undefined, offlineRunner(w.config(), STACK));
    full = predicted.after;
    assert.deepEqual(divergences(predicted, preview.operations), [], "preview vs offline");
    const at = PATH.map((n) => seqOf(preview.operations, cmd(n), "create"));
    assert.ok(at.every((s) => s >= 0), `not in the preview: ${PATH.filter((_, i) => at[i] < 0).join(", ")}`);
    assert.deepEqual([...at].sort((a, b) => a - b), at, "the path's steps reported in the order they run");
    // The engine's order is the program's: each step waits for the one before it.
    const keyAt = new Map(full.engine.resources.map((r) => [r.urn, `${r.type}::${r.name}`]));
    const deps = new Map(full.engine.resources.map((r) => [r.name, r.dependsOn.map((u) => keyAt.get(u) ?? u)]));
    PATH.slice(1).forEach((n, i) => assert.ok(deps.get(n)?.some((d) => d === cmd(PATH[i]) || d.endsWith(`::${PATH[i].replace(/-(read|write)$/, "")}`)), `${n} waits for ${PATH[i]}: ${deps.get(n)}`));
    assert.deepEqual(sshRuns(preview), [], "a preview runs no remote command");
    assert.deepEqual(w.ci().calls(), []);
  });

  it("up #1, 16.7.10's migrations never finish: fails at gitlab-upgrade-to-16.7.10-gate naming the migration and how to resume; the state holds every step before it and nothing that waits for it", async () => {
    const sb = w.ci();
    const up = await w.stack().upFailing();
    assert.deepEqual(up.failed, [cmd("gitlab-upgrade-to-16.7.10-gate")], up.output);
    const gateErrors = up.errors.filter((e) => e.key === cmd("gitlab-upgrade-to-16.7.10-gate")).map((e) => e.message).join("\n");
    assert.match(gateErrors, /Process exited with status 10/);
    for (const text of [gateErrors, up.error.message]) {
      assert.match(text, /gate after the hop to 16\.7\.10: not done within its bound of 4 s: 1 batched background migrations unfinished \(active: BackfillNamespaceTraversalIdsChildren on namespaces\)\./);
      assert.match(text, /Run pulumi up again once they have finished \(or raise upgrade\.migrationsTimeoutSeconds\): it resumes at this gate, from the version the server then runs\./);
    }
    // The state: the path up to 16.7.10's write, nothing pending; nothing that waits for the failed gate.
    const state = stateResources(w.stack().statePath());
    assert.deepEqual(state.filter((r) => r.delete || r.pendingReplacement).map((r) => r.urn), []);
    const inState = new Set(state.map((r) => keyOfUrn(r.urn)));
    const commands = state.filter((r) => r.type === CMD).map((r) => keyOfUrn(r.urn).slice(CMD.length + 2));
    assert.deepEqual(commands.filter((n) => n.startsWith("gitlab-upgrade")), DONE_FIRST);
    const after = waitingFor(full.engine.resources, cmd("gitlab-upgrade-to-16.7.10-gate"));
    for (const n of ["gitlab-upgrade-to-16.11.10-gate", "ci-server-compose-proxy-write", "ci-server-config-toml-write"]) assert.ok(after.has(cmd(n)), `${n} waits for the gate`);
    assert.deepEqual([...after].filter((k) => inState.has(k)), [], "nothing that waits for the failed gate is in the state");
    // Everything else waits for the last gate, AWS included (program.ts, afterUpgrade).
    assert.ok([...after].some((k) => k.startsWith("aws:")), "AWS resources wait for the path");
    assert.deepEqual(state.filter((r) => r.type.startsWith("aws:")).map((r) => r.urn), []);
    assert.equal(composeImage(sb), "gitlab/gitlab-ce:16.7.10-ce.0");
    assert.equal(gitlabRecreates(sb), 2, "16.3.9 and 16.7.10");
    assert.equal((await listDir(sb, BACKUPS)).length, 1);
  });

  it("up #2, the migrations finished: resumes at 16.7.10's gate; the read, the preflight, the first gate, the backup and the earlier hops are not run again", async () => {
    const sb = w.ci();
    const before = stateResources(w.stack().statePath()).map((r) => keyOfUrn(r.urn));
    sb.setGitlabMigrations({});
    const up = await w.stack().up();
    // The offline engine from the state up #1 left: the full run's resources that are in it.
    const partial = { ...full, engine: { resources: full.engine.resources.filter((r) => before.includes(`${r.type}::${r.name}`)) } } as unknown as OfflineRun;
    const predicted = await predictUp(partial, offlineRunner(w.config(), STACK));
    assert.deepEqual(divergences(predicted, up.operations), [], "up #2 vs offline from up #1's state");
    const created = up.operations.filter((o) => o.op === "create").map((o) => o.key);
    assert.deepEqual(created.filter((k) => k.startsWith(`${CMD}::gitlab-upgrade`)).map((k) => k.split("::")[1]),
      ["gitlab-upgrade-to-16.7.10-gate", ...hop("16.11.10")]);
    for (const n of DONE_FIRST) assert.equal(seqOf(up.operations, cmd(n), "same") >= 0, true, `${n}: same`);
    assert.deepEqual(up.operations.filter((o) => !["create", "same"].includes(o.op)).map((o) => `${o.op} ${o.key}`), []);
    assert.ok(created.includes(cmd("ci-server-config-toml-write")) && created.includes(cmd("ci-server-compose-proxy-write")), "the CI server's edits follow the path");
    const runs = commandRuns(up);
    assert.deepEqual(runs.filter((r) => DONE_FIRST.some((n) => r.endsWith(` ${n}`))), [], "nothing before the failed gate ran again");
    assert.deepEqual(runs.filter((r) => r.includes("gitlab-upgrade")), ["create gitlab-upgrade-to-16.7.10-gate", ...hop("16.11.10").map((n) => `create ${n}`)]);
    // One backup (up #1's), the path's end, and three recreates of GitLab across both ups.
    assert.equal((await listDir(sb, BACKUPS)).length, 1);
    assert.equal(composeImage(sb), "gitlab/gitlab-ce:16.11.10-ce.0");
    assert.match(sb.readFile(CI_PATHS.compose).toString("utf8"), /\n {4}image: gitlab\/gitlab-runner:ubuntu-v16\.11\.\d+\n/);
    assert.equal(gitlabRecreates(sb), 3);
  });

  it("up #3, unchanged: every resource the same, nothing runs on the server", async () => {
    const sb = w.ci();
    sb.clearCalls();
    const up = await w.stack().up();
    assert.deepEqual(up.operations.filter((o) => o.op !== "same").map((o) => `${o.op} ${o.key}`), []);
    assert.equal(up.operations.length, full.engine.resources.length);
    assert.deepEqual(sshRuns(up), []);
    assert.deepEqual(sb.calls(), []);
    assert.equal(gitlabRecreates(sb), 3);
  });
});
