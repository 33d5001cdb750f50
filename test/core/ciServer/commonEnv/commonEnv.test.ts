import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommonEnvError, setEnvVars } from "../../../../core/ciServer/commonEnv/commonEnv";
import { editCompose } from "../../../../core/ciServer/compose/composeFile";
import { composeConfigResolved } from "../../../helpers/composeOracle";

const FIX = path.resolve(__dirname, "../../../fixtures");
const read = (f: string): string => fs.readFileSync(path.join(FIX, "collaborage", f), "utf8");

const NP = "192.0.0.0/16,192.0.2.3,169.254.169.254";
const VARS = { NO_PROXY: NP, no_proxy: NP };

describe("core/ciServer/commonEnv/commonEnv setEnvVars", () => {
  it("fixture common.env (no final newline): NO_PROXY and no_proxy on their own lines, nothing glued to TZ", () => {
    const orig = read("common.env");
    assert.equal(orig.endsWith("\n"), false, "fixture precondition: no trailing newline");
    const out = setEnvVars(orig, VARS);
    assert.deepEqual(out.split("\n"), [
      "HTTP_PROXY=env-http-proxy-here",
      "HTTPS_PROXY=env-https-proxy-here",
      "http_proxy=env-http-proxy-here",
      "https_proxy=env-https-proxy-here",
      "TZ=Asia/Tokyo",
      `NO_PROXY=${NP}`,
      `no_proxy=${NP}`,
      "",
    ]);
    assert.equal(out, `${orig}\nNO_PROXY=${NP}\nno_proxy=${NP}\n`);
  });

  it("is idempotent", () => {
    for (const f of ["common.env", "common.proxy-autoscaling.env"]) {
      const once = setEnvVars(read(f), VARS);
      assert.equal(setEnvVars(once, VARS), once);
    }
    const crlf = setEnvVars("A=1\r\nNO_PROXY=x\r\nNO_PROXY=y", VARS);
    assert.equal(setEnvVars(crlf, VARS), crlf);
  });

  it("fixes the runbook's YAML-style `NO_PROXY: 192.0.0.0/16` line in place", () => {
    const orig = read("common.proxy-autoscaling.env");
    const out = setEnvVars(orig, { NO_PROXY: "192.0.0.0/16", no_proxy: "192.0.0.0/16" });
    assert.deepEqual(out.split("\n"), [
      "HTTP_PROXY=http://192.0.2.1:3128",
      "HTTPS_PROXY=http://192.0.2.1:3128",
      "http_proxy=http://192.0.2.1:3128",
      "https_proxy=http://192.0.2.1:3128",
      "NO_PROXY=192.0.0.0/16",
      "TZ=Asia/Tokyo",
      "no_proxy=192.0.0.0/16",
      "",
    ]);
  });

  it("replaces an existing value in place; other lines, comments and blanks untouched; final newline state kept", () => {
    const orig = "# proxy settings\nHTTP_PROXY=http://p:3128/\n\n# NO_PROXY=commented.example\nNO_PROXY=old\nTZ=Asia/Tokyo";
    assert.equal(
      setEnvVars(orig, { NO_PROXY: NP }),
      `# proxy settings\nHTTP_PROXY=http://p:3128/\n\n# NO_PROXY=commented.example\nNO_PROXY=${NP}\nTZ=Asia/Tokyo`,
    );
    assert.equal(setEnvVars("NO_PROXY=old\n", { NO_PROXY: "new" }), "NO_PROXY=new\n");
    assert.equal(setEnvVars("export NO_PROXY = old\n", { NO_PROXY: "new" }), "NO_PROXY=new\n");
    // case matters: NO_PROXY and no_proxy are different keys
    assert.equal(setEnvVars("no_proxy=a\n", { NO_PROXY: "b" }), "no_proxy=a\nNO_PROXY=b\n");
    // a key that only shares a prefix is not touched
    assert.equal(setEnvVars("NO_PROXY_X=a\n", { NO_PROXY: "b" }), "NO_PROXY_X=a\nNO_PROXY=b\n");
  });

  it("duplicates: the first definition is replaced, later ones (which would win) are dropped", () => {
    const orig = "NO_PROXY=a\nTZ=Asia/Tokyo\nNO_PROXY: b\nexport NO_PROXY=c\nX=1\n";
    assert.equal(setEnvVars(orig, { NO_PROXY: "z" }), "NO_PROXY=z\nTZ=Asia/Tokyo\nX=1\n");
    // also when the first one already has the wanted value
    assert.equal(setEnvVars("NO_PROXY=z\nNO_PROXY=old\n", { NO_PROXY: "z" }), "NO_PROXY=z\n");
  });

  it("CRLF files stay CRLF (also without a final newline)", () => {
    const crlf = read("common.env").replace(/\n/g, "\r\n");
    const out = setEnvVars(crlf, VARS);
    assert.equal(out, `${crlf}\r\nNO_PROXY=${NP}\r\nno_proxy=${NP}\r\n`);
    assert.equal(/[^\r]\n/.test(out), false);
    assert.equal(setEnvVars("A=1\r\nNO_PROXY: x\r\nB=2\r\n", { NO_PROXY: "y" }), "A=1\r\nNO_PROXY=y\r\nB=2\r\n");
  });

  it("empty file and empty vars", () => {
    assert.equal(setEnvVars("", { NO_PROXY: "a" }), "NO_PROXY=a\n");
    const orig = read("common.env");
    assert.equal(setEnvVars(orig, {}), orig);
  });

  it("rejects values with line breaks and other ambiguous values, and bad keys", () => {
    for (const v of ["a\nb", "a\r\nb", "a\rb", "a\n", "a\0b"]) {
      assert.throws(() => setEnvVars("", { NO_PROXY: v }), (e: unknown) => e instanceof CommonEnvError && /single line/.test(e.message));
    }
    for (const v of ['"a"', "a # b", "$HOME", " a", "a "]) {
      assert.throws(() => setEnvVars("", { NO_PROXY: v }), CommonEnvError);
    }
    for (const k of ["", "1A", "NO PROXY", "A=B", "A:B"]) {
      assert.throws(() => setEnvVars("", { [k]: "x" }), /invalid env key/);
    }
  });

  describe("what docker-compose v1 (the oracle) reads from the file", () => {
    const compose = editCompose(read("ci-docker-compose.yml"), {
      envFile: { service: "gitlab-runner", file: "./common.env" },
    }).text;
    const runnerEnv = (env: string): Record<string, string> => {
      const { config } = composeConfigResolved(compose, { files: { "common.env": env } });
      return (config as { services: Record<string, { environment?: Record<string, string> }> }).services["gitlab-runner"]
        .environment ?? {};
    };

    it("the edited common.env gives gitlab-runner NO_PROXY, no_proxy and an intact TZ", () => {
      const env = runnerEnv(setEnvVars(read("common.env"), VARS));
      assert.equal(env.NO_PROXY, NP);
      assert.equal(env.no_proxy, NP);
      assert.equal(env.TZ, "Asia/Tokyo");
    });

    it("the runbook's YAML-style line is NOT read by docker-compose v1 (why it is rewritten)", () => {
      const { result, config } = composeConfigResolved(compose, { files: { "common.env": read("common.proxy-autoscaling.env") } });
      assert.match(result.stderr, /could not parse statement starting at line 5/);
      const env = (config as { services: Record<string, { environment: Record<string, string> }> }).services["gitlab-runner"].environment;
      assert.equal(env.NO_PROXY, undefined);
      const fixed = runnerEnv(setEnvVars(read("common.proxy-autoscaling.env"), { NO_PROXY: "192.0.0.0/16" }));
      assert.equal(fixed.NO_PROXY, "192.0.0.0/16");
    });
  });
});
