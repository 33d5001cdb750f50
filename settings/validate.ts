// Pure validation of the raw stack config into typed Settings. Every problem is collected and
// reported at once (key path, offending value, expected form) before any resource exists.
import { AWS_ID, isHostname, isIPv4, isIPv4Cidr, isInstanceType, isNoProxyEntry, isRegion, isZoneLetter, proxyUrlProblem } from "../core/validators";
import { maskCredentialsInText } from "../core/proxy/proxyFiles";
import { imageVersion, parseVersion } from "../core/gitlabUpgrade/version";
import { plannedHops } from "../core/gitlabUpgrade/path";
import { isStopMinor } from "../core/gitlabUpgrade/stops";
import { parseWindow } from "../core/gitlabUpgrade/window";
import { AUTOSCALER_MIN_RUNNER, DEFAULT_FLEETING_PLUGIN, convertMachinePeriod, isPluginReference } from "../core/ciServer/configToml/autoscalerConvert";
import { closest } from "./suggest";
import type { AutoscalerSettings, AutoscalingPeriod, CiServerSettings, ComposeCommand, CredentialsMode, Executor, Problem, RawConfig, RunnerSettings, Settings, SshEndpoint, UpgradeSettings } from "./types";
import { cacheSettings } from "./cache";
import { conditionalProblems } from "./conditional";
import { badHostKeyHelp, hostKeyOf, isHostKey, missingHostKeyHelp } from "./hostKey";

/** The project's structured (object) config keys. */
export const STRUCTURED_KEYS = ["ciServer", "upgrade", "proxy", "ami", "workers", "runner", "cache"] as const;
/** The project's secret keys: set with `pulumi config set --secret`, never stored in plain text. */
export const SECRET_KEYS = ["sshPrivateKey", "proxyCredentials"] as const;
/**
 * Every key the program reads in the project namespace, the one list of them: any other key there
 * is a typo and is refused. A new top-level key goes into STRUCTURED_KEYS or SECRET_KEYS.
 */
export const PROJECT_KEYS: readonly string[] = [...STRUCTURED_KEYS, ...SECRET_KEYS];
/** Keys of other namespaces that hold credentials: refused in plain text like the project's secrets. */
export const FOREIGN_SECRET_KEYS = ["aws:secretKey", "aws:token"] as const;
const PROJECT = "gitlab-runner-autoscaling";

// In types.ts so that the checks validate.ts gathers (conditional.ts) can use them without a cycle.
export type { Problem, RawConfig } from "./types";

export class SettingsError extends Error {
  constructor(readonly problems: Problem[]) {
    super(formatProblems(problems));
    this.name = "SettingsError";
  }
}

export function formatProblems(problems: Problem[]): string {
  const lines = problems.map((p) => `  - ${p.key}: got ${p.value}; expected ${p.expected}`);
  return `The stack configuration has ${problems.length} problem(s):\n${lines.join("\n")}\n` +
    `Fix them with \`pulumi config set --path <key> <value>\` (secrets with --secret).`;
}

// A value as a message shows it: JSON, with the password of any URL in it masked.
const show = (v: unknown) => (v === undefined ? "(not set)" : maskCredentialsInText(JSON.stringify(v)));

/** Known keys per object, as the validation met them: for "did you mean" on a misplaced top-level key. */
const knownKeysOf = new WeakMap<Problem[], Map<string, string[]>>();
const knownKeys = (problems: Problem[]) => knownKeysOf.get(problems) ?? knownKeysOf.set(problems, new Map()).get(problems)!;

/** Reads one object of the config, recording problems instead of throwing. */
export class Reader {
  constructor(readonly problems: Problem[], readonly prefix: string, readonly obj: Record<string, unknown>) {}

  static of(problems: Problem[], key: string, raw: unknown, required: boolean): Reader | undefined {
    if (raw === undefined || raw === null) {
      if (required) problems.push({ key, value: "(not set)", expected: "an object (see Pulumi.dev.yaml for an example)" });
      return undefined;
    }
    if (typeof raw !== "object" || Array.isArray(raw)) {
      problems.push({ key, value: show(raw), expected: "an object" });
      return undefined;
    }
    return new Reader(problems, key, raw as Record<string, unknown>);
  }

  key(name: string) {
    return `${this.prefix}.${name}`;
  }

  fail(name: string, value: unknown, expected: string) {
    this.problems.push({ key: this.key(name), value: show(value), expected });
  }

  child(name: string, required = false): Reader | undefined {
    return Reader.of(this.problems, this.key(name), this.obj[name], required);
  }

