// core/remote/reverseEdit.ts: the hunks that undo a managed edit, exact output on the real fixtures.
// The awk that applies them on the server is run for real in reverseApply.test.ts.
import { strict as assert } from "node:assert";
import { setEnvVars } from "../../../core/ciServer/commonEnv/commonEnv";
import { editCompose } from "../../../core/ciServer/compose/composeFile";
import { mergeRunnerConfig } from "../../../core/ciServer/configToml/configToml";
import { sha256Hex } from "../../../core/remote/readResult";
import { formatReverse, joinLines, labelOf, lineDiff, lineKeys, reverseEdit, reverseHunks, splitLines } from "../../../core/remote/reverseEdit";
import { fixture } from "../../helpers/fixtures";
import { SMALL_EDIT } from "../../helpers/smallEdit";

const labels = (format: Parameters<typeof reverseHunks>[0], written: string, previous: string) =>
  reverseHunks(format, written, previous).map((h) => h.label);

describe("core/remote/reverseEdit", () => {
  it("splitLines/joinLines round-trip CRLF, a missing final newline and empty lines", () => {
    for (const t of ["", "a", "a\n", "a\r\nb\r\n", "a\n\n", "\n", "x\r\ny"]) assert.equal(joinLines(splitLines(t)), t);
    assert.deepEqual(splitLines("a\r\nb"), [{ text: "a\r", nl: true }, { text: "b", nl: false }]);
  });

  it("lineDiff: prefix, suffix and the LCS of the middle", () => {
    assert.deepEqual(lineDiff(["a", "b", "c"], ["a", "c"]), ["=", "-", "="]);
    assert.deepEqual(lineDiff(["a", "c"], ["a", "b", "c"]), ["=", "+", "="]);
    assert.deepEqual(lineDiff(["a", "x", "c", "y"], ["a", "c", "z"]), ["=", "-", "=", "-", "+"]);
    assert.deepEqual(lineDiff([], []), []);
  });

  it("names the key of each line: env, YAML paths, TOML tables and multi-line arrays", () => {
    assert.deepEqual(lineKeys("env", ["# c", "export A=1", "B: 2", "c=3"]), ["(not a variable line)", "A", "B", "c"]);
    assert.deepEqual(lineKeys("yaml", ["services:", "  r:", "    env_file:", "    - a", "      - b", "    image: x", "  g:", "    # c"]),
      ["services", "services.r", "services.r.env_file", "services.r.env_file", "services.r.env_file", "services.r.image", "services.g", "services.g"]);
    assert.deepEqual(lineKeys("toml", [
      "concurrent = 1", "[[runners]]", "  name = \"a b\"", "  x = [", "    \"]\", # ]", "  ]", "  [runners.machine]", "    IdleTime = 1",
      "[[runners]]", "  executor = \"docker\"",
    ]), [
      "concurrent", "[[runners]] \"a b\"", "[[runners]] \"a b\" name", "[[runners]] \"a b\" x", "[[runners]] \"a b\" x", "[[runners]] \"a b\" x",
      "[[runners]] \"a b\" [runners.machine]", "[[runners]] \"a b\" [runners.machine] IdleTime", "[[runners]] #2", "[[runners]] #2 executor",
    ]);
    assert.deepEqual(lineKeys("lines", ["a", "b"]), ["line 1", "line 2"]);
  });

  it("labels name a table once", () => {
    assert.equal(labelOf(["T", "T a", "T b", "T a"]), "T a, b");
    assert.equal(labelOf(["NO_PROXY", "no_proxy"]), "NO_PROXY, no_proxy");
    assert.equal(labelOf(["concurrent"]), "concurrent");
  });

  it("common.env: removes NO_PROXY/no_proxy, and the final newline pulumi added after TZ if TZ still ends the file", () => {
    const before = fixture("collaborage/common.env");
    const written = setEnvVars(before, { NO_PROXY: "localhost,127.0.0.1", no_proxy: "localhost,127.0.0.1" });
    assert.equal(reverseEdit("env", written, before), [
      `gra-reverse v1 ${sha256Hex(written)}`,
      "$TZ=Asia/Tokyo",
      "@NO_PROXY, no_proxy",
      " http_proxy=env-http-proxy-here",
      " https_proxy=env-https-proxy-here",
      " TZ=Asia/Tokyo",
      "-NO_PROXY\tNO_PROXY=localhost,127.0.0.1",
      "-no_proxy\tno_proxy=localhost,127.0.0.1",
      "",
    ].join("\n"));
    const crlf = before.replace(/\n/g, "\r\n");
    assert.deepEqual(reverseEdit("env", setEnvVars(crlf, { NO_PROXY: "a" }), crlf).split("\n").slice(1, 3), ["%TZ=Asia/Tokyo", "@NO_PROXY"]);
    // Both without a final newline: the last line carries a `\` record instead.
    assert.deepEqual(reverseEdit("lines", "a\nb", "a\nc").split("\n").slice(1), ["@line 2", " a", "-line 2\tb", "\\", "+c", "\\", ""]);
  });

  it("docker-compose.yml: removes the env_file line of gitlab-runner", () => {
    const before = fixture("collaborage/ci-docker-compose.yml");
    const written = editCompose(before, { envFile: { service: "gitlab-runner", file: "./common.env" } }).text;
    assert.equal(formatReverse(sha256Hex(written), reverseHunks("yaml", written, before)), [
      `gra-reverse v1 ${sha256Hex(written)}`,
      "@services.gitlab-runner.env_file",
      "     container_name: gitlab-runner",
      "     image: gitlab/gitlab-runner:ubuntu-v16.1.0",
      "     restart: always",
      "-services.gitlab-runner.env_file\t    env_file: ./common.env",
      "     volumes:",
      "       - ~/.docker/:/root/.docker/",
      "       - /data/gitlab-runner/config:/etc/gitlab-runner",
      "",
    ].join("\n"));
  });

  it("config.toml (Collaborage): concurrent and executor back, the [runners.machine] table removed", () => {
    const before = fixture("collaborage/config.toml");
    const written = mergeRunnerConfig(before, SMALL_EDIT);
    const m = '[[runners]] "0123456789ab" [runners.machine]';
    assert.equal(formatReverse(sha256Hex(written), reverseHunks("toml", written, before)), [
      `gra-reverse v1 ${sha256Hex(written)}`,
      "@concurrent",
      ' #   clone_url = "http://<CI server IP>/gitlab" and pull_policy = ["if-not-present", "always"].',
      " # Header/cache/docker keys follow what gitlab-runner 15.8+ writes on register; exact key order,",
      " # and whether the empty tables are present, vary by runner version. 192.0.2.3 is the doc's example CI server IP.",
      "-concurrent\tconcurrent = 3",
      "+concurrent = 1",
      " check_interval = 0",
      " shutdown_timeout = 0",
      " ",
      '@[[runners]] "0123456789ab" executor',
      '   token = "glrt-REDACTED"',
      "   token_obtained_at = 2023-09-25T00:00:00Z",
      "   token_expires_at = 0001-01-01T00:00:00Z",
      '-[[runners]] "0123456789ab" executor\t  executor = "docker+machine"',
      '+  executor = "docker"',
      '   clone_url = "http://192.0.2.3/gitlab"',
      "   [runners.custom_build_dir]",
      "   [runners.cache]",
      `@${m} IdleCount, IdleTime, MaxBuilds, MachineDriver, MachineName, MachineOptions`,
      "     [runners.cache.s3]",
      "     [runners.cache.gcs]",
      "     [runners.cache.azure]",
      `-${m}\t  [runners.machine]`,
      `-${m} IdleCount\t    IdleCount = 0`,
      `-${m} IdleTime\t    IdleTime = 1800`,
      `-${m} MaxBuilds\t    MaxBuilds = 100`,
      `-${m} MachineDriver\t    MachineDriver = "amazonec2"`,
      `-${m} MachineName\t    MachineName = "gitlab-docker-machine-%s"`,
      `-${m} MachineOptions\t    MachineOptions = [`,
      `-${m} MachineOptions\t      "amazonec2-access-key=ACCESS_KEY",`,
      `-${m} MachineOptions\t      "amazonec2-secret-key=SECRET_KEY",`,
      `-${m} MachineOptions\t    ]`,
      "   [runners.docker]",
      "     tls_verify = false",
      '     image = "maven:3.9.3-amazoncorretto-17-debian"',
      "",
    ].join("\n"));
  });

  it("config.toml (each runner-config fixture): the hunks name the managed keys they undo", () => {
    const r = (name: string) => `[[runners]] ${JSON.stringify(name)}`;
    const cases: Record<string, string[]> = {
      "gitlab-docs-autoscale-complete.toml": [
        "concurrent",
        `${r("autoscale-runner")} [runners.machine] IdleCount, IdleTime, MaxBuilds, MachineDriver, MachineName`,
        `${r("autoscale-runner")} [runners.machine] MachineOptions`,
        `${r("autoscale-runner")} [[runners.machine.autoscaling]] Periods, IdleCount, IdleCountMin, IdleScaleFactor, IdleTime, Timezone`,
      ],
      "gitlab-docs-docker-autoscaler-aws.toml": [
        "concurrent",
        `${r("docker autoscaler example")} executor`,
        `${r("docker autoscaler example")} [runners.machine] IdleCount, IdleTime, MaxBuilds, MachineDriver, MachineName, MachineOptions`,
      ],
      "gitlab-docs-runner-autoscale-aws.toml": [
        "concurrent",
        `${r("gitlab-aws-autoscaler")} [runners.machine] IdleCount`,
        `${r("gitlab-aws-autoscaler")} [runners.machine] MachineOptions`,
        `${r("gitlab-aws-autoscaler")} [[runners.machine.autoscaling]] Periods, IdleCount, IdleTime, Timezone`,
      ],
      "pepperize-cdk-snapshot-docker-machine.toml": [
        "concurrent",
        `${r("gitlab-runner")} [runners.machine] IdleTime, MaxBuilds`,
        `${r("gitlab-runner")} [runners.machine] MachineName`,
        `${r("gitlab-runner")} [runners.machine] MachineOptions`,
      ],
    };
    for (const [file, want] of Object.entries(cases)) {
      const before = fixture(`runner-config/${file}`);
      assert.deepEqual(labels("toml", mergeRunnerConfig(before, SMALL_EDIT), before), want, file);
    }
  });

  it("equal texts need no hunk; a pure removal of a duplicate is put back by its context", () => {
    assert.deepEqual(reverseHunks("env", "A=1\n", "A=1\n"), []);
    const before = "A=1\nNO_PROXY=x\nB=2\nNO_PROXY=y\nC=3\n";
    const written = setEnvVars(before, { NO_PROXY: "z" });
    assert.deepEqual(reverseHunks("env", written, before), [
      { label: "NO_PROXY", before: [{ text: "A=1", nl: true }], remove: [{ line: { text: "NO_PROXY=z", nl: true }, key: "NO_PROXY" }], insert: [{ text: "NO_PROXY=x", nl: true }], after: [{ text: "B=2", nl: true }, { text: "C=3", nl: true }] },
      { label: "NO_PROXY", before: [{ text: "A=1", nl: true }, { text: "NO_PROXY=z", nl: true }, { text: "B=2", nl: true }], remove: [], insert: [{ text: "NO_PROXY=y", nl: true }], after: [{ text: "C=3", nl: true }] },
    ]);
  });

  it("refuses a label or key that would break the line format", () => {
    const h = reverseHunks("lines", "a\n", "b\n");
    assert.throws(() => formatReverse(sha256Hex("a\n"), [{ ...h[0], label: "x\ny" }]), /one line/);
    assert.throws(() => formatReverse("nope", h), /not a sha256/);
  });
});
