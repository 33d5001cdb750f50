import { strict as assert } from "node:assert";
import { runnerMachineEdit, runnerSummary } from "../../core/ciServer/edits";
import { setEnvVars } from "../../core/ciServer/commonEnv/commonEnv";
import { editCompose } from "../../core/ciServer/compose/composeFile";
import { mergeRunnerConfig } from "../../core/ciServer/configToml/configToml";
import { dockerdProxyDropIn } from "../../core/proxy/proxyFiles";
import { reverseEdit, type LineFormat } from "../../core/remote/reverseEdit";
import { guardedWriteStdin, readFileScript } from "../../core/remote/scripts";
import { scriptBody } from "../../core/remote/shell";
import type { OfflineRun } from "../../offline/runOffline";
import {
  FIXTURE_TEXT, PATHS, T, TEST_PROVIDER_SECRET, cachedRun, childrenOf, commands, devStack, get, inputsOf, isSecretEnvelope,
  keyOf, revealed, settingsOf, sha256, summaryOf, unwrapSecrets, variant,
} from "../helpers/offlineWorld";

const PROXY = "http://192.0.2.1:3128";
const NO_PROXY = "localhost,127.0.0.1,192.0.2.3,192.0.2.0/24,169.254.169.254";
const EDITS = [
  { step: "common-env", key: "common-env", path: PATHS.commonEnv },
  { step: "compose-proxy", key: "compose-proxy", path: PATHS.compose },
  { step: "docker-daemon-json", key: "docker-daemon-json", path: PATHS.daemonJson },
  { step: "docker-dropin", key: "docker-dropin", path: PATHS.dockerDropIn },
  { step: "config-toml", key: "config-toml", path: PATHS.configToml },
];
const RULES = ["network-nexus-from-workers", "network-docker-from-ci", "network-ssh-from-ci"].map((n) => `${T.ingress}::${n}`);
const edit = (step: string) => `${T.fileEdit}::ci-server-${step}`;
const write = (run: OfflineRun, step: string) => inputsOf(run, T.command, `ci-server-${step}-write`);
const read = (run: OfflineRun, step: string) => inputsOf(run, T.command, `ci-server-${step}-read`);

export const UPGRADE = { gitlabImage: "gitlab/gitlab-ce:16.3.9-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v16.3.0" };

