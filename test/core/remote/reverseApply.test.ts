// The awk mini-patch of core/remote/sh/lib/reverse_chain.sh (its reverse_awk='…', the very program the
// restore carries) run for real, under mawk (Ubuntu) and gawk (CentOS 7, Amazon Linux 2), on the
// fixtures after the changes destroy must keep and the ones it must refuse.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setEnvVars } from "../../../core/ciServer/commonEnv/commonEnv";
import { editCompose } from "../../../core/ciServer/compose/composeFile";
import { mergeRunnerConfig } from "../../../core/ciServer/configToml/configToml";
import { reverseEdit, type LineFormat } from "../../../core/remote/reverseEdit";
import { shFile } from "../../../core/remote/shFiles";
import { fixture } from "../../helpers/fixtures";
import { SMALL_EDIT } from "../../helpers/smallEdit";

const REVERSE_AWK: string = (() => {
  const m = /^reverse_awk='([^']*)'$/m.exec(shFile("lib/reverse_chain.sh").join("\n"));
  if (!m) throw new Error("core/remote/sh/lib/reverse_chain.sh lacks its reverse_awk='…' program");
  return m[1];
})();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-reverse-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Applied { status: number | null; out: string | null; msg: string }

/** Runs the awk on `now` with the hunks that turn `written` back into `previous`. */
function undo(awk: string, format: LineFormat, written: string, previous: string, now: string): Applied {
  const rev = path.join(dir, "rev");
  const cur = path.join(dir, "cur");
  const out = path.join(dir, "out");
  fs.writeFileSync(rev, reverseEdit(format, written, previous));
  fs.writeFileSync(cur, now);
  fs.rmSync(out, { force: true });
  const r = spawnSync(awk, [REVERSE_AWK, rev, cur], {
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C", GRA_OUT: out, GRA_NONL: now === "" || now.endsWith("\n") ? "0" : "1" }, encoding: "utf8",
  });
  if (r.error) throw r.error;
  return { status: r.status, out: fs.existsSync(out) ? fs.readFileSync(out, "utf8") : null, msg: r.stdout + r.stderr };
}

const ok = (r: Applied, want: string) => {
  assert.equal(r.msg, "", "no message on success");
  assert.equal(r.status, 0);
  assert.equal(r.out, want);
};
const refused = (r: Applied, re: RegExp) => {
  assert.equal(r.status, 1, r.msg);
  assert.match(r.msg, re);
  assert.equal(r.out, null, "nothing is written when a hunk cannot be placed");
};

const ENV = fixture("collaborage/common.env");
const ENV_W = setEnvVars(ENV, { NO_PROXY: "localhost,127.0.0.1,192.0.2.3", no_proxy: "localhost,127.0.0.1,192.0.2.3" });
const COMPOSE = fixture("collaborage/ci-docker-compose.v1.1.0.yml");
const proxied = (t: string) => editCompose(t, { envFile: { service: "gitlab-runner", file: "./common.env" } }).text;
const upgraded = (t: string) => editCompose(t, {
  images: [{ service: "gitlab", image: "gitlab/gitlab-ce:12.6.8-ce.0" }, { service: "gitlab-runner", image: "gitlab/gitlab-runner:ubuntu-v12.6.0" }],
}).text;
const TOML = fixture("collaborage/config.toml");
const TOML_W = mergeRunnerConfig(TOML, SMALL_EDIT);
const RUNNER_FIXTURES = ["gitlab-docs-autoscale-complete.toml", "gitlab-docs-docker-autoscaler-aws.toml", "gitlab-docs-runner-autoscale-aws.toml", "pepperize-cdk-snapshot-docker-machine.toml"];

