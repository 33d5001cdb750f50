// What the CI server's files must become, computed with the pure core on the Collaborage fixtures
// and literal expectations (NO_PROXY, proxy URL) written out by hand rather than derived.
import * as fs from "node:fs";
import * as path from "node:path";
import { setEnvVars } from "../../../core/ciServer/commonEnv/commonEnv";
import { runnerMachineEdit } from "../../../core/ciServer/edits";
import { editCompose } from "../../../core/ciServer/compose/composeFile";
import { mergeRunnerConfig } from "../../../core/ciServer/configToml/configToml";
import { withLiveRestore } from "../../../core/ciServer/dockerd/daemonJson";
import { dockerdProxyDropIn } from "../../../core/proxy/proxyFiles";
import type { OfflineRun } from "../../../offline/runOffline";
import { validateSettings } from "../../../settings/validate";
import { COLLABORAGE_FIXTURES } from "../layouts";
import { CANARY_AWS_SECRET, CI_PATHS, type StackConfig } from "../programRun";

export const fixtureBytes = (name: string) => fs.readFileSync(path.join(COLLABORAGE_FIXTURES, name));

/** ciServer.host, the workers' subnet (Pulumi.dev.yaml) and IMDS (an instance profile is set). */
export const EXPECTED_NO_PROXY = "localhost,127.0.0.1,192.0.2.0/24,169.254.169.254";
/** Pulumi.dev.yaml's proxy with the canary credentials spliced in. */
export const EXPECTED_PROXY_URL = "http://canaryuser:CANARY-pw-7731@192.0.2.1:3128";
/** OfflineEngine's getSecurityGroup answer for the workers' group sg-0fedcba9876543210. */
export const WORKER_SG_NAME = "group-0fedcba9876543210";

export function accessKeyIdOf(run: OfflineRun): string {
  const k = run.engine.resources.find((r) => r.type === "aws:iam/accessKey:AccessKey");
  if (!k) throw new Error("the run made no access key");
  return String(k.state.id);
}

/** The five CI-server files after an apply, from the fixtures the sandbox started with. */
export function expectedCiFiles(config: StackConfig, run: OfflineRun, composeFixture = "ci-docker-compose.yml"): Record<string, string> {
  const { "aws:region": region, sshPrivateKey, proxyCredentials, ...rest } = config;
  const settings = validateSettings({ ...rest, region, sshPrivateKey, proxyCredentials });
  const urls = { http: EXPECTED_PROXY_URL, https: EXPECTED_PROXY_URL, noProxy: EXPECTED_NO_PROXY };
  const edit = runnerMachineEdit({
    settings,
    amiId: settings.ami.existingAmi!,
    securityGroupName: WORKER_SG_NAME,
    accessKey: { id: accessKeyIdOf(run), secret: CANARY_AWS_SECRET },
    noProxy: EXPECTED_NO_PROXY,
    proxyUrls: { http: urls.http, https: urls.https },
    stack: "dev",
  });
  return {
    [CI_PATHS.compose]: editCompose(fixtureBytes(composeFixture).toString("utf8"), { envFile: { service: "gitlab-runner", file: "./common.env" } }).text,
    [CI_PATHS.commonEnv]: setEnvVars(fixtureBytes("common.env").toString("utf8"), { NO_PROXY: EXPECTED_NO_PROXY, no_proxy: EXPECTED_NO_PROXY }),
    [CI_PATHS.configToml]: mergeRunnerConfig(fixtureBytes("config.toml").toString("utf8"), edit),
    [CI_PATHS.dockerDropIn]: dockerdProxyDropIn(urls),
    [CI_PATHS.daemonJson]: withLiveRestore(fixtureBytes("ci-daemon.json").toString("utf8")),
  };
}

/** The content part of a guarded write's stdin (after the "expected state" line). */
export const contentOf = (stdin: string | undefined) => (stdin ?? "").slice((stdin ?? "").indexOf("\n") + 1);
export const expectedOf = (stdin: string | undefined) => (stdin ?? "").slice(0, (stdin ?? "").indexOf("\n"));