describe("CiServer on the dev stack", () => {
  let run: OfflineRun;
  before(async () => {
    run = await cachedRun(devStack());
  });

  it("edits common.env → docker-compose.yml → daemon.json → the docker drop-in → config.toml, one RemoteFileEdit child each", () => {
    assert.equal(get(run, T.ciServer, "ci-server").parent, undefined);
    assert.deepEqual(childrenOf(run, T.ciServer, "ci-server").map(keyOf), EDITS.map((e) => edit(e.step)));
    assert.deepEqual(run.outputs.ciServerFiles, EDITS.map((e) => e.path));
  });

  it("each edit is a -read and a -write command, its children", () => {
    for (const e of EDITS) {
      assert.deepEqual(childrenOf(run, T.fileEdit, `ci-server-${e.step}`).map(keyOf),
        [`${T.command}::ci-server-${e.step}-read`, `${T.command}::ci-server-${e.step}-write`]);
    }
  });

  it("each read waits for the previous edit, each write for its read; config.toml also for the three rules and the worker cleanup", () => {
    const deps = (name: string) => get(run, T.command, name).dependsOn;
    EDITS.forEach((e, i) => {
      const previous = i === 0 ? [] : [edit(EDITS[i - 1].step)];
      const extra = e.step === "config-toml" ? [...RULES, `${T.workerCleanup}::workers`] : [];
      assert.deepEqual(get(run, T.fileEdit, `ci-server-${e.step}`).dependsOn, [...previous, ...extra], `${e.step} edit`);
      assert.deepEqual(deps(`ci-server-${e.step}-read`), [...previous, ...extra], `${e.step} read`);
      assert.deepEqual(deps(`ci-server-${e.step}-write`), [`${T.command}::ci-server-${e.step}-read`], `${e.step} write`);
    });
  });

  it("no remote command of the stack gets the previous output in its environment", () => {
    const all = commands(run);
    assert.equal(all.length, 6 + 2 * EDITS.length + 1);
    for (const c of all) assert.equal(c.inputs.addPreviousOutputInEnv, false, c.name);
  });

  it("reads: logging none, the path in triggers, the read script of that path, a secret connection", () => {
    for (const e of EDITS) {
      const r = read(run, e.step);
      assert.equal(r.logging, "none");
      // The triggers are a secret envelope when the edit carries a secret (config.toml: the access key).
      const [path, desired] = unwrapSecrets(r.triggers) as string[];
      assert.equal(path, e.path);
      assert.match(desired, /^[0-9a-f]{64}$/, "hash of the desired edit");
      assert.equal(r.create, readFileScript(e.path));
      assert.ok(isSecretEnvelope(r.connection));
      assert.equal(revealed(run, `ci-server-${e.step}-read`, "connection").host, "192.0.2.3");
    }
  });

  it("writes: the script is plain and starts with the summary of managed values; stdin and connection are secret", () => {
    for (const e of EDITS) {
      const w = write(run, e.step);
      assert.equal(typeof w.create, "string", `${e.step} create is not secret`);
      assert.ok(w.create.startsWith(`# gitlab-runner-autoscaling: guarded write of ${e.path} (state ${e.key})\n# `), e.step);
      assert.ok(isSecretEnvelope(w.stdin), `${e.step} stdin`);
      assert.ok(isSecretEnvelope(w.connection), `${e.step} connection`);
      assert.ok(w.create.includes(`RemoteFileEdit$command:remote:Command::ci-server-${e.step}-read`), "the re-read hint names the read's URN");
    }
  });

  it("after-actions: runner recreates stop it with SIGQUIT first; daemon.json reloads dockerd; config.toml waits for the reload", () => {
    for (const step of ["common-env", "compose-proxy"]) {
      const { create, delete: del } = write(run, step);
      for (const script of [create, del]) {
        assert.ok(script.indexOf("docker kill --signal=QUIT") < script.indexOf("compose up -d --no-deps"), step);
        // The bound reaches the shared stop_gracefully function through the script's preamble.
        assert.match(scriptBody(script) ?? "", /^stop_container='gitlab-runner'\nstop_timeout=600\n/m, step);
        assert.match(script, /running jobs may finish \(up to \$stop_timeout s\)/, step);
      }
    }
    const daemon = write(run, "docker-daemon-json");
    assert.match(daemon.create, /systemctl reload docker/);
    assert.doesNotMatch(daemon.create + daemon.delete, /systemctl restart docker/);
    assert.match(write(run, "docker-dropin").create, /LiveRestoreEnabled[\s\S]*systemctl restart docker/);
    assert.match(write(run, "config-toml").create, /docker logs --since "\$since" "\$runner_container"/);
    assert.match(scriptBody(write(run, "config-toml").create) ?? "", /^runner_container='gitlab-runner'$/m);
  });

  it("runner.gracefulStopSeconds bounds the wait (0: SIGQUIT and go on)", async () => {
    const r = await cachedRun(variant((c) => { c.runner.gracefulStopSeconds = 0; }));
    assert.match(scriptBody(inputsOf(r, T.command, "ci-server-common-env-write").create) ?? "", /^stop_timeout=0$/m);
  });

  it("the summaries show the managed values, secrets masked", () => {
    assert.deepEqual(summaryOf(write(run, "common-env").create), [`NO_PROXY=${NO_PROXY}`, `no_proxy=${NO_PROXY}`]);
    assert.deepEqual(summaryOf(write(run, "compose-proxy").create), ["services.gitlab-runner.env_file += ./common.env"]);
    assert.deepEqual(summaryOf(write(run, "docker-daemon-json").create), ['"live-restore": true']);
    assert.deepEqual(summaryOf(write(run, "docker-dropin").create), [
      `Environment="HTTP_PROXY=${PROXY}"`, `Environment="HTTPS_PROXY=${PROXY}"`, `Environment="NO_PROXY=${NO_PROXY}"`,
    ]);
    const toml = summaryOf(write(run, "config-toml").create);
    for (const line of [
      "concurrent = 3", "IdleCount = 0", "IdleTime = 1800", "MaxBuilds = 100", "MachineOptions: amazonec2-zone=a",
      `MachineOptions: amazonec2-access-key=${run.outputs.accessKeyId}`, "MachineOptions: amazonec2-secret-key=[secret]",
      `MachineOptions: amazonec2-ami=${run.outputs.amiId}`, "MachineOptions: amazonec2-security-group=group-0fedcba9876543210",
      `MachineOptions: engine-env=NO_PROXY=${NO_PROXY}`,
      "then the runner reloads it (a graceful restart instead when the entry leaves docker-autoscaler: a reload keeps its taskscaler)",
    ]) assert.ok(toml.includes(line), `config.toml summary has ${line}:\n${toml.join("\n")}`);
  });

  it("destroy restores every file of the dev stack", () => {
    for (const e of EDITS) {
      assert.ok(write(run, e.step).delete.startsWith(`# gitlab-runner-autoscaling: restore ${e.path} (state ${e.key})\n`), e.step);
    }
  });

  describe("the writes' stdin is the read file merged by the pure core", () => {
    // An edit destroy undoes also carries the reverse edit, from the new text back to the read one.
    const stdinOf = (format: LineFormat, read: string, merged: string) =>
      guardedWriteStdin(sha256(read), merged, reverseEdit(format, merged, read));

    it("common.env: its sha256, then NO_PROXY/no_proxy set", () => {
      assert.equal(revealed(run, "ci-server-common-env-write", "stdin"),
        stdinOf("env", FIXTURE_TEXT.commonEnv, setEnvVars(FIXTURE_TEXT.commonEnv, { NO_PROXY, no_proxy: NO_PROXY })));
    });

    it("docker-compose.yml: its sha256, then env_file added to gitlab-runner", () => {
      const merged = editCompose(FIXTURE_TEXT.compose, { envFile: { service: "gitlab-runner", file: "./common.env" } }).text;
      assert.notEqual(merged, FIXTURE_TEXT.compose);
      assert.equal(revealed(run, "ci-server-compose-proxy-write", "stdin"), stdinOf("yaml", FIXTURE_TEXT.compose, merged));
    });

    it("docker drop-in: absent, then the whole drop-in", () => {
      assert.equal(revealed(run, "ci-server-docker-dropin-write", "stdin"),
        guardedWriteStdin("absent", dockerdProxyDropIn({ http: PROXY, https: PROXY, noProxy: NO_PROXY })));
    });

    it("config.toml: its sha256, then mergeRunnerConfig of the fixture (and the summary is runnerSummary of the same edit)", () => {
      const machineEdit = runnerMachineEdit({
        settings: settingsOf(devStack()),
        amiId: String(run.outputs.amiId),
        securityGroupName: "group-0fedcba9876543210",
        accessKey: { id: String(run.outputs.accessKeyId), secret: TEST_PROVIDER_SECRET },
        noProxy: NO_PROXY,
        proxyUrls: { http: PROXY, https: PROXY },
        stack: "dev",
      });
      assert.equal(revealed(run, "ci-server-config-toml-write", "stdin"),
        stdinOf("toml", FIXTURE_TEXT.configToml, mergeRunnerConfig(FIXTURE_TEXT.configToml, machineEdit)));
      assert.deepEqual(summaryOf(write(run, "config-toml").create), runnerSummary(machineEdit));
    });
  });
});

