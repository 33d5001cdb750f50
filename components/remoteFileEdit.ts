// One guarded edit of one server file: a read, then a compare-and-swap write of the merged text.
// The read re-runs only when the desired change changes (its trigger), so an unchanged stack runs
// no remote command, and a changed one never writes from a stale read.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { RemoteEdit } from "../core/ciServer/edits";
import { editStdin } from "../core/remote/editStdin";
import { parseReadResult, sha256Hex } from "../core/remote/readResult";
import { guardedWriteScript, readFileScript, restoreScript } from "../core/remote/scripts";
import { childOptions } from "./childOptions";

export interface RemoteFileEditArgs {
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** Absolute path on the server (also in edit.write.path; needed before the edit is known). */
  readonly path: string;
  /** The edit; may be secret (its render carries secrets), its write parameters never do. */
  readonly edit: pulumi.Output<RemoteEdit>;
}

export class RemoteFileEdit extends pulumi.ComponentResource {
  /** The write's report: "unchanged: …" or what was written and restarted. */
  public readonly result: pulumi.Output<string>;
  public readonly path: string;

  constructor(name: string, args: RemoteFileEditArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gitlab-runner-autoscaling:ci:RemoteFileEdit", name, {}, opts);
    // The write parameters hold only masked values (summary), so showing them in previews is safe.
    const spec = pulumi.unsecret(args.edit.apply((e) => ({ write: e.write, restore: e.restoreOnDestroy })));
    const write = spec.apply((s) => s.write);
    // Secret when the edit is: a changed proxy password re-reads the file without showing it.
    const desired = args.edit.apply((e) => sha256Hex(JSON.stringify([e.write, e.fingerprint])));

    const read = new command.remote.Command(`${name}-read`, {
      connection: args.connection,
      create: readFileScript(args.path),
      triggers: [args.path, desired],
      // The file may hold the runner token or keys: keep stdout out of logs and encrypt it in state.
      logging: "none",
      addPreviousOutputInEnv: false,
    }, { ...childOptions(this, opts), additionalSecretOutputs: ["stdout", "stderr"] });

    const stdin = pulumi.secret(pulumi.all([read.stdout, args.edit]).apply(([stdout, edit]) => {
      const current = parseReadResult(stdout);
      for (const warning of edit.warnings?.(current.exists ? current.content : null) ?? []) void pulumi.log.warn(warning, this);
      return editStdin(edit, current);
    }));

    const writer = new command.remote.Command(`${name}-write`, {
      connection: args.connection,
      // `pulumi refresh` does not re-run a command: replacing the read is what reads the file again.
      create: pulumi.all([write, read.urn]).apply(([w, urn]) =>
        guardedWriteScript({ ...w, rereadHint: `Run \`pulumi up --replace '${urn}'\` to read it again and merge anew.` })),
      // No delete for edits destroy must keep (a GitLab upgrade cannot be rolled back).
      delete: spec.apply((s) => (s.restore ? restoreScript(s.write) : "echo 'kept on destroy: " + s.write.key + "'")),
      stdin,
      addPreviousOutputInEnv: false,
    }, { parent: this, dependsOn: [read] });

    this.path = args.path;
    this.result = writer.stdout;
    this.registerOutputs({ result: this.result });
  }
}