  /** A string that must pass `check` (a predicate) when present. */
  str(name: string, opts: { def?: string; required?: boolean; check?: (s: string) => boolean; expected: string }): string | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null || v === "") {
      if (opts.required) this.fail(name, undefined, opts.expected);
      return opts.def;
    }
    if (typeof v !== "string" || (opts.check && !opts.check(v))) {
      this.fail(name, v, opts.expected);
      return opts.def;
    }
    return v;
  }

  int(name: string, opts: { def?: number; required?: boolean; min?: number; max?: number; expected?: string }): number | undefined {
    const v = this.obj[name];
    const expected = opts.expected ?? `a whole number${opts.min !== undefined ? ` ≥ ${opts.min}` : ""}${opts.max !== undefined ? ` and ≤ ${opts.max}` : ""}`;
    if (v === undefined || v === null) {
      if (opts.required) this.fail(name, undefined, expected);
      return opts.def;
    }
    // pulumi config set --path stores numbers typed; plain `config set` stores strings.
    const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      this.fail(name, v, expected);
      return opts.def;
    }
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.obj[name];
    if (v === undefined || v === null) return def;
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    this.fail(name, v, "true or false");
    return def;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], def: T): T {
    const v = this.obj[name];
    if (v === undefined || v === null) return def;
    if (!allowed.includes(v as T)) {
      this.fail(name, v, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
      return def;
    }
    return v as T;
  }

  strings(name: string, check: (s: string) => boolean, expected: string): string[] {
    const v = this.obj[name];
    if (v === undefined || v === null) return [];
    const list = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
    if (!Array.isArray(list)) {
      this.fail(name, v, `a list of ${expected}`);
      return [];
    }
    list.forEach((item, i) => {
      if (typeof item !== "string" || !check(item)) this.problems.push({ key: `${this.key(name)}[${i}]`, value: show(item), expected });
    });
    return list.filter((item): item is string => typeof item === "string" && check(item));
  }

  unknownKeys(known: string[]) {
    knownKeys(this.problems).set(this.prefix, known);
    for (const k of Object.keys(this.obj)) {
      if (known.includes(k)) continue;
      const near = closest(k, known);
      this.fail(k, this.obj[k], `no such key; ${near ? `did you mean ${this.key(near)}? ` : ""}known keys here: ${known.join(", ")}`);
    }
  }
}

const IPV4 = { check: isIPv4, expected: "an IPv4 address, e.g. 192.0.2.3" };
const ABS_PATH = { check: (s: string) => /^\/[^\0\n]*$/.test(s) && !s.includes(".."), expected: "an absolute path without .." };
const USER = { check: (s: string) => /^[a-z_][a-z0-9_-]{0,31}$/.test(s), expected: "a Linux user name, e.g. ec2-user" };
const MACHINE_NAME_MAX = 29;
/** First runner major whose image bundles a docker-machine fork with the metadata-token flags (conservative). */
const IMDSV2_MIN_RUNNER_MAJOR = 14;

function endpoint(r: Reader, defaults: { user: string }): SshEndpoint {
  return {
    host: r.str("host", { required: true, check: (s) => isIPv4(s) || isHostname(s), expected: "an IPv4 address or host name" }) ?? "",
    user: r.str("user", { def: defaults.user, ...USER })!,
    port: r.int("port", { def: 22, min: 1, max: 65535 })!,
  };
}

