import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ComposeEdit, ComposeEditError, editCompose, imageOf } from "../../../../core/ciServer/compose/composeFile";
import { composeConfigCheck, oracleVersion } from "../../../helpers/composeOracle";

const FIX = path.resolve(__dirname, "../../../fixtures");
const read = (f: string): string => fs.readFileSync(path.join(FIX, "collaborage", f), "utf8");

/** Replace the one occurrence of the line sequence `from` with `to`; fails if not exactly one. */
function replaceSeq(lines: string[], from: string[], to: string[]): string[] {
  const hits: number[] = [];
  for (let i = 0; i + from.length <= lines.length; i++) {
    if (from.every((l, j) => lines[i + j] === l)) hits.push(i);
  }
  assert.equal(hits.length, 1, `expected exactly one occurrence of ${JSON.stringify(from)}`);
  return [...lines.slice(0, hits[0]), ...to, ...lines.slice(hits[0] + from.length)];
}

interface Case {
  file: string;
  version: string;
  gitlab: [string, string];
  runner: [string, string];
}

const CASES: Case[] = [
  {
    file: "ci-docker-compose.yml",
    version: "2.1.0",
    gitlab: ["gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ce:16.3.9-ce.0"],
    runner: ["gitlab/gitlab-runner:ubuntu-v16.1.0", "gitlab/gitlab-runner:ubuntu-v16.3.0"],
  },
  {
    file: "ci-docker-compose.v2.0.0.yml",
    version: "2.0.0",
    gitlab: ["gitlab/gitlab-ce:16.0.6-ce.0", "gitlab/gitlab-ce:16.3.9-ce.0"],
    runner: ["gitlab/gitlab-runner:ubuntu-v16.1.0", "gitlab/gitlab-runner:ubuntu-v16.3.0"],
  },
  {
    // the runbook's "Collaborage1.1環境をご利用の場合" values
    file: "ci-docker-compose.v1.1.0.yml",
    version: "1.1.0",
    gitlab: ["gitlab/gitlab-ce:12.4.2-ce.0", "gitlab/gitlab-ce:12.6.8-ce.0"],
    runner: ["gitlab/gitlab-runner:ubuntu-v12.4.1", "gitlab/gitlab-runner:ubuntu-v12.6.0"],
  },
];

const upgrade = (c: Case): ComposeEdit => ({
  images: [
    { service: "gitlab", image: c.gitlab[1] },
    { service: "gitlab-runner", image: c.runner[1] },
  ],
});
const PROXY: ComposeEdit = { envFile: { service: "gitlab-runner", file: "./common.env" } };

function expectedUpgrade(lines: string[], c: Case): string[] {
  let out = replaceSeq(lines, [`    image: ${c.gitlab[0]}`], [`    #image: ${c.gitlab[0]}`, `    image: ${c.gitlab[1]}`]);
  out = replaceSeq(out, [`    image: ${c.runner[0]}`], [`    #image: ${c.runner[0]}`, `    image: ${c.runner[1]}`]);
  return out;
}

function expectedProxy(lines: string[], runnerImage: string): string[] {
  return replaceSeq(
    lines,
    [`    image: ${runnerImage}`, "    restart: always", "    volumes:"],
    [`    image: ${runnerImage}`, "    restart: always", "    env_file: ./common.env", "    volumes:"],
  );
}

function assertOracleAccepts(text: string): void {
  const r = composeConfigCheck(text);
  assert.equal(r.ok, true, `docker-compose config -q rejected the file:\n${r.output}`);
  assert.equal(r.output, "", `docker-compose config -q printed warnings:\n${r.output}`);
}

