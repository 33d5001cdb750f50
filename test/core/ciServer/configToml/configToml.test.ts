import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  ConfigTomlError,
  formatTomlValue,
  managedKeys,
  mergeRunnerConfig,
  RunnerMachineEdit,
} from "../../../../core/ciServer/configToml/configToml";
import { tomllibParse } from "../../../helpers/tomllib";

// The project's own fixtures (origins in test/fixtures/*/SOURCES.md).
const FIXTURES = path.resolve(__dirname, "../../../fixtures");
const read = (rel: string) => fs.readFileSync(path.join(FIXTURES, rel), "utf8");

// The 16 MachineOptions of the runbook example, as in fixtures/collaborage/config.autoscaling.toml.
const RUNBOOK_OPTIONS = [
  "amazonec2-access-key=ACCESS_KEY",
  "amazonec2-secret-key=SECRET_KEY",
  "amazonec2-ami=ami-0a3eb6ca097b78895",
  "amazonec2-instance-type=t2.micro",
  "amazonec2-region=ap-northeast-1",
  "amazonec2-zone=a",
  "amazonec2-vpc-id=VPC_ID",
  "amazonec2-subnet-id=SUBNET_ID",
  "amazonec2-private-address-only=true",
  "amazonec2-use-private-address=true",
  "amazonec2-tags=runner-manager-name,gitlab-aws-autoscaler,gitlab,true,gitlab-runner-autoscale,true",
  "amazonec2-security-group=SECURITY_GROUP_NAME",
  "amazonec2-iam-instance-profile=ROLE_NAME",
  "amazonec2-security-group-readonly=true",
  "amazonec2-request-spot-instance=true",
  "engine-insecure-registry=192.0.2.3:19081",
];

const RUNBOOK_EDIT: RunnerMachineEdit = {
  concurrent: 3,
  executor: "docker+machine",
  machine: {
    IdleCount: 0,
    IdleTime: 1800,
    MaxBuilds: 100,
    MachineDriver: "amazonec2",
    MachineName: "gitlab-docker-machine-%s",
    MachineOptions: RUNBOOK_OPTIONS,
    autoscaling: [],
  },
};

const AUTOSCALING = [
  { Periods: ["* * 9-17 * * mon-fri *"], IdleCount: 2, IdleTime: 3600, Timezone: "Asia/Tokyo" },
  { Periods: ["* * * * * sat,sun *", "* * 0-8 * * * *"], IdleCount: 0, IdleTime: 600, Timezone: "UTC" },
];

// Everything the edit can write: limit and autoscaling entries too.
const FULL_EDIT: RunnerMachineEdit = {
  ...RUNBOOK_EDIT,
  limit: 4,
  machine: { ...RUNBOOK_EDIT.machine, autoscaling: AUTOSCALING },
};

// What the runbook step inserts into the Collaborage config.toml, byte for byte.
const RUNBOOK_BLOCK = `  [runners.machine]
    IdleCount = 0
    IdleTime = 1800
    MaxBuilds = 100
    MachineDriver = "amazonec2"
    MachineName = "gitlab-docker-machine-%s"
    MachineOptions = [
      "amazonec2-access-key=ACCESS_KEY",
      "amazonec2-secret-key=SECRET_KEY",
      "amazonec2-ami=ami-0a3eb6ca097b78895",
      "amazonec2-instance-type=t2.micro",
      "amazonec2-region=ap-northeast-1",
      "amazonec2-zone=a",
      "amazonec2-vpc-id=VPC_ID",
      "amazonec2-subnet-id=SUBNET_ID",
      "amazonec2-private-address-only=true",
      "amazonec2-use-private-address=true",
      "amazonec2-tags=runner-manager-name,gitlab-aws-autoscaler,gitlab,true,gitlab-runner-autoscale,true",
      "amazonec2-security-group=SECURITY_GROUP_NAME",
      "amazonec2-iam-instance-profile=ROLE_NAME",
      "amazonec2-security-group-readonly=true",
      "amazonec2-request-spot-instance=true",
      "engine-insecure-registry=192.0.2.3:19081",
    ]
`;