function ciServerSettings(c: Reader): CiServerSettings {
  const base = {
    host: c.str("host", { required: true, ...IPV4 }) ?? "",
    user: c.str("user", { def: "ec2-user", ...USER })!,
    port: c.int("port", { def: 22, min: 1, max: 65535 })!,
    appDir: c.str("appDir", { def: "/home/ec2-user/nop/docker/ci", ...ABS_PATH })!,
    runnerConfigPath: c.str("runnerConfigPath", { def: "/data/gitlab-runner/config/config.toml", ...ABS_PATH })!,
    composeCommand: c.oneOf<ComposeCommand>("composeCommand", ["auto", "docker compose", "docker-compose"], "auto"),
    securityGroupId: c.str("securityGroupId", { required: true, check: (s) => AWS_ID.securityGroup.test(s), expected: "a security group id, e.g. sg-0123456789abcdef0" }) ?? "",
    insecureSkipHostKeyCheck: c.bool("insecureSkipHostKeyCheck", false),
    allowInSnapshotWindow: c.bool("allowInSnapshotWindow", false),
  };
  // Collaborage's cron stops the app 23:00–00:30 (server time); "none" turns the check off.
  const windowText = c.obj.snapshotWindow === undefined || c.obj.snapshotWindow === null ? DEFAULT_SNAPSHOT_WINDOW : c.obj.snapshotWindow;
  const snapshotWindow = windowText === "none" ? undefined : typeof windowText === "string" ? parseWindow(windowText) : undefined;
  if (windowText !== "none" && !snapshotWindow) c.fail("snapshotWindow", windowText, `HH:MM-HH:MM in the server's time (Collaborage's cron: ${DEFAULT_SNAPSHOT_WINDOW}), or none`);
  const b = c.child("bastion");
  const bastion = b && endpoint(b, { user: "ec2-user" });
  b?.unknownKeys(["host", "user", "port", "hostKey"]);
  // Each peer's key: required (with the commands that get and store it) unless the operator opted out.
  const hostKey = (r: Reader, o: { key: string; what: string; peer: SshEndpoint; via?: SshEndpoint }) => {
    const v = r.str("hostKey", { check: isHostKey, expected: badHostKeyHelp(o) });
    if (v === undefined && !base.insecureSkipHostKeyCheck && (r.obj.hostKey === undefined || r.obj.hostKey === null || r.obj.hostKey === "")) {
      r.fail("hostKey", undefined, missingHostKeyHelp(o));
    }
    return v && hostKeyOf(v);
  };
  const bastionKey = b && bastion && hostKey(b, { key: "ciServer.bastion.hostKey", what: "the bastion", peer: bastion });
  const ciKey = hostKey(c, { key: "ciServer.hostKey", what: "the CI server", peer: base, via: bastion });
  return {
    ...base,
    ...(ciKey !== undefined && { hostKey: ciKey }),
    ...(bastion && { bastion: { ...bastion, ...(bastionKey !== undefined && { hostKey: bastionKey }) } }),
    ...(snapshotWindow && { snapshotWindow }),
  };
}

export const DEFAULT_SNAPSHOT_WINDOW = "23:00-00:30";

function gitlabImage(r: Reader, name: string, repo: RegExp, example: string): string | undefined {
  return r.str(name, {
    check: (s) => repo.test(s) && imageVersion(s) !== undefined,
    expected: `an image with a version tag, e.g. ${example}`,
  });
}

function upgradeSettings(u: Reader): UpgradeSettings {
  const gitlab = gitlabImage(u, "gitlabImage", /^gitlab\/gitlab-(ce|ee):/, "gitlab/gitlab-ce:17.11.7-ce.0");
  const follow = u.obj.runnerImage === "follow";
  const runnerImage = follow ? "follow" : gitlabImage(u, "runnerImage", /^gitlab\/gitlab-runner:/, "gitlab/gitlab-runner:ubuntu-v17.11.0, or follow");
  if (follow && !gitlab) u.fail("runnerImage", "follow", "an explicit runner image when upgrade.gitlabImage is not set (follow moves the runner with GitLab's hops)");
  const stopVersions = stringList(u, "stopVersions", (s) => /^\d+\.\d+\.\d+$/.test(s) && isStopMinor(parseVersion(s)),
    "a list of x.y.z on required stops' minors (18.2, 18.5, 18.8, 18.11, …), the latest patch of each, from docs.gitlab.com/update/upgrade_paths");
  const target = gitlab && imageVersion(gitlab);
  const missing = target ? plannedHops(target, stopVersions.map(parseVersion)).missingPatches : [];
  if (missing.length) {
    u.fail("stopVersions", stopVersions, `the latest patch of each stop on the way to ${gitlab} that this program does not know: ` +
      `${missing.map((m) => `${m.major}.${m.minor}.<patch>`).join(", ")} (from docs.gitlab.com/update/upgrade_paths; ` +
      `pulumi config set --path 'upgrade.stopVersions[0]' ${missing[0].major}.${missing[0].minor}.<patch>)`);
  }
  const backupDir = u.str("backupDir", { def: "/data/gitlab-upgrade-backups", ...ABS_PATH })!;
  return {
    ...(gitlab && { gitlabImage: gitlab }),
    ...(runnerImage && { runnerImage }),
    readyTimeoutSeconds: u.int("readyTimeoutSeconds", { def: 1800, min: 1, max: 86400 })!,
    migrationsTimeoutSeconds: u.int("migrationsTimeoutSeconds", { def: 1800, min: 1, max: 86400 })!,
    backup: u.bool("backup", true),
    backupDir,
    backupTimeoutSeconds: u.int("backupTimeoutSeconds", { def: 7200, min: 1, max: 86400 })!,
    allowEditionChange: u.bool("allowEditionChange", false),
    stopVersions,
  };
}

function stringList(r: Reader, name: string, check: (s: string) => boolean, expected: string): string[] {
  const v = r.obj[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || !check(s))) {
    r.fail(name, v, expected);
    return [];
  }
  return v as string[];
}

