// Keys that count only when a switch turns their feature on. Set while the switch is off, they
// would be dropped without a word: each is refused (the operator clearly expects an effect) or
// warned about (a harmless leftover), naming the switch that would make it count. README's
// "Keys that count only under a switch" lists them all, with the three refused elsewhere
// (runner.capacityPerInstance/maxInstances/plugin in validate.ts, proxyCredentials in validate.ts,
// cache.s3.routeTableIds in cache.ts).
import { insecureHostKeyWarning } from "./hostKey";
import type { Problem, RawConfig, Settings } from "./types";

type Obj = Record<string, unknown>;
const objectOf = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const isSet = (o: Obj, k: string) => o[k] !== undefined && o[k] !== null && o[k] !== "";
const shown = (v: unknown) => JSON.stringify(v);

interface Conditional {
  /** The key as the operator writes it (pulumi config set --path …). */
  key: string;
  /** Whether the key is set while its switch is off. */
  ignored: (raw: Raw) => boolean;
  value: (raw: Raw) => unknown;
  /** What would make it count. */
  when: string;
  refuse: boolean | ((raw: Raw) => boolean);
}

interface Raw {
  upgrade: Obj;
  proxy: Obj;
  ami: Obj;
  workers: Obj;
  runner: Obj;
  s3: Obj;
}

const rawOf = (raw: RawConfig): Raw => ({
  upgrade: objectOf(raw.upgrade),
  proxy: objectOf(raw.proxy),
  ami: objectOf(raw.ami),
  workers: objectOf(raw.workers),
  runner: objectOf(raw.runner),
  s3: objectOf(objectOf(raw.cache).s3),
});

const autoscaler = (r: Raw) => r.runner.executor === "docker-autoscaler";
const accessKey = (r: Raw) => r.runner.credentials === undefined || r.runner.credentials === null || r.runner.credentials === "accessKey";
const builds = (r: Raw) => !isSet(r.ami, "existingAmi");
const cacheOn = (r: Raw) => r.s3.enabled === true || r.s3.enabled === "true";
const falsy = (v: unknown) => v === false || v === "false";

const under = (section: keyof Raw, name: string, prefix: string, off: (r: Raw) => boolean, when: string, refuse: Conditional["refuse"]): Conditional => ({
  key: `${prefix}.${name}`,
  ignored: (r) => isSet(r[section], name) && off(r),
  value: (r) => r[section][name],
  when,
  refuse,
});

/** Every key read only under a condition, besides the three validate.ts and cache.ts refuse themselves. */
export const CONDITIONAL_KEYS: readonly Conditional[] = [
  under("workers", "zone", "workers", autoscaler, "runner.executor is docker+machine (docker-autoscaler's instances take the zone of workers.subnetId)", false),
  // The launch template always requires IMDSv2: false would be a silent no.
  under("workers", "imdsV2", "workers", autoscaler, "runner.executor is docker+machine (docker-autoscaler's launch template always requires IMDSv2)", (r) => falsy(r.workers.imdsV2)),
  under("workers", "subnetCidr", "workers", (r) => !isSet(r.proxy, "httpProxy"), "proxy.httpProxy is set (the subnet goes into NO_PROXY)", false),
  under("runner", "managerRoleName", "runner", accessKey, "runner.credentials is instanceProfile (the role then gets the runner's policy)", true),
  under("runner", "keyGeneration", "runner", (r) => !accessKey(r), "runner.credentials is accessKey (it rotates the IAM access key)", true),
  under("upgrade", "readyTimeoutSeconds", "upgrade", (r) => !isSet(r.upgrade, "gitlabImage"), "upgrade.gitlabImage is set (it bounds the wait for GitLab after its upgrade)", false),
  // The hops' gates and the backup exist only with a GitLab target.
  ...["migrationsTimeoutSeconds", "backup", "backupDir", "backupTimeoutSeconds", "allowEditionChange", "stopVersions"].map((k) =>
    under("upgrade", k, "upgrade", (r) => !isSet(r.upgrade, "gitlabImage"), "upgrade.gitlabImage is set (the key shapes GitLab's upgrade path)", false)),
  ...["baseAmi", "instanceType", "subnetId", "sshSourceCidr"].map((k) =>
    under("ami", k, "ami", (r) => !builds(r), "ami.existingAmi is unset (the key shapes the AMI build, which ami.existingAmi skips)", false)),
  under("ami", "sshUser", "ami", (r) => !builds(r) && !autoscaler(r), "ami.existingAmi is unset, or runner.executor is docker-autoscaler (the fleeting plugin's login user)", false),
  ...["expirationDays", "shared", "bucketName", "vpcEndpoint", "routeTableIds"].map((k) =>
    under("s3", k, "cache.s3", (r) => !cacheOn(r), "cache.s3.enabled is true", false)),
  // A bucket of the operator's keeps its own lifecycle: the rule goes on a bucket the program creates.
  under("s3", "expirationDays", "cache.s3", (r) => cacheOn(r) && isSet(r.s3, "bucketName"), "cache.s3.bucketName is unset (the program creates the bucket and its expiry rule; set expiry on your own bucket yourself)", true),
];

/** The refused ones: a problem naming the key, its value and the switch. */
export function conditionalProblems(raw: RawConfig): Problem[] {
  const r = rawOf(raw);
  return CONDITIONAL_KEYS.filter((c) => c.ignored(r) && (typeof c.refuse === "function" ? c.refuse(r) : c.refuse))
    .map((c) => ({ key: c.key, value: shown(c.value(r)), expected: `unset unless ${c.when}: now it would be ignored` }));
}

/** The warned ones, for every preview and plan. */
export function conditionalWarnings(raw: RawConfig): string[] {
  const r = rawOf(raw);
  return CONDITIONAL_KEYS.filter((c) => c.ignored(r) && !(typeof c.refuse === "function" ? c.refuse(r) : c.refuse))
    .map((c) => `${c.key} is set (${shown(c.value(r))}) but has no effect: it counts only when ${c.when}. Remove it with \`pulumi config rm --path ${c.key}\`, or turn that on.`);
}

/** Every warning the settings give: the ignored keys, and an opt-out of host key checks. */
export function settingsWarnings(raw: RawConfig, s: Settings): string[] {
  return [
    ...(s.ciServer.insecureSkipHostKeyCheck ? [insecureHostKeyWarning({ ci: s.ciServer, bastion: s.ciServer.bastion })] : []),
    ...conditionalWarnings(raw),
  ];
}