describe("core/ciServer/compose/composeFile", () => {
  describe("oracle (Debian docker-compose v1)", () => {
    it("is installed (fails, never skips, when missing)", () => {
      assert.match(oracleVersion(), /^1\.\d+\.\d+/);
    });
    for (const c of CASES) {
      it(`accepts the unedited fixture ${c.file}`, () => assertOracleAccepts(read(c.file)));
    }
    it("rejects a broken file, so the check can fail", () => {
      const bad = read("ci-docker-compose.yml").replace("    restart: always\n    volumes:\n      - ~/.docker/", "    restartt: always\n    volumes:\n      - ~/.docker/");
      const r = composeConfigCheck(bad);
      assert.equal(r.ok, false);
      assert.match(r.output, /restartt/);
      assert.equal(composeConfigCheck("services: [\n").ok, false);
    });
    it("rejects an env_file that does not exist (so the env_file edit is really checked)", () => {
      const r = composeConfigCheck(read("ci-docker-compose.yml"), { createEnvFiles: false });
      assert.equal(r.ok, false);
      assert.match(r.output, /Couldn't find env file/);
    });
  });

  for (const c of CASES) {
    describe(`fixture ${c.file} (Collaborage ${c.version})`, () => {
      const orig = read(c.file);
      const lines = orig.split("\n");

      it("imageOf reads the shipped images", () => {
        assert.equal(imageOf(orig, "gitlab"), c.gitlab[0]);
        assert.equal(imageOf(orig, "gitlab-runner"), c.runner[0]);
        assert.equal(imageOf(orig, "nexus.repository"), undefined); // built, no image
      });

      it("upgrade edit: exactly the two image lines change, each with the old line commented above", () => {
        const r = editCompose(orig, upgrade(c));
        assert.deepEqual(r.text.split("\n"), expectedUpgrade(lines, c));
        assert.equal(r.text.split("\n").length, lines.length + 2);
        assert.deepEqual(r.changedServices, ["gitlab", "gitlab-runner"]);
        assert.equal(imageOf(r.text, "gitlab"), c.gitlab[1]);
        assert.equal(imageOf(r.text, "gitlab-runner"), c.runner[1]);
        assertOracleAccepts(r.text);
      });

      it("proxy edit: only `env_file: ./common.env` is inserted after the runner's restart line", () => {
        const r = editCompose(orig, PROXY);
        assert.deepEqual(r.text.split("\n"), expectedProxy(lines, c.runner[0]));
        assert.equal(r.text.split("\n").length, lines.length + 1);
        assert.deepEqual(r.changedServices, ["gitlab-runner"]);
        assertOracleAccepts(r.text);
      });

      it("both edits together", () => {
        const r = editCompose(orig, { ...upgrade(c), ...PROXY });
        assert.deepEqual(r.text.split("\n"), expectedProxy(expectedUpgrade(lines, c), c.runner[1]));
        assert.deepEqual(r.changedServices, ["gitlab", "gitlab-runner"]);
        assertOracleAccepts(r.text);
        // same result when done as two separate steps, in either order
        assert.equal(editCompose(editCompose(orig, upgrade(c)).text, PROXY).text, r.text);
        assert.equal(editCompose(editCompose(orig, PROXY).text, upgrade(c)).text, r.text);
      });

      it("is idempotent: a second run changes nothing", () => {
        for (const e of [upgrade(c), PROXY, { ...upgrade(c), ...PROXY }]) {
          const once = editCompose(orig, e);
          const twice = editCompose(once.text, e);
          assert.equal(twice.text, once.text);
          assert.deepEqual(twice.changedServices, []);
        }
      });

      it("no-op edits return the input unchanged", () => {
        for (const e of [
          {},
          { images: [] },
          { images: [{ service: "gitlab", image: c.gitlab[0] }, { service: "gitlab-runner", image: c.runner[0] }] },
        ] as ComposeEdit[]) {
          const r = editCompose(orig, e);
          assert.equal(r.text, orig);
          assert.deepEqual(r.changedServices, []);
        }
      });

      it("repeat upgrades keep one comment with the original tag; going back restores the file byte for byte", () => {
        const a = editCompose(orig, upgrade(c)).text;
        const b = editCompose(a, { images: [{ service: "gitlab", image: "gitlab/gitlab-ce:16.11.10-ce.0" }] });
        assert.deepEqual(b.changedServices, ["gitlab"]);
        assert.deepEqual(
          b.text.split("\n"),
          replaceSeq(expectedUpgrade(lines, c), [`    image: ${c.gitlab[1]}`], ["    image: gitlab/gitlab-ce:16.11.10-ce.0"]),
        );
        assert.equal(b.text.split("\n").filter((l) => l.includes("#image: gitlab/gitlab-ce")).length, 1);
        const back = editCompose(b.text, {
          images: [
            { service: "gitlab", image: c.gitlab[0] },
            { service: "gitlab-runner", image: c.runner[0] },
          ],
        });
        assert.equal(back.text, orig);
        assert.deepEqual(back.changedServices, ["gitlab", "gitlab-runner"]);
      });
    });
  }

  describe("the runbook's hand-made upgrade (comment already there)", () => {
    it("keeps the existing #image comment and adds no second one", () => {
      const manual = read("ci-docker-compose.v1.1.0.yml").replace(
        "    image: gitlab/gitlab-ce:12.4.2-ce.0\n",
        "    #image: gitlab/gitlab-ce:12.4.2-ce.0\n    image: gitlab/gitlab-ce:12.6.8-ce.0\n",
      );
      const r = editCompose(manual, { images: [{ service: "gitlab", image: "gitlab/gitlab-ce:12.10.14-ce.0" }] });
      assert.equal(
        r.text,
        manual.replace("    image: gitlab/gitlab-ce:12.6.8-ce.0\n", "    image: gitlab/gitlab-ce:12.10.14-ce.0\n"),
      );
      assert.equal(imageOf(r.text, "gitlab"), "gitlab/gitlab-ce:12.10.14-ce.0");
    });
  });

  describe("env_file merging", () => {
    const base = [
      "services:",
      "  gitlab-runner:",
      "    image: gitlab/gitlab-runner:ubuntu-v16.1.0",
      "    restart: always",
      "",
    ];
    const withEnv = (envLines: string[]): string =>
      [...base.slice(0, 3), ...envLines, ...base.slice(3)].join("\n");

    it("string equal to the file (with or without ./) -> no change", () => {
      for (const v of ["./common.env", "common.env", "'./common.env'", '"common.env"']) {
        const t = withEnv([`    env_file: ${v}`]);
        const r = editCompose(t, PROXY);
        assert.equal(r.text, t);
        assert.deepEqual(r.changedServices, []);
      }
    });

    it("different string -> block list [old, new]; a trailing comment stays with the old item", () => {
      const t = withEnv(["    env_file: ./runner.env # secrets"]);
      const r = editCompose(t, PROXY);
      assert.equal(r.text, withEnv(["    env_file:", "      - ./runner.env # secrets", "      - ./common.env"]));
      assert.deepEqual(r.changedServices, ["gitlab-runner"]);
      assert.equal(editCompose(r.text, PROXY).text, r.text);
      assertOracleAccepts(r.text);
    });

    it("block list without it -> appended with the same dash indentation", () => {
      const t = withEnv(["    env_file:", "    - a.env", "    - 'b.env'"]);
      const r = editCompose(t, PROXY);
      assert.equal(r.text, withEnv(["    env_file:", "    - a.env", "    - 'b.env'", "    - ./common.env"]));
      assertOracleAccepts(r.text);
    });

    it("block list with it -> no change", () => {
      const t = withEnv(["    env_file:", "      - ./a.env", "      - common.env"]);
      assert.deepEqual(editCompose(t, PROXY), { text: t, changedServices: [] });
    });

    it("flow list without it -> appended inside the brackets", () => {
      const t = withEnv(["    env_file: [a.env,   b.env]  # keep"]);
      const r = editCompose(t, PROXY);
      assert.equal(r.text, withEnv(["    env_file: [a.env,   b.env, ./common.env]  # keep"]));
      assertOracleAccepts(r.text);
    });

    it("service without restart: inserted after image; service that is the last line without final newline", () => {
      const t = "services:\n  gitlab-runner:\n    image: x/y:1\n    restart: always";
      const r = editCompose(t, PROXY);
      assert.equal(r.text, "services:\n  gitlab-runner:\n    image: x/y:1\n    restart: always\n    env_file: ./common.env");
      const t2 = "services:\n  gitlab-runner:\n    image: x/y:1 # pinned\n    volumes:\n      - /a:/b\n";
      assert.equal(
        editCompose(t2, PROXY).text,
        "services:\n  gitlab-runner:\n    image: x/y:1 # pinned\n    env_file: ./common.env\n    volumes:\n      - /a:/b\n",
      );
    });
  });

  describe("formatting is preserved where yaml's toString would reflow it", () => {
    const hand = [
      "version: \"3.7\"",
      "# header comment",
      "services:",
      "    gitlab:   # the app",
      "        image: \"gitlab/gitlab-ce:16.0.6-ce.0\"   # pinned",
      "        command: [\"a\",   \"b\"]",
      "        environment:",
      `            - LONG=${"a ".repeat(60).trim()}`,
      "        labels: {a: b}",
      "",
      "",
      "    gitlab-runner:",
      "        image: 'gitlab/gitlab-runner:ubuntu-v16.1.0'",
      "        restart: always",
      "",
    ].join("\n");

    it("only the edited scalars and inserted lines differ; quoting style is kept", () => {
      const r = editCompose(hand, {
        images: [
          { service: "gitlab", image: "gitlab/gitlab-ce:16.3.9-ce.0" },
          { service: "gitlab-runner", image: "gitlab/gitlab-runner:ubuntu-v16.3.0" },
        ],
        envFile: { service: "gitlab-runner", file: "./common.env" },
      });
      let want = hand.split("\n");
      want = replaceSeq(
        want,
        ["        image: \"gitlab/gitlab-ce:16.0.6-ce.0\"   # pinned"],
        ["        #image: \"gitlab/gitlab-ce:16.0.6-ce.0\"", "        image: \"gitlab/gitlab-ce:16.3.9-ce.0\"   # pinned"],
      );
      want = replaceSeq(
        want,
        ["        image: 'gitlab/gitlab-runner:ubuntu-v16.1.0'", "        restart: always"],
        [
          "        #image: 'gitlab/gitlab-runner:ubuntu-v16.1.0'",
          "        image: 'gitlab/gitlab-runner:ubuntu-v16.3.0'",
          "        restart: always",
          "        env_file: ./common.env",
        ],
      );
      assert.deepEqual(r.text.split("\n"), want);
      assertOracleAccepts(r.text);
      // reverting removes the quoted original comment again
      const back = editCompose(r.text, { images: [{ service: "gitlab", image: "gitlab/gitlab-ce:16.0.6-ce.0" }] });
      assert.equal(back.text.includes("#image"), true); // runner's comment stays
      assert.equal(back.text.includes("#image: \"gitlab"), false);
    });

    it("CRLF files get CRLF lines", () => {
      const crlf = read("ci-docker-compose.yml").replace(/\n/g, "\r\n");
      const c = CASES[0];
      const r = editCompose(crlf, { ...upgrade(c), ...PROXY });
      const lf = editCompose(read("ci-docker-compose.yml"), { ...upgrade(c), ...PROXY }).text;
      assert.equal(r.text, lf.replace(/\n/g, "\r\n"));
      assert.equal(/[^\r]\n/.test(r.text), false);
    });
  });

  describe("errors", () => {
    const orig = read("ci-docker-compose.yml");
    it("unknown service: names the services that exist", () => {
      for (const f of [
        () => editCompose(orig, { images: [{ service: "runner", image: "a/b:1" }] }),
        () => editCompose(orig, { envFile: { service: "gitlab_runner", file: "./common.env" } }),
        () => imageOf(orig, "gitlab-ce"),
      ]) {
        assert.throws(f, (e: unknown) => {
          assert.ok(e instanceof ComposeEditError);
          assert.match(e.message, /no service '.*' \(services: proxy, gitlab, gitlab-db, gitlab-runner, nexus\.repository\)/);
          return true;
        });
      }
    });
    it("unparseable file", () => {
      assert.throws(() => editCompose("services:\n  a: [\n", PROXY), ComposeEditError);
      assert.throws(() => editCompose("services:\n  a:\n    image: x\n  a:\n    image: y\n", PROXY), /not parseable/);
      assert.throws(() => imageOf("services: : :\n\t- x", "a"), ComposeEditError);
      assert.throws(() => editCompose("just text", PROXY), /top level is not a mapping/);
      assert.throws(() => editCompose("version: '3'\n", PROXY), /no 'services:'/);
    });
    it("invalid image or env_file values are refused", () => {
      for (const image of ["", "a b", "x:1\n  evil: 1", "x # y", "'x'"]) {
        assert.throws(() => editCompose(orig, { images: [{ service: "gitlab", image }] }), /invalid image reference/);
      }
      assert.throws(() => editCompose(orig, { envFile: { service: "gitlab-runner", file: "a b.env" } }), /invalid env_file/);
    });
    it("accepts registry host:port and digests in image references", () => {
      for (const image of ["192.0.2.3:19081/gitlab/gitlab-runner:ubuntu-v16.3.0", "registry.example.com/a/b@sha256:" + "a".repeat(64)]) {
        const r = editCompose(orig, { images: [{ service: "gitlab-runner", image }] });
        assert.equal(imageOf(r.text, "gitlab-runner"), image);
      }
    });
    it("a built service without image: is not given one", () => {
      assert.throws(
        () => editCompose(orig, { images: [{ service: "nexus.repository", image: "sonatype/nexus3:3.55.0" }] }),
        /no 'image:' key/,
      );
    });
    it("the same service twice in images is refused", () => {
      assert.throws(
        () => editCompose(orig, { images: [{ service: "gitlab", image: "a/b:1" }, { service: "gitlab", image: "a/b:2" }] }),
        /listed twice/,
      );
    });
  });
});
