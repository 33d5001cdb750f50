// The runbook's CI-server steps after the upgrade, over SSH, in the runbook's order. The steps run
// one after another (each read waits for the previous write) so two edits never race on one server.
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { runnerCacheEdit } from "../core/aws/buildCache";
import { asAutoscalerMode, configTomlAutoscalerEdit, fleetingAwsConfigEdit, fleetingCredentialsEdit, fleetingFile, FLEETING_AWS_CONFIG, FLEETING_AWS_CREDENTIALS } from "../core/ciServer/autoscalerEdits";
import { commonEnvEdit, commonEnvPath, composePath, composeProxyEdit, configTomlEdit, daemonJsonEdit, dockerDropInEdit, type RemoteEdit } from "../core/ciServer/edits";
import { DAEMON_JSON_PATH } from "../core/ciServer/dockerd/daemonJson";
import type { MachineOptionsInput } from "../core/ciServer/configToml/machineOptions";
import { CI_DOCKER_DROPIN_PATH, type ProxyUrls } from "../core/proxy/proxyFiles";
import type { Settings } from "../settings/types";
import { RemoteFileEdit } from "./remoteFileEdit";

export interface CiServerArgs {
  readonly settings: Settings;
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** AMI the workers boot from. */
  readonly amiId: pulumi.Input<string>;
  /** Name of the workers' security group (docker-machine wants the name). */
  readonly workerSecurityGroupName: pulumi.Input<string>;
  /** accessKey mode only; the secret is a Pulumi secret. */
  readonly accessKey?: { id: pulumi.Input<string>; secret: pulumi.Input<string> };
  /** Proxy environments: NO_PROXY and the proxy URLs (secret when they carry credentials). */
  readonly proxy?: { noProxy: pulumi.Input<string>; urls: pulumi.Input<ProxyUrls> };
  /** The GitLab upgrade, when there is one: the first edit waits for it. */
  readonly after?: pulumi.Resource;
  /** The build cache's bucket (settings.cache on): config.toml gets [runners.cache]. */
  readonly cacheBucketName?: pulumi.Input<string>;
  /** What config.toml must wait for besides its inputs (security-group rules). */
  readonly configTomlDependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * Makes a resource that waits for the other edits and that config.toml's edit waits for (the
   * worker cleanup): destroy then runs its delete after config.toml is restored, before the others.
   */
  readonly beforeConfigToml?: (dependsOn: pulumi.Resource[]) => pulumi.Resource;
  /** runner.executor docker-autoscaler only. */
  readonly autoscaler?: CiServerAutoscalerArgs;
}

export interface CiServerAutoscalerArgs {
  /** The Auto Scaling group's real name, for plugin_config.name. */
  readonly groupName: pulumi.Input<string>;
  /** The connector's private key as the runner container sees it (static key mode), if any. */
  readonly keyPath?: string;
  /** What config.toml must also wait for: the fleeting plugin install, the worker key. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class CiServer extends pulumi.ComponentResource {
  /** Paths of the files this stack edits, in step order. */
  public readonly files: string[];
  public readonly results: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: CiServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ci:CiServer", name, {}, opts);
    const s = args.settings;
    const edits: RemoteFileEdit[] = [];
    const steps: string[] = [];
    const step = (suffix: string, path: string, edit: pulumi.Output<RemoteEdit>, dependsOn: pulumi.Input<pulumi.Resource>[] = []) => {
      const previous = edits[edits.length - 1] ?? args.after;
      const e = new RemoteFileEdit(`${name}-${suffix}`, { connection: args.connection, path, edit }, {
        parent: this,
        dependsOn: [...(previous ? [previous] : []), ...dependsOn],
      });
      edits.push(e);
      steps.push(suffix);
      return e;
    };

    if (args.proxy) {
      const p = args.proxy;
      step("common-env", commonEnvPath(s), pulumi.output(p.noProxy).apply((np) => commonEnvEdit(s, np)));
      step("compose-proxy", composePath(s), pulumi.output(composeProxyEdit(s)));
      // live-restore first: the drop-in's dockerd restart then stops no container.
      step("docker-daemon-json", DAEMON_JSON_PATH, pulumi.output(daemonJsonEdit()));
      step("docker-dropin", CI_DOCKER_DROPIN_PATH, pulumi.output(p.urls).apply(dockerDropInEdit));
    }
    const autoscaler = s.runner.executor === "docker-autoscaler" ? args.autoscaler : undefined;
    if (s.runner.executor === "docker-autoscaler" && !autoscaler) throw new Error("runner.executor docker-autoscaler needs the worker group (CiServerArgs.autoscaler)");
    if (autoscaler) {
      // The plugin's AWS files first: config.toml names them.
      step("fleeting-aws-config", fleetingFile(s, FLEETING_AWS_CONFIG).host, pulumi.output(fleetingAwsConfigEdit(s)));
      if (args.accessKey) {
        const key = pulumi.all([args.accessKey.id, args.accessKey.secret]).apply(([id, secret]) => fleetingCredentialsEdit(s, { id, secret }));
        step("fleeting-aws-credentials", fleetingFile(s, FLEETING_AWS_CREDENTIALS).host, pulumi.secret(key));
      }
    }
    // The S3 cache tables join whichever executor's config.toml edit.
    const cacheEdit = (cacheBucket: string | undefined, accessKey: { id: string; secret: string } | undefined) => {
      if (s.cache && cacheBucket === undefined) throw new Error("settings.cache is on but CiServer got no cacheBucketName");
      return s.cache && cacheBucket !== undefined
        ? runnerCacheEdit({
            s3: s.cache.s3, region: s.region, runnerName: s.runner.name, path: pulumi.getStack(),
            bucketName: cacheBucket, credentials: s.runner.credentials, accessKey,
          })
        : undefined;
    };
    const tomlEdit = autoscaler
      ? pulumi
        .all([autoscaler.groupName, args.accessKey?.id, args.accessKey?.secret, args.cacheBucketName])
        .apply(([groupName, keyId, keySecret, cacheBucket]) =>
          configTomlAutoscalerEdit(
            { settings: asAutoscalerMode(s), groupName, keyPath: autoscaler.keyPath },
            cacheEdit(cacheBucket, keyId && keySecret ? { id: keyId, secret: keySecret } : undefined),
          ))
      : pulumi
      .all([args.amiId, args.workerSecurityGroupName, args.accessKey?.id, args.accessKey?.secret, args.proxy?.noProxy, args.proxy?.urls, args.cacheBucketName])
      .apply(([amiId, securityGroupName, keyId, keySecret, noProxy, urls, cacheBucket]) => {
        const input: MachineOptionsInput = {
          settings: s,
          amiId,
          securityGroupName,
          accessKey: keyId && keySecret ? { id: keyId, secret: keySecret } : undefined,
          noProxy,
          proxyUrls: urls && { http: urls.http, https: urls.https },
          stack: pulumi.getStack(),
        };
        return configTomlEdit(input, cacheEdit(cacheBucket, input.accessKey));
      });
    const last = edits[edits.length - 1] ?? args.after;
    const gate = args.beforeConfigToml?.(last ? [last] : []);
    step("config-toml", s.ciServer.runnerConfigPath, tomlEdit, [...(args.configTomlDependsOn ?? []), ...(autoscaler?.dependsOn ?? []), ...(gate ? [gate] : [])]);

    this.files = edits.map((e) => e.path);
    this.results = pulumi.all(Object.fromEntries(edits.map((e, i) => [steps[i], e.result])));
    this.registerOutputs({ files: this.files, results: this.results });
  }
}