describe("CiServer with an upgrade (Collaborage 2.1.0 → GitLab 16.3.9)", () => {
  let run: OfflineRun;
  before(async () => {
    run = await cachedRun(variant((c) => { c.upgrade = UPGRADE; }));
  });

  const LAST_GATE = `${T.command}::gitlab-upgrade-to-16.3.9-gate`;
  const UPGRADE_TYPE = "gitlab-runner-autoscaling:ci:GitlabUpgrade";

  it("the upgrade comes first, at the top level, in its order: read, preflight, gate, backup, hop, gate; everything else waits for its last gate", () => {
    assert.equal(get(run, UPGRADE_TYPE, "gitlab-upgrade").parent, undefined);
    assert.deepEqual(childrenOf(run, T.ciServer, "ci-server").map(keyOf), EDITS.map((e) => edit(e.step)));
    assert.deepEqual(get(run, T.command, "gitlab-upgrade-read").dependsOn, []);
    const chain: [string, string, string][] = [
      [T.command, "gitlab-upgrade-preflight", `${T.command}::gitlab-upgrade-read`],
      [T.command, "gitlab-upgrade-gate-start", `${T.command}::gitlab-upgrade-preflight`],
      [T.command, "gitlab-upgrade-backup", `${T.command}::gitlab-upgrade-gate-start`],
      [T.fileEdit, "gitlab-upgrade-to-16.3.9", `${T.command}::gitlab-upgrade-backup`],
      [T.command, "gitlab-upgrade-to-16.3.9-gate", `${T.fileEdit}::gitlab-upgrade-to-16.3.9`],
    ];
    for (const [type, name, on] of chain) assert.deepEqual(get(run, type, name).dependsOn, [on], name);
    assert.deepEqual(get(run, T.command, "ci-server-common-env-read").dependsOn, [LAST_GATE]);
    // AWS resources too: a refused upgrade path must leave nothing behind.
    for (const [type, name] of [[T.ingress, "network-ssh-from-ci"], [T.user, "runner-user"], ["aws:ec2/securityGroup:SecurityGroup", "worker-ami-builder-sg"], ["aws:ec2/keyPair:KeyPair", "worker-ami-builder-key"]]) {
      assert.deepEqual(get(run, type, name).dependsOn, [LAST_GATE], name);
    }
  });

  it("destroy keeps the upgrade and its backups (no restore) and restores the others", () => {
    const del = inputsOf(run, T.command, "gitlab-upgrade-to-16.3.9-write").delete;
    assert.equal(del, "echo 'kept on destroy: gitlab-hop-16-3-9'");
    assert.equal(inputsOf(run, T.command, "gitlab-upgrade-backup").delete, "echo 'kept on destroy: the GitLab backups under /data/gitlab-upgrade-backups'");
    for (const e of EDITS) assert.match(write(run, e.step).delete, /^# gitlab-runner-autoscaling: restore /, e.step);
  });

  it("a changed bound re-runs the gates and the preflight, never the read or the backup (their inputs stay the same)", async () => {
    const longer = await cachedRun(variant((c) => { c.upgrade = { ...UPGRADE, readyTimeoutSeconds: 900, migrationsTimeoutSeconds: 900 }; }));
    const same = (name: string, key: string) => assert.deepEqual(inputsOf(longer, T.command, name)[key], inputsOf(run, T.command, name)[key], `${name}.${key}`);
    const changed = (name: string) => assert.notEqual(inputsOf(longer, T.command, name).create, inputsOf(run, T.command, name).create, name);
    same("gitlab-upgrade-read", "triggers");
    same("gitlab-upgrade-read", "create");
    same("gitlab-upgrade-backup", "create");
    for (const name of ["gitlab-upgrade-preflight", "gitlab-upgrade-gate-start", "gitlab-upgrade-to-16.3.9-gate", "gitlab-upgrade-to-16.3.9-write"]) changed(name);
  });

  it("the hop's write: summary with both images, stdin = the fixture with both images replaced", () => {
    const w = inputsOf(run, T.command, "gitlab-upgrade-to-16.3.9-write");
    assert.ok(w.create.startsWith(`# gitlab-runner-autoscaling: guarded write of ${PATHS.compose} (state gitlab-hop-16-3-9)\n`));
    assert.deepEqual(summaryOf(w.create), [`services.gitlab.image = ${UPGRADE.gitlabImage} (unless the server already runs 16.3.9 or later)`, `services.gitlab-runner.image = ${UPGRADE.runnerImage}`]);
    const merged = editCompose(FIXTURE_TEXT.compose, {
      images: [{ service: "gitlab", image: UPGRADE.gitlabImage }, { service: "gitlab-runner", image: UPGRADE.runnerImage }],
    }).text;
    assert.equal(revealed(run, "gitlab-upgrade-to-16.3.9-write", "stdin"), guardedWriteStdin(sha256(FIXTURE_TEXT.compose), merged));
    assert.ok(isSecretEnvelope(w.stdin));
  });
});
