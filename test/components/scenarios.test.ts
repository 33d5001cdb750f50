import { strict as assert } from "node:assert";
import { reverseEdit } from "../../core/remote/reverseEdit";
import { guardedWriteStdin } from "../../core/remote/scripts";
import { runnerMachineEdit } from "../../core/ciServer/edits";
import { mergeRunnerConfig } from "../../core/ciServer/configToml/configToml";
import type { OfflineRun } from "../../offline/runOffline";
import {
  FIXTURE_TEXT, PATHS, T, TEST_PROVIDER_SECRET, cachedRun, childrenOf, configTomlSummary, devStack, find, get, inputsOf, keyOf,
  ofType, rejectedRun, revealed, runStack, settingsOf, sha256, unwrapSecrets, variant,
} from "../helpers/offlineWorld";

const NO_PROXY = "localhost,127.0.0.1,192.0.2.3,192.0.2.0/24,169.254.169.254";
const UPGRADE = { gitlabImage: "gitlab/gitlab-ce:16.3.9-ce.0", runnerImage: "gitlab/gitlab-runner:ubuntu-v16.3.0" };
const EXISTING_AMI = "ami-0123456789abcdef0";
const MANAGER_ROLE = "collaborage-ci-role";

const cmd = (n: string) => `${T.command}::${n}`;
const edit = (step: string) => [`${T.fileEdit}::ci-server-${step}`, cmd(`ci-server-${step}-read`), cmd(`ci-server-${step}-write`)];

/** Everything the dev stack creates: the exact inventory (so anything extra or missing fails). */
const DEV_INVENTORY = [
  `${T.stack}::gitlab-runner-autoscaling-dev`,
  `${T.network}::network`,
  ...["nexus-from-workers", "docker-from-ci", "ssh-from-ci"].map((n) => `${T.ingress}::network-${n}`),
  `${T.credentials}::runner`, `${T.user}::runner-user`, `${T.userPolicy}::runner-policy`, `${T.accessKey}::runner-key-1`,
  `${T.proxyAmi}::worker-ami`, `${T.securityGroup}::worker-ami-builder-sg`, `${T.ingress}::worker-ami-builder-ssh-from-ci`,
  `${T.egress}::worker-ami-builder-egress`, `${T.keyPair}::worker-ami-builder-key`, `${T.instance}::worker-ami-builder`,
  ...["wait-ssh", "apt-proxy", "profile-proxy", "docker", "docker-proxy", "check"].map((s) => cmd(`worker-ami-${s}`)),
  `${T.amiFromInstance}::worker-ami-ami`, `${T.instanceState}::worker-ami-builder-stopped`,
  `${T.ciServer}::ci-server`,
  ...edit("common-env"), ...edit("compose-proxy"), ...edit("docker-daemon-json"), ...edit("docker-dropin"), ...edit("config-toml"),
  `${T.workerCleanup}::workers`, cmd("workers-cleanup"),
].sort();

const inventory = (run: OfflineRun) => run.engine.resources.map(keyOf).sort();
const without = (list: string[], removed: string[]) => {
  removed.forEach((r) => assert.ok(list.includes(r), `test setup: ${r} is in the dev inventory`));
  return list.filter((k) => !removed.includes(k));
};
/** Every input of every resource, secrets opened, as one string: to prove something is nowhere. */
const everything = (run: OfflineRun) => JSON.stringify(run.engine.resources.map((r) => unwrapSecrets(r.inputs)));

