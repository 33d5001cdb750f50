// GitLab's upgrade path as resources, in order: a read of docker-compose.yml and the preflight's
// verdict (refusals before anything runs), the server-side preflight (snapshot window, disk), a
// gate for the running version's background migrations, the backup, then per planned hop its
// compose edit (recreate and health wait) and its gate. A failure stops at a named hop; the next
// `up` resumes there, since every resource before it is done and in the state.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { activeWindow, composePath, windowGuard } from "../core/ciServer/edits";
import { gitlabHopEdit, hopKey, type GitlabUpgradeSettings } from "../core/ciServer/upgradeEdits";
import { gatePollSeconds, migrationChecks } from "../core/gitlabUpgrade/gates";
import { plannedHops } from "../core/gitlabUpgrade/path";
import { pathBoundSeconds, upgradePlanLines, type PlanTextInput } from "../core/gitlabUpgrade/planText";
import { GITLAB_SERVICE, upgradeVerdict, type UpgradeVerdict } from "../core/gitlabUpgrade/verdict";
import { imageVersion, parseVersion, versionText } from "../core/gitlabUpgrade/version";
import { parseReadResult } from "../core/remote/readResult";
import { readFileScript } from "../core/remote/scripts";
import { shQuote } from "../core/remote/shell";
import { upgradeBackupScript, upgradeGateScript, upgradePreflightScript } from "../core/remote/upgradeScripts";
import { childOptions } from "./childOptions";
import { RemoteFileEdit } from "./remoteFileEdit";

export interface GitlabUpgradeArgs {
  readonly settings: GitlabUpgradeSettings;
  readonly connection: command.types.input.remote.ConnectionArgs;
}

const RESUME = "Run pulumi up again once they have finished (or raise upgrade.migrationsTimeoutSeconds): it resumes at this gate, from the version the server then runs.";

export class GitlabUpgrade extends pulumi.ComponentResource {
  /** What everything else waits for: the last gate. */
  public readonly last: pulumi.Resource;
  public readonly path: string;
  /** The path in numbers (core/gitlabUpgrade/planText.ts), for the plan and the stack outputs. */
  public readonly plan: pulumi.Output<string>;
  /** Each step's report, by step name. */
  public readonly results: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: GitlabUpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ci:GitlabUpgrade", name, {}, opts);
    const s = args.settings;
    const u = s.upgrade;
    const file = composePath(s);
    const target = imageVersion(u.gitlabImage)!;
    const stopVersions = u.stopVersions.map(parseVersion);
    const hops = plannedHops(target, stopVersions).hops;
    const remote = (suffix: string, a: Omit<command.remote.CommandArgs, "connection">, dependsOn: pulumi.Resource[]) =>
      new command.remote.Command(`${name}-${suffix}`, { ...a, connection: args.connection, addPreviousOutputInEnv: false }, { parent: this, dependsOn });

    // Only what shapes the path re-reads the file: a changed timeout must not start a new backup.
    const read = new command.remote.Command(`${name}-read`, {
      connection: args.connection,
      create: readFileScript(file),
      triggers: [file, u.gitlabImage, u.runnerImage ?? "", u.stopVersions.join(","), String(u.allowEditionChange), String(u.backup)],
      logging: "none",
      addPreviousOutputInEnv: false,
    }, { ...childOptions(this, opts), additionalSecretOutputs: ["stdout", "stderr"] });
    const verdict: pulumi.Output<UpgradeVerdict> = pulumi.unsecret(pulumi.all([read.stdout, read.urn]).apply(([stdout, urn]) => {
      const current = parseReadResult(stdout);
      if (!current.exists) throw new Error(`${file} does not exist on the CI server; set ciServer.appDir to the directory of docker-compose.yml`);
      const v = upgradeVerdict(current.content, { gitlabImage: u.gitlabImage, runnerImage: u.runnerImage, stopVersions, allowEditionChange: u.allowEditionChange, backup: u.backup });
      for (const w of v.warnings) void pulumi.log.warn(w, this);
      if (v.problems.length) {
        throw new Error(`The GitLab upgrade is refused before any hop ran:\n${v.problems.map((p) => `  - ${p}`).join("\n")}\n` +
          `After changing docker-compose.yml by hand, run \`pulumi up --replace '${urn}'\` to read it again.`);
      }
      return v;
    }));