/** Cron with 7 fields as gorhill/cronexpr reads docker+machine's Periods. */
const isMachinePeriod = (s: string) => s.trim().split(/\s+/).length === 7;

function autoscalingPeriods(r: Reader): AutoscalingPeriod[] {
  const raw = r.obj.autoscaling;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    r.fail("autoscaling", raw, "a list of {periods, idleCount, idleTime, timezone}");
    return [];
  }
  return raw.flatMap((item, i) => {
    const p = Reader.of(r.problems, `${r.key("autoscaling")}[${i}]`, item, true);
    if (!p) return [];
    const periods = p.strings("periods", isMachinePeriod, `a 7-field cron expression "[second] [minute] [hour] [day of month] [month] [day of week] [year]", e.g. "* * 9-17 * * mon-fri *"`);
    if (periods.length === 0 && !Array.isArray(p.obj.periods)) p.fail("periods", p.obj.periods, "a non-empty list of 7-field cron expressions");
    return [{
      periods,
      idleCount: p.int("idleCount", { required: true, min: 0 }) ?? 0,
      idleTime: p.int("idleTime", { required: true, min: 0 }) ?? 0,
      timezone: p.str("timezone", { def: "Asia/Tokyo", check: (s) => s === "Local" || s === "UTC" || /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$/.test(s), expected: "an IANA time zone, e.g. Asia/Tokyo" })!,
    }];
  });
}

