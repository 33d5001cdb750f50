// Typed, validated stack settings. Everything downstream of settings/load.ts takes these types,
// never raw pulumi.Config values. Secrets are not here: they stay pulumi.Output<string> (see load.ts).

export type ComposeCommand = "auto" | "docker compose" | "docker-compose";
export type CredentialsMode = "accessKey" | "instanceProfile";
/** docker+machine: the runbook; docker-autoscaler: its successor (fleeting + an EC2 Auto Scaling group). */
export type Executor = "docker+machine" | "docker-autoscaler";

export interface SshEndpoint {
  host: string;
  user: string;
  port: number;
}

export interface CiServerSettings extends SshEndpoint {
  /** Directory holding docker-compose.yml and common.env. */
  appDir: string;
  /** Host path of the runner's config.toml. */
  runnerConfigPath: string;
  composeCommand: ComposeCommand;
  /** Security group of the CI server (runner manager + Nexus). */
  securityGroupId: string;
  /** authorized_keys-format host key (TYPE BASE64); SSH refuses any other key. Required unless insecureSkipHostKeyCheck. */
  hostKey?: string;
  /** The operator's explicit opt-out: a missing hostKey (here or the bastion's) is let through, with a warning. */
  insecureSkipHostKeyCheck: boolean;
  bastion?: BastionSettings;
  /** Collaborage's snapshot window (server time), when containers are stopped by cron; undefined = none. */
  snapshotWindow?: { start: string; end: string };
  /** The operator's override: recreate containers even when the window is near or open. */
  allowInSnapshotWindow: boolean;
}

export interface BastionSettings extends SshEndpoint {
  /** The bastion's own host key, as ciServer.hostKey. */
  hostKey?: string;
}

/** At least one of the two images is set: a GitLab patch alone, or a runner bump alone, is fine. */
export interface UpgradeSettings {
  /** The target; may lie several required stops ahead: one hop per stop (core/gitlabUpgrade/). */
  gitlabImage?: string;
  /** An explicit tag, or "follow" (with gitlabImage): the runner of the target's major.minor, at the last hop. */
  runnerImage?: string;
  /** Bound on the wait for GitLab to be healthy after each hop. */
  readyTimeoutSeconds: number;
  /** Bound on each gate's wait for the background migrations (before the first hop and after each). */
  migrationsTimeoutSeconds: number;
  /** A GitLab backup and a PostgreSQL dump before the first hop (false: the operator snapshots the volume). */
  backup: boolean;
  /** Where the backups are kept on the server (one directory per upgrade; never deleted by this program). */
  backupDir: string;
  /** Bound on gitlab-backup create. */
  backupTimeoutSeconds: number;
  /** Lets a CE server move to an EE target. */
  allowEditionChange: boolean;
  /** Patches to land on for stops this program knows no patch of (18.2 and later), x.y.z each. */
  stopVersions: string[];
}

export interface ProxySettings {
  /** http://host:port (no credentials: those go in the secret key proxyCredentials). */
  httpProxy: string;
  httpsProxy: string;
  /** Extra NO_PROXY entries given by the user. */
  noProxy: string[];
}

export interface AmiSettings {
  /** Base image for the builder; undefined = look up Canonical's current Ubuntu LTS. */
  baseAmi?: string;
  instanceType: string;
  /** Subnet of the builder instance; defaults to the workers' subnet. */
  subnetId: string;
  /** Skip the build and use this AMI. */
  existingAmi?: string;
  /** Login user of the base image (ubuntu on Canonical images). */
  sshUser: string;
  /** Where `pulumi up` reaches the builder from, besides the CI server's group (which covers the bastion). */
  sshSourceCidr?: string;
}

