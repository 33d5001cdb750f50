import assert from "node:assert/strict";
import { setComposeEnvironment } from "../../../../core/ciServer/compose/composeEnvironment";
import { ComposeEditError, editCompose } from "../../../../core/ciServer/compose/composeFile";
import { composeConfigCheck, composeConfigResolved } from "../../../helpers/composeOracle";
import { fixture } from "../../../helpers/fixtures";

const VARS = { FLEETING_PLUGIN_PATH: "/etc/gitlab-runner/fleeting-plugins" };
const RUNNER = "gitlab-runner";
const PROXY = { envFile: { service: RUNNER, file: "./common.env" } };

/** The fixture's lines with `insert` placed right after the one line equal to `after` (within the runner service). */
function insertAfter(text: string, after: string, insert: string[]): string {
  const lines = text.split("\n");
  const start = lines.indexOf("  gitlab-runner:");
  const i = lines.findIndex((l, n) => n > start && l === after);
  assert.ok(start >= 0 && i > start, `no line ${JSON.stringify(after)} in the runner service`);
  return [...lines.slice(0, i + 1), ...insert, ...lines.slice(i + 1)].join("\n");
}

const ENV_LINES = ["    environment:", "      FLEETING_PLUGIN_PATH: /etc/gitlab-runner/fleeting-plugins"];

describe("core/ciServer/compose/composeEnvironment", () => {
  for (const [file, version] of [["ci-docker-compose.yml", "2.1.0"], ["ci-docker-compose.v2.0.0.yml", "2.0.0"], ["ci-docker-compose.v1.1.0.yml", "1.1.0"]]) {
    describe(`fixture ${file} (Collaborage ${version})`, () => {
      const orig = fixture(`collaborage/${file}`);

      it("no env_file yet: the environment block goes right after restart:, nothing else changes", () => {
        const r = setComposeEnvironment(orig, { service: RUNNER, vars: VARS });
        assert.equal(r.text, insertAfter(orig, "    restart: always", ENV_LINES));
        assert.deepEqual(r.changedServices, [RUNNER]);
      });

      it("after the proxy edit: right after env_file, and the oracle resolves the variable", () => {
        const proxied = editCompose(orig, PROXY).text;
        const r = setComposeEnvironment(proxied, { service: RUNNER, vars: VARS });
        assert.equal(r.text, insertAfter(proxied, "    env_file: ./common.env", ENV_LINES));
        const check = composeConfigCheck(r.text);
        assert.equal(check.ok, true, check.output);
        const { config } = composeConfigResolved(r.text);
        const env = (config as { services: Record<string, { environment: Record<string, string> }> }).services[RUNNER].environment;
        assert.equal(env.FLEETING_PLUGIN_PATH, "/etc/gitlab-runner/fleeting-plugins");
        assert.equal(env.TZ, "Asia/Tokyo", "env_file is still read");
      });

      it("is idempotent: a second run returns the text unchanged and no changed service", () => {
        const once = setComposeEnvironment(orig, { service: RUNNER, vars: VARS }).text;
        assert.deepEqual(setComposeEnvironment(once, { service: RUNNER, vars: VARS }), { text: once, changedServices: [] });
      });
    });
  }

  describe("existing environment", () => {
    it("block map: a new key is appended after the last entry with its indentation; other keys stay", () => {
      const gitlab = fixture("collaborage/ci-docker-compose.yml");
      const r = setComposeEnvironment(gitlab, { service: "gitlab", vars: { A: "b" } });
      assert.equal(r.text, gitlab.replace("      no_proxy: proxy\n", "      no_proxy: proxy\n      A: b\n"));
      assert.deepEqual(r.changedServices, ["gitlab"]);
    });

    it("block map: a changed value replaces only the scalar, keeping its quotes", () => {
      const text = "services:\n  r:\n    image: x\n    environment:\n      K: 'old' # why\n      L: keep\n";
      assert.equal(setComposeEnvironment(text, { service: "r", vars: { K: "/new" } }).text,
        "services:\n  r:\n    image: x\n    environment:\n      K: \"/new\" # why\n      L: keep\n");
      const plain = "services:\n  r:\n    environment:\n      K: old\n";
      assert.equal(setComposeEnvironment(plain, { service: "r", vars: { K: "/new" } }).text, "services:\n  r:\n    environment:\n      K: /new\n");
    });

    it("block list: the KEY=VALUE item is replaced, or a new item appended with the same dash indentation", () => {
      const text = "services:\n  r:\n    image: x\n    environment:\n      - A=1\n      - B\n";
      assert.equal(setComposeEnvironment(text, { service: "r", vars: { B: "2", C: "/x" } }).text,
        "services:\n  r:\n    image: x\n    environment:\n      - A=1\n      - B=2\n      - C=/x\n");
      assert.equal(setComposeEnvironment("services:\n  r:\n    environment:\n      - C=/x\n", { service: "r", vars: { C: "/x" } }).changedServices.length, 0);
    });

    it("values YAML would not read back as strings are double-quoted", () => {
      const r = setComposeEnvironment("services:\n  r:\n    image: x\n", { service: "r", vars: { A: "true", B: "1", C: "" } });
      assert.equal(r.text, "services:\n  r:\n    image: x\n    environment:\n      A: \"true\"\n      B: \"1\"\n      C: \"\"\n");
    });

    it("CRLF files get CRLF lines; a last line without newline is handled", () => {
      const crlf = "services:\r\n  r:\r\n    image: x\r\n";
      assert.equal(setComposeEnvironment(crlf, { service: "r", vars: { A: "b" } }).text, "services:\r\n  r:\r\n    image: x\r\n    environment:\r\n      A: b\r\n");
      assert.equal(setComposeEnvironment("services:\n  r:\n    image: x", { service: "r", vars: { A: "b" } }).text,
        "services:\n  r:\n    image: x\n    environment:\n      A: b");
    });
  });

  describe("errors (a ComposeEditError that says what to do)", () => {
    const bad = (text: string, vars: Record<string, string>, re: RegExp, service = "r") =>
      assert.throws(() => setComposeEnvironment(text, { service, vars }), (e: Error) => e instanceof ComposeEditError && re.test(e.message));

    it("flow forms, empty values and odd shapes are left to a hand edit", () => {
      bad("services:\n  r:\n    environment: {A: b}\n", { K: "v" }, /flow mapping.*by hand/);
      bad("services:\n  r:\n    environment: [A=b]\n", { K: "v" }, /flow list.*by hand/);
      bad("services:\n  r:\n    environment:\n      K:\n", { K: "v" }, /by hand/);
      bad("services:\n  r:\n    environment: x\n", { K: "v" }, /neither a mapping nor a list/);
      bad("services:\n  r:\n    build: .\n", { K: "v" }, /no one-line env_file, restart, image or container_name/);
    });

    it("unknown service, bad names and values", () => {
      bad("services:\n  r:\n    image: x\n", { K: "v" }, /no service 'q'/, "q");
      bad("services:\n  r:\n    image: x\n", { "1K": "v" }, /invalid environment variable name/);
      bad("services:\n  r:\n    image: x\n", { K: "a b" }, /invalid value of K/);
      bad("services:\n  r:\n    image: x\n", { K: "x\ny" }, /invalid value of K/);
      bad("services:\n  r:\n    image: x\n", {}, /no variables/);
      bad("services: [\n", { K: "v" }, /not parseable YAML/);
    });
  });
});