const AUTOSCALING_BLOCK = `    [[runners.machine.autoscaling]]
      Periods = ["* * 9-17 * * mon-fri *"]
      IdleCount = 2
      IdleTime = 3600
      Timezone = "Asia/Tokyo"
    [[runners.machine.autoscaling]]
      Periods = ["* * * * * sat,sun *", "* * 0-8 * * * *"]
      IdleCount = 0
      IdleTime = 600
      Timezone = "UTC"
`;

/** Drop the fixture's leading `#` header comment lines. */
const body = (text: string) => text.replace(/^(#[^\n]*\n)+/, "");

/** `sub` occurs in `all` in order (other lines may be interleaved). */
function assertSubsequence(sub: string[], all: string[], what: string): void {
  let i = 0;
  for (const line of all) if (i < sub.length && line === sub[i]) i++;
  assert.equal(i, sub.length, `${what}: line ${JSON.stringify(sub[i])} is missing or out of order`);
}

/**
 * Lines of `text` that the merge may rewrite: the global concurrent, the runners'
 * executor/limit, and any [runners.machine] or [runners.autoscaler] table with its sub-tables.
 */
function managedLineMask(text: string): boolean[] {
  let inMachine = false;
  let beforeTables = true;
  return text.split(/\r?\n/).map((line) => {
    const t = line.trim();
    if (/^\[/.test(t)) {
      beforeTables = false;
      inMachine = /^\[\[?runners\.(machine|autoscaler)[\].]/.test(t);
      return inMachine;
    }
    if (inMachine) return true;
    if (beforeTables) return /^concurrent\s*=/.test(t);
    return /^(executor|limit)\s*=/.test(t);
  });
}

/** Leaf path -> JSON value, e.g. "runners.0.machine.IdleTime" -> "1800". */
function leaves(v: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) leaves(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(v));
  }
  return out;
}

function untouchedLines(text: string): string[] {
  const mask = managedLineMask(text);
  return text.split(/\r?\n/).filter((_, i) => !mask[i]);
}

/** The tomllib view of the runner table the edit should produce. */
function expectedMachine(edit: RunnerMachineEdit): Record<string, unknown> {
  const { autoscaling, ...keys } = edit.machine;
  return autoscaling.length > 0 ? { ...keys, autoscaling } : { ...keys };
}

const RUNNER_FIXTURES = fs
  .readdirSync(path.join(FIXTURES, "runner-config"))
  .filter((f) => /^(gitlab-docs|pepperize)-.*\.toml$/.test(f))
  .filter((f) => /^\s*\[\[runners\]\]/m.test(read(`runner-config/${f}`)))
  .sort();

describe("core/ciServer/configToml/configToml mergeRunnerConfig", () => {
  describe("Collaborage config.toml + the runbook values", () => {
    const input = read("collaborage/config.toml");
    const target = read("collaborage/config.autoscaling.toml");
    let out: string;
    before(() => {
      out = mergeRunnerConfig(input, RUNBOOK_EDIT);
    });

    it("uses exactly the 16 MachineOptions of the target fixture", () => {
      assert.deepEqual(tomllibParse(target).value.runners[0].machine.MachineOptions, RUNBOOK_OPTIONS);
    });

    it("parses (tomllib) to the same document as config.autoscaling.toml", () => {
      assert.deepEqual(tomllibParse(out).value, tomllibParse(target).value);
    });

    it("is byte-identical to config.autoscaling.toml below the header comments", () => {
      assert.equal(body(out), body(target));
    });

    it("changes two lines in place and inserts the exact block after the whole [runners.cache] block", () => {
      const expected = input
        .replace("\nconcurrent = 1\n", "\nconcurrent = 3\n")
        .replace('\n  executor = "docker"\n', '\n  executor = "docker+machine"\n')
        .replace("    [runners.cache.azure]\n", "    [runners.cache.azure]\n" + RUNBOOK_BLOCK);
      assert.equal(out, expected);
      assert.ok(out.includes("    [runners.cache.azure]\n" + RUNBOOK_BLOCK + "  [runners.docker]\n"));
    });

    it("keeps every line outside the managed keys unchanged and in order", () => {
      assertSubsequence(untouchedLines(input), out.split("\n"), "collaborage");
      for (const kept of ["  token_expires_at = 0001-01-01T00:00:00Z", '  clone_url = "http://192.0.2.3/gitlab"']) {
        assert.ok(out.split("\n").includes(kept), kept);
      }
    });

    it("is idempotent", () => {
      assert.equal(mergeRunnerConfig(out, RUNBOOK_EDIT), out);
    });
  });

  describe("runner-config fixtures (idempotence, types, untouched lines)", () => {
    it("finds the runner-config fixtures that have a [[runners]]", () => {
      assert.ok(RUNNER_FIXTURES.length >= 4, `only ${RUNNER_FIXTURES.join(", ")}`);
    });

    for (const file of RUNNER_FIXTURES) {
      for (const [label, edit] of [
        ["runbook edit", RUNBOOK_EDIT],
        ["edit with limit + autoscaling", FULL_EDIT],
      ] as const) {
        it(`${file}: ${label}`, () => {
          const input = read(`runner-config/${file}`);
          const out = mergeRunnerConfig(input, edit);
          assert.equal(mergeRunnerConfig(out, edit), out, "not idempotent");

          // Semantics: the input document with exactly the managed values replaced.
          const before = tomllibParse(input);
          const after = tomllibParse(out);
          const expected = structuredClone(before.value);
          expected.concurrent = edit.concurrent;
          expected.runners[0].executor = edit.executor;
          if (edit.limit !== undefined) expected.runners[0].limit = edit.limit;
          expected.runners[0].machine = expectedMachine(edit);
          // A docker-autoscaler runner's [runners.autoscaler] goes (a move back to docker+machine).
          delete expected.runners[0].autoscaler;
          assert.deepEqual(after.value, expected);

          // Types of everything unmanaged survive (floats stay floats, dates stay dates).
          const managed = /^(concurrent|runners\.0\.(executor|limit|machine(\..*)?|autoscaler(\..*)?))$/;
          for (const [p, type] of Object.entries(before.types)) {
            if (!managed.test(p)) assert.equal(after.types[p], type, p);
          }

          // Lines the merge wrote never use digit separators; untouched lines are kept in order.
          const inputLines = new Set(input.split("\n"));
          for (const line of out.split("\n").filter((l) => !inputLines.has(l))) {
            assert.doesNotMatch(line, /\d_\d/, line);
          }
          assertSubsequence(untouchedLines(input), out.split("\n"), file);
        });
      }
    }

    it("replaces an existing [runners.machine] (before [runners.cache]) in place", () => {
      const input = read("runner-config/gitlab-docs-autoscale-complete.toml");
      const out = mergeRunnerConfig(input, RUNBOOK_EDIT);
      const at = (text: string, h: string) => text.split("\n").findIndex((l) => l.trim() === h);
      assert.equal(at(out, "[runners.machine]"), at(input, "[runners.machine]"));
      assert.ok(at(out, "[runners.machine]") < at(out, "[runners.cache]"));
      assert.equal(out.match(/\[runners\.machine\]/g)?.length, 1);
      assert.doesNotMatch(body(out), /runners\.machine\.autoscaling|google/);
      assert.match(out, /^concurrent = 3   # All registered runners can run up to 50 concurrent jobs$/m);
      assert.match(out, /^ {2}executor = "docker\+machine" {8}# This runner is using/m);
    });

    it("keeps pepperize's digit separators outside the managed table and drops the one inside", () => {
      const input = read("runner-config/pepperize-cdk-snapshot-docker-machine.toml");
      const out = mergeRunnerConfig(input, FULL_EDIT);
      assert.match(out, /^output_limit = 52_428_800$/m);
      assert.doesNotMatch(body(out), /1_800/);
      assert.match(out, /^limit = 4$/m);
    });

    it("appends [runners.machine] at the end of a runner without [runners.cache]", () => {
      const input = 'concurrent = 1\n\n[[runners]]\n  name = "a"\n  executor = "shell"\n  [runners.docker]\n    image = "alpine"\n';
      const out = mergeRunnerConfig(input, RUNBOOK_EDIT);
      assert.equal(out, input.replace("concurrent = 1", "concurrent = 3").replace('"shell"', '"docker+machine"') + RUNBOOK_BLOCK);
    });

    it("a docker-autoscaler runner (a move back): [runners.autoscaler] and its sub-tables give way to [runners.machine], the rest stays", () => {
      const input = read("runner-config/gitlab-docs-docker-autoscaler-aws.toml");
      const out = mergeRunnerConfig(input, RUNBOOK_EDIT);
      const head = input.slice(0, input.indexOf("  [runners.autoscaler]"));
      assert.equal(out, head.replace('concurrent = 10', 'concurrent = 3').replace('executor = "docker-autoscaler"', 'executor = "docker+machine"') + RUNBOOK_BLOCK);
      assert.equal(mergeRunnerConfig(out, RUNBOOK_EDIT), out);
    });

    it("adds a blank line before the new table in files that space their tables", () => {
      const full = read("runner-config/pepperize-cdk-snapshot-docker-machine.toml");
      const input = full.slice(0, full.indexOf("  [runners.machine]")); // ends with a blank line
      const out = mergeRunnerConfig(input, RUNBOOK_EDIT);
      assert.ok(out.includes('    AccessKey = "ACCESS_KEY_REDACTED_IN_FIXTURE"\n\n  [runners.machine]\n  IdleCount = 0\n'), out);
      assert.ok(out.endsWith('  "engine-insecure-registry=192.0.2.3:19081",\n  ]\n\n'), out);
      assert.equal(mergeRunnerConfig(out, RUNBOOK_EDIT), out);
    });

    it("keeps floats outside the managed keys as written (1.0 stays 1.0)", () => {
      const input = [
        "concurrent = 1",
        "[[runners]]",
        '  name = "r"',
        '  executor = "docker"',
        "  [runners.docker]",
        "    ratio = 1.0",
        "    factor = 1.5e3",
        "    count = 1_000",
        "  [runners.machine]",
        "    IdleScaleFactor = 1.5",
        "",
      ].join("\n");
      const out = mergeRunnerConfig(input, RUNBOOK_EDIT);
      for (const line of ["    ratio = 1.0", "    factor = 1.5e3", "    count = 1_000"]) {
        assert.ok(out.split("\n").includes(line), line);
      }
      const types = tomllibParse(out).types;
      assert.equal(types["runners.0.docker.ratio"], "float");
      assert.equal(types["runners.0.docker.factor"], "float");
      assert.equal(types["runners.0.docker.count"], "int");
      assert.equal(types["runners.0.machine.IdleTime"], "int");
    });
  });

  describe("several [[runners]]", () => {
    const ALPHA = [
      "[[runners]]",
      '  name = "alpha"',
      '  url = "https://gitlab.example.com"',
      '  token = "glrt-aaa"',
      '  executor = "shell"',
      "  [runners.docker]",
      '    image = "alpine"',
      "",
    ].join("\n");
    const BETA = [
      "[[runners]]",
      '  name = "beta"',
      '  url = "https://gitlab.example.com"',
      '  token = "glrt-bbb"',
      '  executor = "docker"',
      "  [runners.cache]",
      "    MaxUploadedArchiveSize = 0",
      "    [runners.cache.s3]",
      "  [runners.docker]",
      '    image = "maven"',
      "",
    ].join("\n");
    const HEAD = "concurrent = 4\ncheck_interval = 0\n\n";
    const input = HEAD + ALPHA + BETA;

    it("changes only the selected runner (second one)", () => {
      const out = mergeRunnerConfig(input, { ...RUNBOOK_EDIT, runnerName: "beta" });
      assert.ok(out.startsWith("concurrent = 3\ncheck_interval = 0\n\n" + ALPHA), out);
      assert.ok(out.includes("    [runners.cache.s3]\n" + RUNBOOK_BLOCK + "  [runners.docker]\n"));
      const [a, b] = tomllibParse(out).value.runners;
      assert.deepEqual(a, tomllibParse(input).value.runners[0]);
      assert.equal(b.executor, "docker+machine");
      assert.deepEqual(b.machine, expectedMachine(RUNBOOK_EDIT));
    });

    it("changes only the selected runner (first one, no cache: machine goes at its end)", () => {
      const out = mergeRunnerConfig(input, { ...RUNBOOK_EDIT, runnerName: "alpha" });
      assert.ok(out.endsWith('    image = "alpine"\n' + RUNBOOK_BLOCK + BETA), out);
      const [a, b] = tomllibParse(out).value.runners;
      assert.equal(a.executor, "docker+machine");
      assert.deepEqual(b, tomllibParse(input).value.runners[1]);
      assert.equal(mergeRunnerConfig(out, { ...RUNBOOK_EDIT, runnerName: "alpha" }), out);
    });

    it("refuses to guess without runner.name: names the stack key, lists the names, gives the command", () => {
      assert.throws(() => mergeRunnerConfig(input, RUNBOOK_EDIT), (e: Error) => e instanceof ConfigTomlError && e.message ===
        `config.toml has 2 [[runners]] ("alpha", "beta"); set runner.name to the one to convert, e.g. pulumi config set --path runner.name 'alpha'`);
    });

    it("reports a runner.name that matches no runner, with the names found and the command", () => {
      assert.throws(() => mergeRunnerConfig(input, { ...RUNBOOK_EDIT, runnerName: "gamma" }), (e: Error) => e instanceof ConfigTomlError && e.message ===
        `runner.name is "gamma", but config.toml has no [[runners]] of that name; found: "alpha", "beta". Pick one, e.g. pulumi config set --path runner.name 'alpha'`);
    });

    it("quotes a runner name for the shell in the suggested command", () => {
      const odd = HEAD + ALPHA.replace('name = "alpha"', `name = "it's"`) + BETA;
      assert.throws(() => mergeRunnerConfig(odd, RUNBOOK_EDIT), (e: Error) => e.message.endsWith(`pulumi config set --path runner.name 'it'\\''s'`));
    });

    it("reports two runners with the same name as ambiguous", () => {
      assert.throws(
        () => mergeRunnerConfig(HEAD + ALPHA + ALPHA, { ...RUNBOOK_EDIT, runnerName: "alpha" }),
        (e: Error) => e instanceof ConfigTomlError && /^runner\.name "alpha" names 2 \[\[runners\]\] in config\.toml/.test(e.message),
      );
    });

    it("reports a config without [[runners]] and unparsable TOML", () => {
      assert.throws(() => mergeRunnerConfig("concurrent = 1\n", RUNBOOK_EDIT), /no \[\[runners\]\]/);
      assert.throws(() => mergeRunnerConfig("concurrent = 1\n", RUNBOOK_EDIT), ConfigTomlError);
      assert.throws(() => mergeRunnerConfig("concurrent = \n[[runners]]\n", RUNBOOK_EDIT), /not valid TOML/);
      // The parser quotes the lines around the error; they may hold the runner's token or a proxy password.
      assert.throws(() => mergeRunnerConfig('[[runners]]\n  token = "glrt-CANARY-token"\n  url = "http://u:CANARY-pw@h"\n  x = = 1\n', RUNBOOK_EDIT),
        (e: Error) => /^config\.toml is not valid TOML: .* at row 4, col \d+, pos \d+:$/.test(e.message) && !/CANARY/.test(e.message));
      assert.throws(() => mergeRunnerConfig("concurrent = \n[[runners]]\n", RUNBOOK_EDIT), ConfigTomlError);
    });

    it("does not take lines inside multi-line strings for table headers", () => {
      const text = [
        "concurrent = 1",
        "[[runners]]",
        '  name = "only"',
        '  pre_build_script = """',
        "[[runners]]",
        '[runners.machine] \\""" still inside',
        '"""',
        "  post_build_script = '''",
        "[runners.cache]",
        "'''",
        '  executor = "docker"',
        "  [runners.cache]",
        "",
      ].join("\n");
      const out = mergeRunnerConfig(text, RUNBOOK_EDIT);
      const runner = tomllibParse(out).value.runners[0];
      assert.equal(runner.pre_build_script, '[[runners]]\n[runners.machine] """ still inside\n');
      assert.equal(runner.post_build_script, "[runners.cache]\n");
      assert.equal(runner.executor, "docker+machine");
      assert.ok(out.endsWith("  [runners.cache]\n" + RUNBOOK_BLOCK), out);
    });
  });

  describe("the operator's own keys in an existing [runners.machine]", () => {
    const input = [
      "concurrent = 1",
      "[[runners]]",
      '  name = "r"',
      '  executor = "docker"',
      "  [runners.machine]",
      "    IdleCount = 2",
      "    MaxGrowthRate = 3",
      "    IdleScaleFactor = 1.0",
      '    MachineName = "old-%s"',
      "  [runners.docker]",
      '    image = "alpine"',
      "",
    ].join("\n");

    it("keeps them (floats as floats) and replaces only the managed keys", () => {
      const out = mergeRunnerConfig(input, RUNBOOK_EDIT);
      const { value, types } = tomllibParse(out);
      const machine = value.runners[0].machine;
      assert.equal(machine.MaxGrowthRate, 3);
      assert.equal(machine.IdleScaleFactor, 1.0);
      assert.equal(types["runners[0].machine.IdleScaleFactor"] ?? types["runners.0.machine.IdleScaleFactor"] ?? Object.entries(types).find(([k]) => k.endsWith("IdleScaleFactor"))?.[1], "float");
      assert.equal(machine.IdleCount, 0);
      assert.equal(machine.MachineName, "gitlab-docker-machine-%s");
      assert.match(out, /\n    IdleScaleFactor = 1\.0\n/);
      assert.equal(mergeRunnerConfig(out, RUNBOOK_EDIT), out, "idempotent");
    });
  });

  describe("line endings, comments, escaping", () => {
    const input = read("collaborage/config.toml");
    let lfOut: string;
    before(() => {
      lfOut = mergeRunnerConfig(input, RUNBOOK_EDIT);
    });

    it("keeps CRLF line endings, also on the inserted lines", () => {
      const out = mergeRunnerConfig(input.replace(/\n/g, "\r\n"), RUNBOOK_EDIT);
      assert.equal(out, lfOut.replace(/\n/g, "\r\n"));
      assert.doesNotMatch(out, /[^\r]\n/);
    });

    it("keeps a missing final newline", () => {
      const out = mergeRunnerConfig(input.trimEnd(), RUNBOOK_EDIT);
      assert.equal(out, lfOut.trimEnd());
      // Insertion at the very end and replacement of the very last table.
      for (const f of ["gitlab-docs-docker-autoscaler-aws.toml", "gitlab-docs-runner-autoscale-aws.toml"]) {
        const text = read(`runner-config/${f}`);
        const noEol = mergeRunnerConfig(text.trimEnd(), FULL_EDIT);
        assert.equal(noEol, mergeRunnerConfig(text, FULL_EDIT).trimEnd(), f);
        tomllibParse(noEol);
      }
    });

    it("keeps an inline comment after concurrent", () => {
      const text = 'concurrent = 1 # jobs\n[[runners]]\n  name = "r"\n  executor = "docker"\n';
      assert.match(mergeRunnerConfig(text, RUNBOOK_EDIT), /^concurrent = 3 # jobs\n/);
    });

    it("inserts a missing concurrent after the leading comments, before the first table", () => {
      const text = '# my runner\n\n[[runners]]\n  name = "r"\n  executor = "docker"\n';
      const out = mergeRunnerConfig(text, RUNBOOK_EDIT);
      assert.ok(out.startsWith('# my runner\nconcurrent = 3\n\n[[runners]]\n  name = "r"\n'), out);
      const bare = mergeRunnerConfig('[[runners]]\n  name = "r"\n', RUNBOOK_EDIT);
      assert.ok(bare.startsWith('concurrent = 3\n\n[[runners]]\n  name = "r"\n  executor = "docker+machine"\n'), bare);
      assert.equal(mergeRunnerConfig(out, RUNBOOK_EDIT), out);
    });

    it("inserts a missing limit right after executor", () => {
      const text = 'concurrent = 1\n[[runners]]\n  name = "r"\n  executor = "docker"\n  token = "t"\n';
      const out = mergeRunnerConfig(text, FULL_EDIT);
      assert.ok(out.includes('  executor = "docker+machine"\n  limit = 4\n  token = "t"\n'), out);
    });

    it("escapes quotes, backslashes and control characters in MachineOptions", () => {
      const options = ['engine-label=a"b\\c', "engine-env=TAB=\t;NL=\n;BEL=\u0007", "amazonec2-tags=ünïcode"];
      const edit = { ...RUNBOOK_EDIT, machine: { ...RUNBOOK_EDIT.machine, MachineOptions: options } };
      const out = mergeRunnerConfig(input, edit);
      assert.ok(out.includes('      "engine-label=a\\"b\\\\c",\n'), out);
      assert.ok(out.includes('      "engine-env=TAB=\\t;NL=\\n;BEL=\\u0007",\n'), out);
      assert.deepEqual(tomllibParse(out).value.runners[0].machine.MachineOptions, options);
      assert.equal(mergeRunnerConfig(out, edit), out);
    });

    it("formats values without digit separators and keeps floats as floats", () => {
      assert.equal(formatTomlValue(1800), "1800");
      assert.equal(formatTomlValue(52428800), "52428800");
      assert.equal(formatTomlValue(1.5), "1.5");
      assert.equal(formatTomlValue(-0.25), "-0.25");
      assert.equal(formatTomlValue(true), "true");
      assert.equal(formatTomlValue(["a", 1]), '["a", 1]');
      assert.throws(() => formatTomlValue(Number.NaN), ConfigTomlError);
    });

    it("rejects non-integer counts (the runner reads them into Go ints)", () => {
      const edit = { ...RUNBOOK_EDIT, machine: { ...RUNBOOK_EDIT.machine, IdleTime: 1.5 } };
      assert.throws(() => mergeRunnerConfig(input, edit), /IdleTime must be an integer/);
    });
  });

  describe("managed keys", () => {
    const known = JSON.parse(read("runner-config/known-keys.json")) as Record<string, string[]>;

    it("writes only keys listed in known-keys.json", () => {
      const keys = managedKeys(FULL_EDIT);
      assert.ok(keys.includes("runners.machine.autoscaling.Periods") && keys.includes("runners.limit"));
      for (const key of keys) {
        const parts = key.split(".");
        const table = parts.slice(0, -1).join(".") || "global";
        assert.ok(known[table]?.includes(parts[parts.length - 1]), `${key} not in known-keys.json[${table}]`);
      }
    });

    it("lists limit and autoscaling keys only when the edit writes them", () => {
      assert.deepEqual(managedKeys(RUNBOOK_EDIT), [
        "concurrent",
        "runners.executor",
        "runners.machine.IdleCount",
        "runners.machine.IdleTime",
        "runners.machine.MaxBuilds",
        "runners.machine.MachineDriver",
        "runners.machine.MachineName",
        "runners.machine.MachineOptions",
      ]);
    });

    it("covers every leaf that the merge adds, changes or removes", () => {
      for (const file of ["collaborage/config.toml", "runner-config/gitlab-docs-autoscale-complete.toml"]) {
        const input = read(file);
        const before = leaves(tomllibParse(input).value);
        const after = leaves(tomllibParse(mergeRunnerConfig(input, FULL_EDIT)).value);
        const keys = new Set(managedKeys(FULL_EDIT));
        for (const p of new Set([...before.keys(), ...after.keys()])) {
          if (before.get(p) === after.get(p)) continue;
          // "runners.0.machine.autoscaling.1.Periods.0" -> "runners.machine.autoscaling.Periods"
          const key = p.replace(/\.\d+(?=\.|$)/g, "");
          // Removed leaves of the replaced machine table (IdleScaleFactor…) are managed by the table.
          const ok = keys.has(key) || (!after.has(p) && key.startsWith("runners.machine."));
          assert.ok(ok, `${file}: ${p} changed but ${key} is not in managedKeys`);
        }
      }
    });
  });

  describe("autoscaling entries", () => {
    it("renders [[runners.machine.autoscaling]] with Periods, IdleCount, IdleTime, Timezone", () => {
      const out = mergeRunnerConfig(read("collaborage/config.toml"), FULL_EDIT);
      assert.ok(out.includes(RUNBOOK_BLOCK + AUTOSCALING_BLOCK + "  [runners.docker]\n"), out);
      assert.deepEqual(tomllibParse(out).value.runners[0].machine.autoscaling, AUTOSCALING);
      assert.match(out, /^ {2}executor = "docker\+machine"\n {2}limit = 4\n/m);
    });

    it("replaces existing autoscaling entries instead of adding more", () => {
      const input = read("runner-config/gitlab-docs-runner-autoscale-aws.toml");
      const out = mergeRunnerConfig(input, FULL_EDIT);
      assert.equal(out.match(/\[\[runners\.machine\.autoscaling\]\]/g)?.length, 2);
      assert.ok(out.endsWith(AUTOSCALING_BLOCK), out);
      const none = mergeRunnerConfig(out, RUNBOOK_EDIT);
      assert.doesNotMatch(none, /autoscaling/);
    });
  });
});
