// A Collaborage server's GitLab as the upgrade finds it: its data directories (the compose file's
// bind mounts), gitlab-secrets.json and gitlab.rb, and the gitlab and gitlab-db containers running
// as compose made them (the stand-in's `docker exec` answers only a container compose recorded).
// The setup's own recreates are cleared from the calls and events: the scenario counts its own.
import { strict as assert } from "node:assert";
import { CI_APP_DIR } from "../layouts";
import type { Sandbox } from "../sandbox";

export const GITLAB_DATA = "/data/gitlab/data";
export const GITLAB_CONFIG = "/data/gitlab/config";
export const GITLAB_DB_DATA = "/data/gitlab-db";

/** The stand-in call of the upgrade's wait for GitLab's health. */
export const HEALTH_PROBE = "docker inspect -f '{{.State.Health.Status}}' gitlab";
/** The upgrade's commands (read, preflight, gates, backup, hops) by their resource names. */
export const isUpgrade = (name: string) => name.startsWith("gitlab-upgrade-");

/** gitlab-secrets.json as the setup writes it (a secret no output may show). */
export const GITLAB_SECRETS_JSON = '{"gitlab_rails":{"secret_key_base":"canary-secret-key-base"}}\n';

/** `configMode`: gitlab-secrets.json's and gitlab.rb's (omnibus makes them 0600). */
export async function gitlabRunning(sb: Sandbox, compose: "docker compose" | "docker-compose" = "docker compose", configMode = 0o600): Promise<void> {
  const cmd = `mkdir -p ${GITLAB_CONFIG} ${GITLAB_DATA} ${GITLAB_DB_DATA} && cd ${CI_APP_DIR} && ${compose} up -d --no-deps gitlab gitlab-db`;
  const r = await sb.exec(`sudo -n sh -c '${cmd}'`, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
  sb.writeFile(`${GITLAB_CONFIG}/gitlab-secrets.json`, GITLAB_SECRETS_JSON, { mode: configMode });
  sb.writeFile(`${GITLAB_CONFIG}/gitlab.rb`, "external_url 'http://gitlab.example'\n", { mode: configMode });
  sb.clearCalls();
  sb.clearEvents();
}