export function validateSettings(raw: RawConfig): Settings {
  const problems: Problem[] = [];
  const region = typeof raw.region === "string" && isRegion(raw.region) ? raw.region : "";
  if (!region) problems.push({ key: "aws:region", value: show(raw.region), expected: "an AWS region, e.g. ap-northeast-1 (pulumi config set aws:region ap-northeast-1)" });

  if (!raw.sshPrivateKey) {
    problems.push({ key: "sshPrivateKey", value: "(not set)", expected: "the CI server's SSH private key, set with `pulumi config set --secret sshPrivateKey < key.pem`" });
  } else if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(raw.sshPrivateKey.trim())) {
    problems.push({ key: "sshPrivateKey", value: "[secret]", expected: "a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY-----)" });
  }
  if (raw.proxyCredentials !== undefined && !/^[^:\s]+:\S*$/.test(raw.proxyCredentials)) {
    problems.push({ key: "proxyCredentials", value: "[secret]", expected: "user:password" });
  }

  // ciServer
  const c = Reader.of(problems, "ciServer", raw.ciServer, true);
  const ciServer = c && ciServerSettings(c);
  c?.unknownKeys(["host", "user", "port", "appDir", "runnerConfigPath", "composeCommand", "securityGroupId", "hostKey", "insecureSkipHostKeyCheck", "bastion", "snapshotWindow", "allowInSnapshotWindow"]);

  // upgrade
  const u = Reader.of(problems, "upgrade", raw.upgrade, false);
  const upgrade = u && upgradeSettings(u);
  u?.unknownKeys(["gitlabImage", "runnerImage", "readyTimeoutSeconds", "migrationsTimeoutSeconds", "backup", "backupDir", "backupTimeoutSeconds", "allowEditionChange", "stopVersions"]);
  const unset = (v: unknown) => v === undefined || v === null || v === "";
  if (u && unset(u.obj.gitlabImage) && unset(u.obj.runnerImage)) {
    problems.push({ key: "upgrade", value: show(u.obj), expected: "upgrade.gitlabImage, upgrade.runnerImage or both (e.g. gitlab/gitlab-ce:12.6.8-ce.0), or no upgrade block at all" });
  }

  // proxy
  const p = Reader.of(problems, "proxy", raw.proxy, false);
  const proxyUrl = (name: string, def?: string) => {
    const v = p!.obj[name];
    if (v === undefined && def !== undefined) return def;
    const problem = typeof v === "string" ? proxyUrlProblem(v) : "a URL with a scheme, e.g. http://192.0.2.1:3128";
    if (problem) p!.fail(name, v, problem);
    return typeof v === "string" ? v : "";
  };
  const proxy = p && (() => {
    const httpProxy = proxyUrl("httpProxy");
    return {
      httpProxy,
      httpsProxy: proxyUrl("httpsProxy", httpProxy),
      noProxy: p.strings("noProxy", isNoProxyEntry, "a host name, .domain, IPv4 address or IPv4 CIDR block (e.g. 10.0.0.0/16)"),
    };
  })();
  p?.unknownKeys(["httpProxy", "httpsProxy", "noProxy"]);
  if (!proxy && raw.proxyCredentials !== undefined) problems.push({ key: "proxyCredentials", value: "[secret]", expected: "unset unless proxy.httpProxy is set" });

  // workers
  const w = Reader.of(problems, "workers", raw.workers, true);
  const workers = w && {
    vpcId: w.str("vpcId", { required: true, check: (s) => AWS_ID.vpc.test(s), expected: "a VPC id, e.g. vpc-0123456789abcdef0" }) ?? "",
    subnetId: w.str("subnetId", { required: true, check: (s) => AWS_ID.subnet.test(s), expected: "a subnet id, e.g. subnet-0123456789abcdef0" }) ?? "",
    subnetCidr: w.str("subnetCidr", { check: isIPv4Cidr, expected: "an IPv4 CIDR block, e.g. 10.0.1.0/24" }),
    zone: w.str("zone", { def: "a", check: isZoneLetter, expected: "the availability-zone LETTER only (a for ap-northeast-1a); docker-machine appends it to the region" })!,
    securityGroupId: w.str("securityGroupId", { required: true, check: (s) => AWS_ID.securityGroup.test(s), expected: "a security group id (sg-…); the program looks up the name docker-machine needs" }) ?? "",
    instanceType: w.str("instanceType", { def: "t2.micro", check: isInstanceType, expected: "an EC2 instance type, e.g. t3.medium" })!,
    spot: w.bool("spot", true),
    privateAddressOnly: w.bool("privateAddressOnly", true),
    iamInstanceProfile: w.str("iamInstanceProfile", { check: (s) => /^[\w+=,.@-]{1,128}$/.test(s), expected: "an instance profile NAME (not an ARN)" }),
    tags: (() => {
      const t = w.obj.tags;
      if (t === undefined || t === null) return {};
      if (typeof t !== "object" || Array.isArray(t)) {
        w.fail("tags", t, "a map of tag names to values");
        return {};
      }
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(t)) {
        // `pulumi config set --path workers.tags.gitlab true` stores a boolean: tags are text either way.
        const text = typeof v === "boolean" || typeof v === "number" ? String(v) : v;
        if (typeof text !== "string" || /[,\n]/.test(k + text) || !k) w.fail(`tags.${k}`, v, "a string; neither name nor value may contain a comma (amazonec2-tags is a comma-separated key,value list)");
        else out[k] = text;
      }
      return out;
    })(),
    rootSize: w.int("rootSize", { min: 8, max: 16384, expected: "a root volume size in GiB (8–16384)" }),
    imdsV2: w.bool("imdsV2", true),
  };
  w?.unknownKeys(["vpcId", "subnetId", "subnetCidr", "zone", "securityGroupId", "instanceType", "spot", "privateAddressOnly", "iamInstanceProfile", "tags", "rootSize", "imdsV2"]);
  // The metadata-token flags exist only in GitLab's docker-machine fork from v0.16.2-gitlab.11 (2021);
  // a runner image from before bundles a docker-machine that fails every create on an unknown flag.
  const runnerVersion = upgrade?.runnerImage && imageVersion(upgrade.runnerImage);
  const executorRaw = (raw.runner as Record<string, unknown> | undefined)?.executor;
  if (executorRaw !== "docker-autoscaler" && workers?.imdsV2 && runnerVersion && runnerVersion.major < IMDSV2_MIN_RUNNER_MAJOR) {
    problems.push({
      key: "workers.imdsV2",
      value: "true (the default)",
      expected: `false with upgrade.runnerImage ${upgrade!.runnerImage}: its docker-machine predates amazonec2-metadata-token; or a runner image ${IMDSV2_MIN_RUNNER_MAJOR}.0 or later`,
    });
  }
  if (workers && ciServer && workers.securityGroupId && workers.securityGroupId === ciServer.securityGroupId) {
    problems.push({ key: "workers.securityGroupId", value: show(workers.securityGroupId), expected: "a group other than ciServer.securityGroupId (the rules reference one from the other)" });
  }

  // ami
  const a = Reader.of(problems, "ami", raw.ami ?? {}, false);
  const ami = a && {
    baseAmi: a.str("baseAmi", { check: (s) => AWS_ID.ami.test(s), expected: "an AMI id, e.g. ami-0123456789abcdef0" }),
    instanceType: a.str("instanceType", { def: "t2.micro", check: isInstanceType, expected: "an EC2 instance type, e.g. t3.small" })!,
    subnetId: a.str("subnetId", { def: workers?.subnetId ?? "", check: (s) => AWS_ID.subnet.test(s), expected: "a subnet id, e.g. subnet-0123456789abcdef0" })!,
    existingAmi: a.str("existingAmi", { check: (s) => AWS_ID.ami.test(s), expected: "an AMI id, e.g. ami-0123456789abcdef0" }),
    sshUser: a.str("sshUser", { def: "ubuntu", ...USER })!,
    sshSourceCidr: a.str("sshSourceCidr", { check: (s) => isIPv4Cidr(s) && s !== "0.0.0.0/0", expected: "the IPv4 CIDR block `pulumi up` runs from, e.g. 198.51.100.7/32 (never 0.0.0.0/0)" }),
  };
  a?.unknownKeys(["baseAmi", "instanceType", "subnetId", "existingAmi", "sshUser", "sshSourceCidr"]);

  // runner
  const r = Reader.of(problems, "runner", raw.runner ?? {}, false);
  const runner: RunnerSettings | undefined = r && {
    name: r.str("name", { check: (s) => s.length > 0 && !/[\n"]/.test(s), expected: "the name = \"…\" of a [[runners]] entry" }),
    concurrent: r.int("concurrent", { def: 3, min: 2, max: 1000, expected: "a whole number ≥ 2 (the runbook: 同時に実行するジョブ数, 2以上)" })!,
    limit: r.int("limit", { min: 1, expected: "a whole number ≥ 1 (the most machines this runner may run)" }),
    idleCount: r.int("idleCount", { def: 0, min: 0 })!,
    idleTime: r.int("idleTime", { def: 1800, min: 0, expected: "seconds, a whole number ≥ 0" })!,
    maxBuilds: r.int("maxBuilds", { def: 100, min: 0, expected: "a whole number ≥ 0 (0 = unlimited jobs per machine)" })!,
    machineName: r.str("machineName", {
      def: "gitlab-docker-machine-%s",
      check: (s) => s.split("%s").length === 2 && !/%[^s]/.test(s.replace("%s", "")) && /^[a-z0-9-]+$/.test(s.replace("%s", "")) && s.length <= MACHINE_NAME_MAX,
      expected: `[a-z0-9-] with %s exactly once, at most ${MACHINE_NAME_MAX} characters, e.g. gitlab-docker-machine-%s`,
    })!,
    credentials: r.oneOf<CredentialsMode>("credentials", ["accessKey", "instanceProfile"], "accessKey"),
    keyGeneration: r.int("keyGeneration", { def: 1, min: 1 })!,
    managerRoleName: r.str("managerRoleName", { check: (s) => /^[\w+=,.@-]{1,64}$/.test(s), expected: "an IAM role NAME (not an ARN)" }),
    autoscaling: autoscalingPeriods(r),
    gracefulStopSeconds: r.int("gracefulStopSeconds", {
      def: 600, min: 0, max: 7200,
      expected: "seconds a runner restart waits for running jobs to finish, a whole number from 0 to 7200 (pulumi up waits that long)",
    })!,
    drainTimeoutSeconds: r.int("drainTimeoutSeconds", { def: 600, min: 1, max: 86400, expected: "seconds, a whole number from 1 to 86400" })!,

    executor: r.oneOf<Executor>("executor", ["docker+machine", "docker-autoscaler"], "docker+machine"),
  };
  const autoscaler = r && runner && autoscalerSettings(r, runner.executor);
  if (runner && autoscaler) {
    runner.autoscaler = autoscaler;
    // GitLab: set concurrent to max_instances × capacity_per_instance (docs, executors/docker_autoscaler).
    if (r!.obj.concurrent === undefined || r!.obj.concurrent === null) runner.concurrent = Math.max(2, autoscaler.maxInstances * autoscaler.capacityPerInstance);
  }
  r?.unknownKeys(["name", "concurrent", "limit", "idleCount", "idleTime", "maxBuilds", "machineName", "credentials", "keyGeneration", "managerRoleName", "autoscaling", "gracefulStopSeconds", "drainTimeoutSeconds", "executor", ...AUTOSCALER_KEYS]);
  if (runner) {
    if (runner.credentials === "instanceProfile" && !runner.managerRoleName) {
      problems.push({ key: "runner.managerRoleName", value: "(not set)", expected: "the IAM role of the CI server's instance profile when runner.credentials is instanceProfile" });
    }
    if (runner.limit !== undefined && runner.idleCount > runner.limit) {
      problems.push({ key: "runner.idleCount", value: show(runner.idleCount), expected: `at most runner.limit (${runner.limit})` });
    }
  }

  if (runner?.autoscaler) autoscalerProblems(problems, runner as RunnerWithAutoscaler, upgrade);

  const cache = cacheSettings(Reader.of(problems, "cache", raw.cache, false), { proxy: !!proxy });
  problems.push(...conditionalProblems(raw));

  problems.push(
    ...plaintextSecretProblems(raw.plaintextSecrets ?? []),
    ...unknownProjectKeys(raw.projectConfig ?? {}, knownKeys(problems)),
    ...misspeltNamespaces(raw.otherKeys ?? [], !region),
  );

  if (problems.length) throw new SettingsError(problems);
  return { region, ciServer: ciServer!, upgrade, proxy, ami: ami!, workers: workers!, runner: runner!, ...(cache && { cache }) };
}

