// Every config.toml the program writes, as the test suite makes them: each fixture with a
// [[runners]] (both runners of a two-runner file), through the config.toml edit of each executor,
// with the S3 cache off, on with the runner's access key, and on with the instance role; the move
// to docker-autoscaler and back; and the fixtures as they are (what destroy puts back). Made with
// the program's own pure functions (core/ciServer/edits.ts, core/ciServer/configToml/*, core/aws/buildCache.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { runnerCacheEdit } from "../../core/aws/buildCache";
import { asAutoscalerMode, configTomlAutoscalerEdit } from "../../core/ciServer/autoscalerEdits";
import { configTomlEdit } from "../../core/ciServer/edits";
import { validateSettings } from "../../settings/validate";
import type { Settings } from "../../settings/types";
import { devRaw } from "../helpers/devConfig";
import { FIXTURES, fixture } from "../helpers/fixtures";

export type CacheMode = "off" | "access-key" | "iam";
export type ExecutorName = "docker+machine" | "docker-autoscaler";

export const ACCESS_KEY = { id: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const GROUP = "workers-asg-4f3c2b1";
const KEY_PATH = "/etc/gitlab-runner/ssh/id_ed25519";

/** The fixtures with at least one [[runners]], and the runner names to convert in each. */
export function inputFixtures(): { file: string; runners: (string | undefined)[] }[] {
  const files = ["collaborage/config.toml", "collaborage/config.autoscaling.toml",
    ...fs.readdirSync(path.join(FIXTURES, "runner-config")).filter((f) => f.endsWith(".toml")).sort().map((f) => `runner-config/${f}`)];
  return files.filter((f) => /^\s*\[\[runners\]\]/m.test(fixture(f))).map((file) => {
    const names = [...fixture(file).matchAll(/^\s*name\s*=\s*"([^"]*)"/gm)].map((m) => m[1]);
    const runnerCount = fixture(file).match(/^\s*\[\[runners\]\]/gm)!.length;
    return { file, runners: runnerCount > 1 ? names.slice(0, runnerCount) : [undefined] };
  });
}

export function settingsFor(executor: ExecutorName, cache: CacheMode, runnerName?: string): Settings {
  const raw = devRaw() as any;
  if (runnerName !== undefined) raw.runner.name = runnerName;
  if (cache === "iam") Object.assign(raw.runner, { credentials: "instanceProfile", managerRoleName: "ci-role" });
  if (cache !== "off") raw.cache = { s3: { enabled: true } };
  if (executor === "docker-autoscaler") {
    Object.assign(raw.runner, { executor, maxInstances: 3, capacityPerInstance: 2, idleCount: 1 });
    delete raw.runner.concurrent;
    raw.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 2, idleTime: 3600 }];
  } else {
    raw.runner.autoscaling = [{ periods: ["* * 9-17 * * mon-fri *"], idleCount: 2, idleTime: 3600 }];
  }
  return validateSettings(raw);
}

/** The config.toml edit `pulumi up` makes for these settings (the program's own edit object). */
export function tomlEditFor(s: Settings) {
  const accessKey = s.runner.credentials === "accessKey" ? ACCESS_KEY : undefined;
  const cache = s.cache
    ? runnerCacheEdit({ s3: s.cache.s3, region: s.region, runnerName: s.runner.name, path: "prod", bucketName: "gitlab-runner-cache-0a1b2c3", credentials: s.runner.credentials, accessKey })
    : undefined;
  if (s.runner.executor === "docker-autoscaler") {
    return configTomlAutoscalerEdit({ settings: asAutoscalerMode(s), groupName: GROUP, keyPath: KEY_PATH }, cache);
  }
  return configTomlEdit({
    settings: s, amiId: "ami-0123456789abcdef0", securityGroupName: "nop-sg-workers", accessKey,
    noProxy: "localhost,127.0.0.1,192.0.2.3,192.0.2.0/24", proxyUrls: { http: "http://192.0.2.1:3128", https: "http://192.0.2.1:3128" }, stack: "prod",
  }, cache);
}

export interface ConfigCase { name: string; text: string }

export function configCases(): ConfigCase[] {
  const cases: ConfigCase[] = [];
  for (const { file, runners } of inputFixtures()) {
    cases.push({ name: `${file} as it is (what destroy puts back)`, text: fixture(file) });
    for (const runner of runners) {
      for (const executor of ["docker+machine", "docker-autoscaler"] as const) {
        for (const cache of ["off", "access-key", "iam"] as const) {
          const who = runner === undefined ? "" : ` runner "${runner}"`;
          cases.push({ name: `${file}${who} → ${executor}, cache ${cache}`, text: tomlEditFor(settingsFor(executor, cache, runner)).render(fixture(file)) });
        }
      }
    }
    // A two-runner file with both runners converted (one stack per runner, one after the other).
    if (runners.length > 1) {
      let text = fixture(file);
      for (const [i, runner] of runners.entries()) text = tomlEditFor(settingsFor(i ? "docker-autoscaler" : "docker+machine", "access-key", runner)).render(text);
      cases.push({ name: `${file} both runners converted (docker+machine and docker-autoscaler, cache on)`, text });
    }
  }
  // The move to docker-autoscaler and back, and the cache turned off again (the merge keeps its keys).
  const start = fixture("collaborage/config.toml");
  const machine = tomlEditFor(settingsFor("docker+machine", "access-key")).render(start);
  const moved = tomlEditFor(settingsFor("docker-autoscaler", "access-key")).render(machine);
  cases.push({ name: "collaborage/config.toml → docker+machine → docker-autoscaler (the move), cache on", text: moved });
  cases.push({ name: "… → docker+machine again (the move back), cache off", text: tomlEditFor(settingsFor("docker+machine", "off")).render(moved) });
  return cases;
}
