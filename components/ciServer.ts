// The runbook's CI-server steps after the upgrade, over SSH, in the runbook's order. The steps run
// one after another (each read waits for the previous write) so two edits never race on one server.
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { runnerCacheEdit } from "../core/buildCache";
import { commonEnvEdit, commonEnvPath, composePath, composeProxyEdit, configTomlEdit, daemonJsonEdit, dockerDropInEdit, type RemoteEdit } from "../core/ciServerEdits";
import { DAEMON_JSON_PATH } from "../core/daemonJson";
import type { MachineOptionsInput } from "../core/machineOptions";
import { CI_DOCKER_DROPIN_PATH, type ProxyUrls } from "../core/proxyFiles";
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
    const tomlEdit = pulumi
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
        if (s.cache && cacheBucket === undefined) throw new Error("settings.cache is on but CiServer got no cacheBucketName");
        const cache = s.cache && cacheBucket !== undefined
          ? runnerCacheEdit({
              s3: s.cache.s3, region: s.region, runnerName: s.runner.name, path: pulumi.getStack(),
              bucketName: cacheBucket, credentials: s.runner.credentials, accessKey: input.accessKey,
            })
          : undefined;
        return configTomlEdit(input, cache);
      });
    const last = edits[edits.length - 1] ?? args.after;
    const gate = args.beforeConfigToml?.(last ? [last] : []);
    step("config-toml", s.ciServer.runnerConfigPath, tomlEdit, [...(args.configTomlDependsOn ?? []), ...(gate ? [gate] : [])]);

    this.files = edits.map((e) => e.path);
    this.results = pulumi.all(Object.fromEntries(edits.map((e, i) => [steps[i], e.result])));
    this.registerOutputs({ files: this.files, results: this.results });
  }
}
