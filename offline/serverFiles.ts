// The CI server's current files for an offline run, read from a local directory laid out as
// examples/ci-server/ (docker-compose.yml, common.env, config.toml, daemon.json, docker.service.d/*.conf).
import * as fs from "node:fs";
import * as path from "node:path";
import { DAEMON_JSON_PATH } from "../core/ciServer/dockerd/daemonJson";
import { CI_DOCKER_DROPIN_PATH } from "../core/proxy/proxyFiles";
import { FLEETING_AWS_CONFIG, FLEETING_AWS_CREDENTIALS, fleetingFile } from "../core/ciServer/autoscalerEdits";
import type { Settings } from "../settings/types";

export const EXAMPLE_SERVER_FILES = path.resolve(__dirname, "../examples/ci-server");

function readOrNull(file: string): string | null {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
}

/** The CI-server files a plan reads: server path → where a --server-files directory holds it. */
export function serverFileNames(s: Settings): Record<string, string> {
  return {
    [path.posix.join(s.ciServer.appDir, "docker-compose.yml")]: "docker-compose.yml",
    [path.posix.join(s.ciServer.appDir, "common.env")]: "common.env",
    [s.ciServer.runnerConfigPath]: "config.toml",
    [CI_DOCKER_DROPIN_PATH]: path.join("docker.service.d", path.posix.basename(CI_DOCKER_DROPIN_PATH)),
    [DAEMON_JSON_PATH]: "daemon.json",
    // docker-autoscaler: the fleeting plugin's AWS files beside config.toml (usually absent).
    ...Object.fromEntries([FLEETING_AWS_CONFIG, FLEETING_AWS_CREDENTIALS].map((f) => [fleetingFile(s, f).host, f])),
  };
}

/** Server path → content (null = absent on the server). */
export function serverFilesFrom(dir: string, s: Settings): Record<string, string | null> {
  if (!fs.existsSync(dir)) throw new Error(`--server-files ${dir}: no such directory`);
  return Object.fromEntries(Object.entries(serverFileNames(s)).map(([p, rel]) => [p, readOrNull(path.join(dir, rel))]));
}