for (const awk of ["/usr/bin/mawk", "/usr/bin/gawk"]) {
  describe(`lib/reverse_chain.sh reverse_awk under ${path.basename(awk)}`, () => {
    it("on the file as written: gives back the previous bytes (each fixture)", () => {
      ok(undo(awk, "env", ENV_W, ENV, ENV_W), ENV);
      ok(undo(awk, "yaml", proxied(COMPOSE), COMPOSE, proxied(COMPOSE)), COMPOSE);
      ok(undo(awk, "toml", TOML_W, TOML, TOML_W), TOML);
      for (const f of RUNNER_FIXTURES) {
        const t = fixture(`runner-config/${f}`);
        const w = mergeRunnerConfig(t, SMALL_EDIT);
        ok(undo(awk, "toml", w, t, w), t);
      }
    });

    it("after a later image upgrade: removes env_file and keeps the new images", () => {
      const w = proxied(COMPOSE);
      ok(undo(awk, "yaml", w, COMPOSE, upgraded(w)), upgraded(COMPOSE));
    });

    it("after hand edits elsewhere in config.toml (token, a comment, a docker key): keeps them", () => {
      const hand = (t: string) => t.replace('token = "glrt-REDACTED"', 'token = "glrt-ROTATED"')
        .replace("check_interval = 0\n", "check_interval = 0\n# tuned by ops\n").replace("    shm_size = 0\n", "    shm_size = 268435456\n");
      assert.notEqual(hand(TOML), TOML);
      ok(undo(awk, "toml", TOML_W, TOML, hand(TOML_W)), hand(TOML));
      for (const f of RUNNER_FIXTURES) {
        const t = fixture(`runner-config/${f}`);
        const w = mergeRunnerConfig(t, SMALL_EDIT);
        ok(undo(awk, "toml", w, t, `# ops note\n${w}`), `# ops note\n${t}`);
      }
    });

    it("after a hand edit of a managed value: refuses, naming the key and never the value", () => {
      const m = '[[runners]] "0123456789ab" [runners.machine]';
      const r = undo(awk, "toml", TOML_W, TOML, TOML_W.replace("IdleTime = 1800", "IdleTime = 900"));
      refused(r, new RegExp(`^${m.replace(/[[\]]/g, "\\$&")} IdleTime: changed since pulumi wrote it\n$`));
      const s = undo(awk, "toml", TOML_W, TOML, TOML_W.replace("SECRET_KEY", "OTHER_SECRET").replace("concurrent = 3", "concurrent = 4"));
      refused(s, /^concurrent: changed since pulumi wrote it\n.*\[runners\.machine\] MachineOptions: changed since pulumi wrote it\n$/);
      assert.doesNotMatch(s.msg, /SECRET/);
      refused(undo(awk, "env", ENV_W, ENV, ENV_W.replace("no_proxy=localhost", "no_proxy=example.com,localhost")), /^no_proxy: changed since pulumi wrote it\n$/);
    });

    it("a whole-file rewrite (the runner re-serialising config.toml) matches nothing: refused", () => {
      const rewritten = TOML_W.replace(/^ +/gm, "");
      refused(undo(awk, "toml", TOML_W, TOML, rewritten), /changed since pulumi wrote it/);
    });

    it("common.env: TZ, which pulumi only gave a final newline, stays editable by hand; an added line is not glued on", () => {
      ok(undo(awk, "env", ENV_W, ENV, ENV_W.replace("TZ=Asia/Tokyo", "TZ=UTC")), `${ENV.replace("TZ=Asia/Tokyo", "TZ=UTC")}\n`);
      ok(undo(awk, "env", ENV_W, ENV, `${ENV_W}EXTRA=1\n`), `${ENV}\nEXTRA=1\n`);
      ok(undo(awk, "env", ENV_W, ENV, `# top\n${ENV_W}`), `# top\n${ENV}`);
    });

    it("CRLF and a missing final newline survive; a line added after it is not glued on", () => {
      const crlf = ENV.replace(/\n/g, "\r\n");
      const w = setEnvVars(crlf, { NO_PROXY: "a" });
      assert.match(w, /\r\nTZ=Asia\/Tokyo\r\nNO_PROXY=a\r\n$/);
      ok(undo(awk, "env", w, crlf, w), crlf);
      ok(undo(awk, "env", w, crlf, `${w}EXTRA=1\r\n`), `${crlf}\r\nEXTRA=1\r\n`);
      ok(undo(awk, "env", w, crlf, `# top\r\n${w}`), `# top\r\n${crlf}`);
    });

    it("repeated lines: context picks the written one; the same context twice is refused", () => {
      const before = "a:\n  x: 1\nb:\n  x: 1\n";
      const written = "a:\n  x: 1\n  y: 2\nb:\n  x: 1\n";
      const now = "b:\n  x: 1\n  y: 2\nq: 0\na:\n  x: 1\n  y: 2\nb:\n  x: 1\n";
      ok(undo(awk, "yaml", written, before, now), "b:\n  x: 1\n  y: 2\nq: 0\na:\n  x: 1\nb:\n  x: 1\n");
      refused(undo(awk, "yaml", written, before, `${written}${written}`), /^a\.y: the lines pulumi wrote occur 2 times with the same surroundings; cannot tell which to undo\n$/);
    });

    it("puts back a removed duplicate by its context, and refuses when that context changed", () => {
      const before = "A=1\nNO_PROXY=x\nB=2\nNO_PROXY=y\nC=3\n";
      const written = setEnvVars(before, { NO_PROXY: "z" });
      ok(undo(awk, "env", written, before, `${written}D=4\n`), `${before}D=4\n`);
      refused(undo(awk, "env", written, before, written.replace("C=3", "C=4")), /^NO_PROXY: the lines around what pulumi removed changed/);
    });

    it("refuses a file that is not a reverse edit", () => {
      const rev = path.join(dir, "bad");
      fs.writeFileSync(rev, "something else\n");
      const r = spawnSync(awk, [REVERSE_AWK, rev, rev], { env: { GRA_OUT: path.join(dir, "o2"), GRA_NONL: "0" }, encoding: "utf8" });
      assert.equal(r.status, 1);
      assert.match(r.stdout, /not a reverse-edit file/);
    });
  });
}
