import { strict as assert } from "node:assert";
import {
  appendBlockBody, appendBlockScript, dockerInstallBody, dockerInstallScript, dockerProxyCheckBody,
  dockerProxyCheckScript, guardedWriteBody, guardedWriteScript, installFileBody, installFileScript,
  readFileBody, readFileScript, restoreBody, restoreScript, waitForSshScript,
  type AfterAction, type ComposeCommand, type GuardedWrite,
} from "../../../core/remote/scripts";
import { scriptBody } from "../../../core/remote/shell";
import { assertShellcheckClean, shellcheck, WRAPPED_EXCLUDES } from "../../helpers/shellcheck";

/** The body of `[# comments\n]... [sudo -n ]sh -c '<body>'`, unquoted (core/remote/shell.ts's scriptBody). */
function unwrap(script: string): string {
  const body = scriptBody(script);
  assert.ok(body !== undefined, `not a wrapped script: ${script.slice(0, 80)}`);
  return body;
}

// $(…) and backticks in values are exercised by running the scripts (scripts.test.ts); here they
// would only draw SC2016 notes about literal text in single quotes, which is the point of quoting.
const odd = `/srv/my app/it's "here"/docker-compose.yml`;
const appDir = `/srv/my app/it's "here"`;
const commands: ComposeCommand[] = ["auto", "docker compose", "docker-compose"];

function afters(command: ComposeCommand): (AfterAction | undefined)[] {
  const compose = { appDir, command };
  return [
    undefined,
    { kind: "dockerd-restart" },
    { kind: "compose-up", compose, services: ["gitlab-runner"] },
    { kind: "compose-up", compose, services: ["gitlab", "gitlab-runner"], waitHealthy: { container: "gitlab", timeoutSeconds: 900, pollSeconds: 10 } },
    { kind: "compose-up", compose, services: ["gitlab-runner"], gracefulStop: { container: "gitlab-runner", timeoutSeconds: 600 } },
    { kind: "dockerd-reload" },
    { kind: "runner-reload", container: "gitlab-runner", timeoutSeconds: 15 },
    { kind: "runner-reload", container: "gitlab-runner", timeoutSeconds: 15,
      restartLeavingAutoscaler: { compose, service: "gitlab-runner", gracefulStop: { container: "gitlab-runner", timeoutSeconds: 600 } } },
  ];
}

const writes: GuardedWrite[] = commands.flatMap((command) =>
  afters(command).flatMap((after) => [
    { key: "compose-proxy", path: odd, newFileMode: "0644", after, summary: ["a = 'b' $(c) `d`", ""] },
    { key: "compose-proxy", path: odd, validate: { compose: { appDir, command } }, after, summary: [],
      rereadHint: "Run `pulumi up --replace 'urn:pulumi:dev::p::a$b::read'` to read it again." },
  ]),
);

const cases: [string, string, string][] = [
  ...writes.flatMap((w, i): [string, string, string][] => [
    [`guardedWrite #${i} (${w.after?.kind ?? "no after"}, ${w.validate?.compose.command ?? "no validate"})`, guardedWriteScript(w), guardedWriteBody(w)],
    [`restore #${i} (${w.after?.kind ?? "no after"})`, restoreScript(w), restoreBody(w)],
  ]),
  ["readFile", readFileScript(odd), readFileBody(odd)],
  ["installFile", installFileScript({ path: odd, mode: "0644" }), installFileBody({ path: odd, mode: "0644" })],
  ["appendBlock ~", appendBlockScript({ path: "~/.profile", marker: "gitlab-runner-autoscaling proxy" }),
    appendBlockBody({ path: "~/.profile", marker: "gitlab-runner-autoscaling proxy" })],
  ["appendBlock absolute", appendBlockScript({ path: odd, marker: "x" }), appendBlockBody({ path: odd, marker: "x" })],
  ["dockerInstall stdin", dockerInstallScript({ proxyEnvFromStdin: true }), dockerInstallBody({ proxyEnvFromStdin: true })],
  ["dockerInstall", dockerInstallScript({ proxyEnvFromStdin: false }), dockerInstallBody({ proxyEnvFromStdin: false })],
  ["dockerProxyCheck", dockerProxyCheckScript(true), dockerProxyCheckBody(true)],
  ["dockerProxyCheck no proxy", dockerProxyCheckScript(false), dockerProxyCheckBody(false)],
];

describe("core/remote/scripts under shellcheck -s sh", () => {
  it("the checker works and can fail", () => {
    assert.equal(shellcheck("echo ok\n").ok, true);
    const bad = shellcheck('x=$1\nrm -rf $x/*\n[ $x == y ] && echo `ls`\n');
    assert.equal(bad.ok, false);
    assert.match(bad.output, /SC2086/); // unquoted expansion
    assert.throws(() => assertShellcheckClean("cd $1\n", "bad"), /shellcheck found problems in bad/);
  });

  for (const [label, wrapped, body] of cases) {
    it(`${label}: wrapped and body are clean`, () => {
      assert.equal(unwrap(wrapped), body, "the wrapper must carry exactly the body");
      assertShellcheckClean(wrapped, `${label} (wrapped)`, WRAPPED_EXCLUDES);
      assertShellcheckClean(body, `${label} (body)`);
    });
  }

  it("a wrapped script whose values have no single quote needs no exclusion", () => {
    const w: GuardedWrite = { ...writes[writes.length - 1], path: "/home/ec2-user/nop/docker/ci/docker-compose.yml", rereadHint: undefined };
    const plain = { ...w, validate: { compose: { appDir: "/home/ec2-user/nop/docker/ci", command: "auto" as const } } };
    const after: AfterAction = { kind: "compose-up", compose: plain.validate.compose, services: ["gitlab"], waitHealthy: { container: "gitlab", timeoutSeconds: 60, pollSeconds: 5 } };
    assertShellcheckClean(guardedWriteScript({ ...plain, after }), "plain guardedWrite");
    assertShellcheckClean(restoreScript({ ...plain, after }), "plain restore");
    assert.equal(shellcheck(guardedWriteScript(writes[0])).ok, false, "SC1003 is what the exclusion is for");
  });

  it("waitForSsh", () => assertShellcheckClean(waitForSshScript(), "waitForSsh"));
});