export interface WorkerSettings {
  vpcId: string;
  subnetId: string;
  /** CIDR of the workers' subnet, for NO_PROXY; undefined = looked up from subnetId. */
  subnetCidr?: string;
  /** Availability-zone letter (docker-machine appends it to the region). */
  zone: string;
  securityGroupId: string;
  instanceType: string;
  spot: boolean;
  privateAddressOnly: boolean;
  iamInstanceProfile?: string;
  tags: Record<string, string>;
  rootSize?: number;
  /** Workers require IMDSv2 (amazonec2-metadata-token=required; GitLab's docker-machine fork only). */
  imdsV2: boolean;
}

export interface AutoscalingPeriod {
  periods: string[];
  idleCount: number;
  idleTime: number;
  timezone: string;
}

export interface RunnerSettings {
  /** Which [[runners]] entry to convert; undefined = the only one. */
  name?: string;
  concurrent: number;
  limit?: number;
  idleCount: number;
  idleTime: number;
  maxBuilds: number;
  machineName: string;
  credentials: CredentialsMode;
  /** Bump to rotate the access key (a new key is made before the old one goes). */
  keyGeneration: number;
  /** IAM role of the CI server's instance profile (instanceProfile mode gets the policy there). */
  managerRoleName?: string;
  autoscaling: AutoscalingPeriod[];
  /**
   * Bound on the wait for running jobs after SIGQUIT when this program recreates the runner
   * (jobs still running then are aborted by the recreate); 0 = do not wait.
   */
  gracefulStopSeconds: number;
  /** How long destroy (or a change that orphans workers) waits for their running jobs before removing them. */
  drainTimeoutSeconds: number;
  executor: Executor;
  /** Present only when executor is docker-autoscaler. */
  autoscaler?: AutoscalerSettings;
}

export interface AutoscalerSettings {
  /** Jobs at once on one instance ([runners.autoscaler] capacity_per_instance). */
  capacityPerInstance: number;
  /** Most instances: [runners.autoscaler] max_instances and the Auto Scaling group's max size. */
  maxInstances: number;
  /** Fleeting plugin reference, pinned to an exact version by default. */
  plugin: string;
}

export interface S3CacheSettings {
  /** Days after which a cache object expires (lifecycle rule of a created bucket). */
  expirationDays: number;
  /** One cache for every runner of the stack (objects not under runner/<id>/). */
  shared: boolean;
  /** An existing bucket (in aws:region): then no bucket is created. */
  bucketName?: string;
  /** A gateway VPC endpoint for S3 on the workers' route table. */
  vpcEndpoint: boolean;
  /** Route tables for the endpoint; undefined = the table of the workers' subnet. */
  routeTableIds?: string[];
}

export interface CacheSettings {
  s3: S3CacheSettings;
}

export interface Settings {
  region: string;
  ciServer: CiServerSettings;
  upgrade?: UpgradeSettings;
  proxy?: ProxySettings;
  ami: AmiSettings;
  workers: WorkerSettings;
  runner: RunnerSettings;
  /** The shared build cache; absent unless cache.s3.enabled. */
  cache?: CacheSettings;
}

/** Raw values as read from pulumi.Config (structured keys already JSON-parsed). */
export interface RawConfig {
  region?: unknown;
  ciServer?: unknown;
  upgrade?: unknown;
  proxy?: unknown;
  ami?: unknown;
  workers?: unknown;
  runner?: unknown;
  cache?: unknown;
  /** Only checked for presence and form; never echoed. */
  sshPrivateKey?: string;
  proxyCredentials?: string;
  /**
   * Every key set in the project namespace (without the prefix) with its value, secrets as
   * "[secret]"; when given, keys outside PROJECT_KEYS are refused.
   */
  projectConfig?: Record<string, unknown>;
  /** Secret keys (SECRET_KEYS, FOREIGN_SECRET_KEYS) whose value the stack holds in plain text. */
  plaintextSecrets?: string[];
  /** Full keys set outside the project namespace (aws:region, …): checked for a misspelt namespace. */
  otherKeys?: string[];
}

export interface Problem {
  key: string;
  value: string;
  expected: string;
}
