// Runs first when runner.executor is docker-autoscaler and no upgrade is configured: reads the CI
// server's docker-compose.yml and refuses a runner image older than 17.1 before any other resource
// exists (they all wait for this one, as they wait for the upgrade when there is one).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { parseReadResult } from "../core/remote/readResult";
import { composeImageVerdict, imageCheckScript } from "../core/ciServer/compose/runnerImageCheck";
import { readFileScript } from "../core/remote/scripts";
import { childOptions } from "./childOptions";

export interface RunnerImageCheckArgs {
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** docker-compose.yml on the CI server. */
  readonly composePath: string;
}

export class RunnerImageCheck extends pulumi.ComponentResource {
  /** What was found, e.g. "gitlab-runner image gitlab/gitlab-runner:ubuntu-v17.11.0: docker-autoscaler available (17.1 or later)". */
  public readonly result: pulumi.Output<string>;

  constructor(name: string, args: RunnerImageCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ci:RunnerImageCheck", name, {}, opts);
    const read = new command.remote.Command(`${name}-read`, {
      connection: args.connection,
      create: readFileScript(args.composePath),
      // The compose file may hold passwords (Collaborage's gitlab-db): as with every read.
      logging: "none",
      addPreviousOutputInEnv: false,
    }, { ...childOptions(this, opts), additionalSecretOutputs: ["stdout", "stderr"] });

    // The verdict holds only image names; an error here stops the resource and all that waits on it.
    // The read stays in the state and does not run again by itself: after a hand edit of the
    // image, replacing it is what reads the file again (as for RemoteFileEdit).
    const verdict = pulumi.unsecret(pulumi.all([read.stdout, read.urn]).apply(([stdout, urn]) => {
      const current = parseReadResult(stdout);
      if (!current.exists) throw new Error(`${args.composePath} does not exist on the CI server; check ciServer.appDir`);
      const v = composeImageVerdict(current.content);
      for (const w of v.warnings) pulumi.log.warn(w, this);
      if (v.problems.length) throw new Error(`${v.problems.join("; ")}. After changing the image by hand, run \`pulumi up --replace '${urn}'\` to read docker-compose.yml again.`);
      return v.ok;
    }));
    const check = new command.remote.Command(`${name}-verdict`, {
      connection: args.connection,
      create: verdict.apply(imageCheckScript),
      addPreviousOutputInEnv: false,
    }, { parent: this, dependsOn: [read] });

    this.result = check.stdout;
    this.registerOutputs({ result: this.result });
  }
}