describe("Whole program, scenario by scenario", () => {
  describe("(a) the dev stack", () => {
    let run: OfflineRun;
    before(async () => {
      run = await cachedRun(devStack());
    });

    it("creates exactly the runbook's resources: network rules, IAM user + key, the AMI build, four CI-server edits", () => {
      assert.deepEqual(inventory(run), DEV_INVENTORY);
    });

    it("has no role policy, no upgrade, and no world-open ingress", () => {
      assert.equal(ofType(run, T.rolePolicy).length, 0);
      assert.equal(find(run, T.fileEdit, "gitlab-upgrade"), undefined);
      assert.ok(ofType(run, T.ingress).every((r) => r.inputs.cidrIpv4 === undefined));
    });

    it("exports the summary a reader can check against the runbook", () => {
      assert.deepEqual(Object.keys(run.outputs).sort(), ["accessKeyId", "amiId", "ciServerFiles", "ciServerResults", "iamUserName", "securityGroupRuleIds", "summary"]);
      assert.match(String(run.outputs.summary), /^Workers boot ami-\w+ \(t2\.micro, spot\) in ap-northeast-1a, subnet subnet-0123456789abcdef0\.$/m);
      assert.match(String(run.outputs.summary), /removed after 1800 s idle/);
      assert.deepEqual(Object.keys(run.outputs.ciServerResults as object), ["common-env", "compose-proxy", "docker-daemon-json", "docker-dropin", "config-toml"]);
    });
  });

  describe("(b) no proxy", () => {
    let run: OfflineRun;
    before(async () => {
      run = await cachedRun(variant((c) => { delete c.proxy; }));
    });

    it("skips the four proxy edits and the builder's three proxy steps; nothing else changes in the inventory", () => {
      assert.deepEqual(inventory(run), without(DEV_INVENTORY, [
        ...edit("common-env"), ...edit("compose-proxy"), ...edit("docker-daemon-json"), ...edit("docker-dropin"),
        cmd("worker-ami-apt-proxy"), cmd("worker-ami-profile-proxy"), cmd("worker-ami-docker-proxy"),
      ]));
      assert.deepEqual(run.outputs.ciServerFiles, [PATHS.configToml]);
    });

    it("the builder: wait-ssh → docker → check → image, docker installed without proxy env", () => {
      assert.deepEqual(get(run, T.command, "worker-ami-docker").dependsOn, [cmd("worker-ami-wait-ssh")]);
      assert.deepEqual(get(run, T.command, "worker-ami-check").dependsOn, [cmd("worker-ami-docker")]);
      assert.deepEqual(get(run, T.amiFromInstance, "worker-ami-ami").dependsOn, [cmd("worker-ami-check")]);
      assert.equal(revealed(run, "worker-ami-docker", "stdin"), "");
    });

    it("config.toml waits only for the rules and the worker cleanup; MachineOptions have no engine-env", () => {
      assert.deepEqual(get(run, T.command, "ci-server-config-toml-read").dependsOn,
        [...["nexus-from-workers", "docker-from-ci", "ssh-from-ci"].map((n) => `${T.ingress}::network-${n}`), `${T.workerCleanup}::workers`]);
      const summary = configTomlSummary(run);
      assert.ok(summary.includes("MachineOptions: engine-insecure-registry=192.0.2.3:19081"));
      assert.deepEqual(summary.filter((l) => l.includes("engine-env")), []);
      assert.doesNotMatch(String(revealed(run, "ci-server-config-toml-write", "stdin")), /engine-env/);
    });

    it("no proxy address and no NO_PROXY anywhere in any input", () => {
      const all = everything(run);
      assert.ok(!all.includes("192.0.2.1:3128"));
      assert.ok(!/no_proxy/i.test(all));
    });

    it("the config.toml stdin is the fixture merged without proxy settings", () => {
      const expected = mergeRunnerConfig(FIXTURE_TEXT.configToml, runnerMachineEdit({
        settings: settingsOf(variant((c) => { delete c.proxy; })),
        amiId: String(run.outputs.amiId),
        securityGroupName: "group-0fedcba9876543210",
        accessKey: { id: String(run.outputs.accessKeyId), secret: TEST_PROVIDER_SECRET },
        stack: "dev",
      }));
      assert.equal(revealed(run, "ci-server-config-toml-write", "stdin"), guardedWriteStdin(sha256(FIXTURE_TEXT.configToml), expected,
        reverseEdit("toml", expected, FIXTURE_TEXT.configToml)));
    });
  });

  describe("(c) with an upgrade of the Collaborage 2.1.0 server (GitLab 16.0.6)", () => {
    let run: OfflineRun;
    before(async () => {
      run = await cachedRun(variant((c) => { c.upgrade = UPGRADE; }));
    });

    it("adds the gitlab-upgrade edit, first, and nothing else", () => {
      const upgrade = [
        "gitlab-runner-autoscaling:ci:GitlabUpgrade::gitlab-upgrade",
        ...["read", "preflight", "gate-start", "backup", "to-16.3.9-read", "to-16.3.9-write", "to-16.3.9-gate"].map((s) => `${T.command}::gitlab-upgrade-${s}`),
        `${T.fileEdit}::gitlab-upgrade-to-16.3.9`,
      ];
      assert.deepEqual(inventory(run), [...DEV_INVENTORY, ...upgrade].sort());
      assert.equal(childrenOf(run, T.ciServer, "ci-server")[0].name, "ci-server-common-env");
      assert.equal(run.outputs.ciServerFiles && (run.outputs.ciServerFiles as string[])[0], PATHS.compose);
    });

    it("the upgrade waits for GitLab to be healthy and keeps the old image line as a comment", () => {
      const w = inputsOf(run, T.command, "gitlab-upgrade-to-16.3.9-write");
      assert.match(w.create, /wait_healthy/);
      const stdin = String(revealed(run, "gitlab-upgrade-to-16.3.9-write", "stdin"));
      assert.match(stdin, /image: gitlab\/gitlab-ce:16\.3\.9-ce\.0/);
      assert.match(stdin, /#\s*image: gitlab\/gitlab-ce:16\.0\.6-ce\.0/);
    });

    // Each refused by the preflight's verdict on the server's compose file, before any hop.
    const rejected: [string, Partial<typeof UPGRADE>, RegExp][] = [
      ["a GitLab downgrade", { gitlabImage: "gitlab/gitlab-ce:15.11.13-ce.0" },
        /upgrade\.gitlabImage: gitlab\/gitlab-ce:15\.11\.13-ce\.0 is older than the running gitlab\/gitlab-ce:16\.0\.6-ce\.0: downgrades are not supported/],
      ["a runner downgrade", { runnerImage: "gitlab/gitlab-runner:ubuntu-v16.0.0" },
        /upgrade\.runnerImage: gitlab\/gitlab-runner:ubuntu-v16\.0\.0 is older than the running gitlab\/gitlab-runner:ubuntu-v16\.1\.0/],
      ["GitLab 18 on PostgreSQL 14", { gitlabImage: "gitlab/gitlab-ce:18.2.8-ce.0" },
        /upgrade\.gitlabImage: GitLab 18 needs PostgreSQL 16 or later, and the server's gitlab-db runs postgres:14\.9-alpine/],
    ];
    for (const [what, change, message] of rejected) {
      it(`${what}: runOffline rejects with the problem, raised by the preflight, and nothing is written`, async () => {
        const { error, registered } = await rejectedRun(variant((c) => { c.upgrade = { ...UPGRADE, ...change }; }));
        assert.match(error.message, message);
        assert.match(error.message, /The GitLab upgrade is refused before any hop ran:/);
        assert.match(error.message, /error serializing property "create"/, "surfaced by the SDK while sending the preflight's script");
        assert.ok(registered.includes(cmd("gitlab-upgrade-read")), "the server was read");
        assert.deepEqual(registered.filter((k) => /-write|-preflight|-gate|-backup/.test(k) || /ci-server-(common-env|compose-proxy|docker-daemon-json|docker-dropin|config-toml)/.test(k)), [],
          "no preflight, gate, backup or write, and no later CI-server step, was registered");
        assert.deepEqual(registered.filter((k) => k.startsWith("aws:") && !k.includes("/get")), [], "no AWS resource was registered");
      });
    }

    it("after a rejected run the next run is clean (no leftovers from the failed one)", async () => {
      await rejectedRun(variant((c) => { c.upgrade = { ...UPGRADE, gitlabImage: "gitlab/gitlab-ce:15.11.13-ce.0" }; }));
      const next = await runStack(devStack());
      assert.deepEqual(inventory(next), DEV_INVENTORY);
    });
  });

  describe("(d) instanceProfile credentials", () => {
    const config = variant((c) => {
      c.runner.credentials = "instanceProfile";
      c.runner.managerRoleName = MANAGER_ROLE;
      delete c.workers.iamInstanceProfile;
    });
    let run: OfflineRun;
    before(async () => {
      run = await cachedRun(config);
    });

    it("puts the policy on the CI server's role: a RolePolicy, no user, no user policy, no access key", () => {
      assert.deepEqual(inventory(run), without([...DEV_INVENTORY, `${T.rolePolicy}::runner-manager-policy`].sort(),
        [`${T.user}::runner-user`, `${T.userPolicy}::runner-policy`, `${T.accessKey}::runner-key-1`]));
      const rp = get(run, T.rolePolicy, "runner-manager-policy");
      assert.equal(rp.parent, `${T.credentials}::runner`);
      assert.equal(rp.inputs.role, MANAGER_ROLE);
      const actions: string[] = JSON.parse(rp.inputs.policy).Statement.flatMap((s: any) => s.Action);
      assert.ok(actions.includes("ec2:RunInstances"));
      assert.ok(!actions.some((a) => a === "ec2:*" || a.startsWith("iam:")), "no worker profile: no PassRole");
    });

    it("config.toml gets no access-key options (summary nor file) and no key output", () => {
      const summary = configTomlSummary(run);
      assert.deepEqual(summary.filter((l) => /amazonec2-(access|secret)-key/.test(l)), []);
      assert.doesNotMatch(String(revealed(run, "ci-server-config-toml-write", "stdin")), /amazonec2-(access|secret)-key/);
      assert.ok(!everything(run).includes(TEST_PROVIDER_SECRET));
      assert.equal(run.outputs.accessKeyId, undefined);
      assert.equal(run.outputs.iamUserName, undefined);
      assert.match(String(run.outputs.summary), new RegExp(`It uses the CI server's role ${MANAGER_ROLE}\\.`));
    });

    it("169.254.169.254 (IMDS) is in NO_PROXY: common.env, the docker drop-in and the workers' engine-env", () => {
      const commonEnv = inputsOf(run, T.command, "ci-server-common-env-write").create;
      assert.ok(commonEnv.includes(`# NO_PROXY=${NO_PROXY}\n`));
      assert.ok(String(revealed(run, "ci-server-docker-dropin-write", "stdin")).includes(`Environment="NO_PROXY=${NO_PROXY}"`));
      assert.ok(configTomlSummary(run).includes(`MachineOptions: engine-env=NO_PROXY=${NO_PROXY}`));
    });

    it("…whereas an access key without any instance role leaves IMDS out of NO_PROXY", async () => {
      const plain = await cachedRun(variant((c) => { delete c.workers.iamInstanceProfile; }));
      assert.ok(configTomlSummary(plain).includes("MachineOptions: engine-env=NO_PROXY=localhost,127.0.0.1,192.0.2.3,192.0.2.0/24"));
      assert.ok(!everything(plain).includes("169.254.169.254"));
    });

    it("with a worker profile as well, the role policy passes only that profile's role", async () => {
      const both = await cachedRun(variant((c) => { c.workers.iamInstanceProfile = "example-worker-profile"; }, config));
      const statements: any[] = JSON.parse(get(both, T.rolePolicy, "runner-manager-policy").inputs.policy).Statement;
      const pass = statements.filter((s) => s.Action.includes("iam:PassRole"));
      assert.deepEqual(pass.map((s) => s.Resource), ["arn:aws:iam::123456789012:role/example-worker-profile"]);
    });
  });

  describe("(e) an existing AMI", () => {
    let run: OfflineRun;
    before(async () => {
      run = await cachedRun(variant((c) => { c.ami.existingAmi = EXISTING_AMI; }));
    });

    it("builds nothing: no ProxyAmi and none of its children", () => {
      const amiParts = DEV_INVENTORY.filter((k) => k.startsWith(`${T.proxyAmi}::`) || k.includes("::worker-ami-"));
      assert.equal(amiParts.length, 14, "the component, 7 AWS resources, 6 steps");
      assert.deepEqual(inventory(run), without(DEV_INVENTORY, amiParts));
      assert.equal(run.engine.resources.filter((r) => r.parent === `${T.proxyAmi}::worker-ami`).length, 0);
      for (const t of [T.instance, T.amiFromInstance, T.keyPair, T.instanceState, T.securityGroup, T.egress]) assert.equal(ofType(run, t).length, 0, t);
    });

    it("the workers boot that AMI: config.toml summary, the written file and the outputs", () => {
      assert.ok(configTomlSummary(run).includes(`MachineOptions: amazonec2-ami=${EXISTING_AMI}`));
      assert.ok(String(revealed(run, "ci-server-config-toml-write", "stdin")).includes(`"amazonec2-ami=${EXISTING_AMI}"`));
      assert.equal(run.outputs.amiId, EXISTING_AMI);
      assert.match(String(run.outputs.summary), new RegExp(`^Workers boot ${EXISTING_AMI} `));
    });
  });
});