const SET_SECRET: Record<string, string> = {
  sshPrivateKey: "pulumi config set --secret sshPrivateKey < ~/.ssh/ci-server.pem",
  proxyCredentials: "pulumi config set --secret proxyCredentials (then type user:password at the prompt, not on the command line)",
};

/** The Pulumi CLI refuses a plain value for a key Pulumi.yaml declares secret; this program refuses it for every secret key. */
function plaintextSecretProblems(keys: string[]): Problem[] {
  return keys.map((key) => ({
    key,
    value: "[secret] (stored in plain text in the stack file)",
    expected: `an encrypted value: replace it with ${SET_SECRET[key] ?? `pulumi config set --secret ${key}`}`,
  }));
}

/** A key in a namespace one typo from the project's (gitlab-runner-autoscale:runner), or aws:regoin. */
function misspeltNamespaces(keys: string[], regionMissing: boolean): Problem[] {
  return keys.flatMap((full) => {
    const i = full.indexOf(":");
    const [ns, name] = [full.slice(0, i), full.slice(i + 1)];
    if (ns !== PROJECT && closest(ns, [PROJECT])) {
      return [{ key: full, value: "(not shown)", expected: `a key of the ${PROJECT}: namespace: did you mean ${PROJECT}:${name}? Run \`pulumi config rm ${full}\` and set it again under ${PROJECT}: (it would be ignored)` }];
    }
    if (ns === "aws" && regionMissing && name !== "region" && closest(name, ["region"])) {
      return [{ key: full, value: "(not shown)", expected: `aws:region (did you mean it?): run \`pulumi config rm ${full}\`, then \`pulumi config set aws:region <region>\`` }];
    }
    return [];
  });
}