    const window = activeWindow(s);
    const planInput = (v: UpgradeVerdict): PlanTextInput => ({
      verdict: v, readyTimeoutSeconds: u.readyTimeoutSeconds, migrationsTimeoutSeconds: u.migrationsTimeoutSeconds,
      backup: u.backup ? { dir: u.backupDir, timeoutSeconds: u.backupTimeoutSeconds } : undefined,
      runnerStopSeconds: s.runner.gracefulStopSeconds, ...(window && { window }),
    });
    this.plan = verdict.apply((v) => upgradePlanLines(planInput(v)).join("\n"));
    // Worst case from here: the first gate, the backup, every hop that runs, the runner's stop.
    const bound = verdict.apply((v) => pathBoundSeconds(planInput(v)));
    const preflight = remote("preflight", {
      create: pulumi.all([verdict, bound]).apply(([v, b]) => upgradePreflightScript({
        ...windowGuard(s, b),
        ...(u.backup && v.gitlabDataHostDir && v.hops.some((h) => h.runs) && { disk: { backupDir: u.backupDir, gitlabDataHostDir: v.gitlabDataHostDir, ...(v.dbDataHostDir && { dbDataHostDir: v.dbDataHostDir }) } }),
      })),
    }, [read]);
    const gate = (label: string, version: string, checks: ReturnType<typeof migrationChecks>) => upgradeGateScript({
      container: GITLAB_SERVICE, version, checks, label, resumeHint: RESUME,
      timeoutSeconds: u.migrationsTimeoutSeconds, pollSeconds: gatePollSeconds(u.migrationsTimeoutSeconds),
    });
    const gateStart = remote("gate-start", {
      create: verdict.apply((v) => gate(`before the first hop (GitLab ${versionText(v.from)})`, "", migrationChecks(v.from))),
    }, [preflight]);
    // No hop to run (the server is at the target already): nothing to back up for.
    const backup = u.backup ? remote("backup", {
      create: verdict.apply((v) => !v.hops.some((h) => h.runs) ? `echo ${shQuote(`backup: none taken, no hop runs (the server runs GitLab ${versionText(v.from)})`)}` : upgradeBackupScript({
        gitlabContainer: GITLAB_SERVICE, gitlabDataHostDir: v.gitlabDataHostDir!, backupDir: u.backupDir,
        fromVersion: versionText(v.from), timeoutSeconds: u.backupTimeoutSeconds, ...(v.dbContainer && { dbContainer: v.dbContainer }),
      })),
      // Backups outlive the stack: they are the way back if a later step goes wrong.
      delete: `echo ${shQuote(`kept on destroy: the GitLab backups under ${u.backupDir}`)}`,
    }, [gateStart]) : undefined;

    let previous: pulumi.Resource = backup ?? gateStart;
    const results: Record<string, pulumi.Output<string>> = { preflight: preflight.stdout, "gate-start": gateStart.stdout, ...(backup && { backup: backup.stdout }) };
    hops.forEach((hop, i) => {
      const suffix = `to-${versionText(hop)}`;
      const edit = new RemoteFileEdit(`${name}-${suffix}`, {
        connection: args.connection, path: file,
        edit: pulumi.output(gitlabHopEdit(s, hop, { last: i === hops.length - 1, hopsLeft: hops.length - i })),
      }, { parent: this, dependsOn: [previous] });
      const hopGate = remote(`${suffix}-gate`, {
        create: gate(`after the hop to ${versionText(hop)}`, versionText(hop), migrationChecks(hop)),
      }, [edit]);
      results[hopKey(hop)] = pulumi.interpolate`${edit.result}\n${hopGate.stdout}`;
      previous = hopGate;
    });

    this.last = previous;
    this.path = file;
    this.results = pulumi.all(results);
    this.registerOutputs({ results: this.results });
  }
}