/** The commands that set a misplaced object's values under the right key (its scalar leaves, else the general form). */
function setUnder(top: string, value: unknown): string {
  const leaves = value && typeof value === "object" && !Array.isArray(value) ? Object.entries(value) : [];
  const plain = leaves.length > 0 && leaves.every(([k, v]) => /^[A-Za-z0-9_]+$/.test(k) && (typeof v === "number" || typeof v === "boolean" || (typeof v === "string" && /^[\w.:/@%-]+$/.test(v))));
  return plain
    ? leaves.map(([k, v]) => `\`pulumi config set --path ${top}.${k} ${maskCredentialsInText(String(v))}\``).join(" and ")
    : `set each value under it: \`pulumi config set --path ${top}.<key> <value>\``;
}

/** A key of the project namespace the program does not read: a typo that would otherwise be ignored. */
function unknownProjectKeys(config: Record<string, unknown>, nested: Map<string, string[]>): Problem[] {
  return Object.entries(config).filter(([key]) => !PROJECT_KEYS.includes(key)).map(([key, value]) => {
    const top = key === "region" ? "aws:region" : closest(key, PROJECT_KEYS);
    // A key that belongs inside an object: a top-level idleTime is runner.idleTime.
    const paths = [...nested].flatMap(([prefix, keys]) => keys.map((k) => [k, `${prefix}.${k}`]));
    const leaf = closest(key, paths.map(([k]) => k));
    const inside = leaf === undefined ? undefined : paths.find(([k]) => k === leaf)![1];
    const secret = (top !== undefined && (SECRET_KEYS as readonly string[]).includes(top)) || (typeof value === "string" && /PRIVATE KEY/.test(value));
    const scalar = typeof value === "number" || typeof value === "boolean" || (typeof value === "string" && !secret && !/\s/.test(value));
    const shown = scalar ? maskCredentialsInText(String(value)) : "<value>";
    const rm = `\`pulumi config rm ${key}\``;
    // `pulumi config set runner.idleTime 60` without --path makes a key named "runner.idleTime".
    const dotted = key.includes(".") && (PROJECT_KEYS as readonly string[]).includes(key.slice(0, key.indexOf(".")));
    const fix =
      dotted ? `set it with --path, which makes ${key} a value inside ${key.slice(0, key.indexOf("."))}: run \`pulumi config rm '${key}'\`, then \`pulumi config set --path ${key} ${shown}\`; `
      : top === "aws:region" ? `did you mean aws:region? Run ${rm}, then \`pulumi config set aws:region ${shown}\`; `
      : top !== undefined && secret ? `did you mean ${top}? Run ${rm}, then ${SET_SECRET[top] ?? `pulumi config set --secret ${top}`}; `
      : top !== undefined ? `did you mean ${top}? Run ${rm}, then ${setUnder(top, value)}; `
      : inside !== undefined ? `did you mean ${inside}? Run ${rm}, then \`pulumi config set --path ${inside} ${shown}\`; `
      : `remove it with ${rm}; `;
    return {
      key,
      value: secret ? "[secret]" : show(value),
      expected: `no such key in the gitlab-runner-autoscaling: namespace (it would be ignored); ${fix}known keys: ${PROJECT_KEYS.join(", ")} (and aws:region)`,
    };
  });
}

// ---- runner.executor: docker-autoscaler ---------------------------------------------------------

const AUTOSCALER_KEYS = ["capacityPerInstance", "maxInstances", "plugin"];

type RunnerWithAutoscaler = RunnerSettings & { autoscaler: AutoscalerSettings };

/** The autoscaler's knobs; refused in docker+machine mode, where they would silently do nothing. */
function autoscalerSettings(r: Reader, executor: Executor): AutoscalerSettings | undefined {
  if (executor !== "docker-autoscaler") {
    for (const k of AUTOSCALER_KEYS) {
      if (r.obj[k] !== undefined && r.obj[k] !== null) r.fail(k, r.obj[k], "unset unless runner.executor is docker-autoscaler");
    }
    return undefined;
  }
  return {
    capacityPerInstance: r.int("capacityPerInstance", { def: 1, min: 1, max: 100, expected: "a whole number of jobs per instance, 1–100" })!,
    maxInstances: r.int("maxInstances", { required: true, min: 1, max: 1000, expected: "the most worker instances, 1–1000 (also the Auto Scaling group's max size); required with runner.executor docker-autoscaler" }) ?? 1,
    plugin: r.str("plugin", {
      def: DEFAULT_FLEETING_PLUGIN,
      check: isPluginReference,
      expected: `a fleeting plugin reference pinned to a version, e.g. ${DEFAULT_FLEETING_PLUGIN}`,
    })!,
  };
}

function autoscalerProblems(problems: Problem[], runner: RunnerWithAutoscaler, upgrade: Settings["upgrade"]): void {
  const a = runner.autoscaler;
  const atMost = (key: string, value: number) => {
    if (value > a.maxInstances) problems.push({ key, value: show(value), expected: `at most runner.maxInstances (${a.maxInstances}): idle machines become idle instances` });
  };
  // GitLab Runner's config schema gives idle_time a minimum of 1s.
  const idleTime = (key: string, value: number) => {
    if (value < 1) problems.push({ key, value: show(value), expected: "at least 1 second with runner.executor docker-autoscaler (idle_time has a minimum of 1s)" });
  };
  atMost("runner.idleCount", runner.idleCount);
  idleTime("runner.idleTime", runner.idleTime);
  runner.autoscaling.forEach((p, i) => {
    atMost(`runner.autoscaling[${i}].idleCount`, p.idleCount);
    idleTime(`runner.autoscaling[${i}].idleTime`, p.idleTime);
    p.periods.forEach((period, j) => {
      const c = convertMachinePeriod(period);
      if (c.problem) {
        problems.push({ key: `runner.autoscaling[${i}].periods[${j}]`, value: show(period), expected: `a period the docker-autoscaler can express (5-field cron after dropping second and year): it ${c.problem}` });
      }
    });
  });
  // With an upgrade the target image is known now; without one, the program checks the image in
  // the server's docker-compose.yml before anything else (core/ciServer/compose/runnerImageCheck.ts).
  // follow: the runner of the target GitLab's major.minor.
  const v = upgrade?.runnerImage === "follow" ? upgrade.gitlabImage && imageVersion(upgrade.gitlabImage) : upgrade?.runnerImage && imageVersion(upgrade.runnerImage);
  if (v && (v.major < AUTOSCALER_MIN_RUNNER.major || (v.major === AUTOSCALER_MIN_RUNNER.major && v.minor < AUTOSCALER_MIN_RUNNER.minor))) {
    problems.push({
      key: "upgrade.runnerImage",
      value: show(upgrade!.runnerImage),
      expected: `a runner image ${AUTOSCALER_MIN_RUNNER.major}.${AUTOSCALER_MIN_RUNNER.minor} or later with runner.executor docker-autoscaler (the executor's first generally available release)` +
        (upgrade!.runnerImage === "follow" ? `; follow gives the runner of ${upgrade!.gitlabImage}, so that GitLab target must be ${AUTOSCALER_MIN_RUNNER.major}.${AUTOSCALER_MIN_RUNNER.minor} or later` : ""),
    });
  }
}
