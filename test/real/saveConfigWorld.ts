// A CI server's config.toml in a temp dir, driven by the program's own shell scripts (read, guarded
// write with its reverse edit, restore) exactly as RemoteFileEdit sends them, minus sudo and the
// after-action (the host scenarios run those), and the runner-toml model's SaveConfig in between.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RemoteEdit } from "../../core/ciServer/edits";
import { editStdin } from "../../core/remote/editStdin";
import { parseReadResult } from "../../core/remote/readResult";
import { guardedWriteScript, readFileScript, restoreScript, type GuardedWrite } from "../../core/remote/scripts";
import { modelSave } from "../helpers/runnerTomlModel";

export interface Run { status: number | null; stdout: string; stderr: string }

export class ConfigTomlServer {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-saveconfig-"));
  readonly file = path.join(this.dir, "config", "config.toml");
  private readonly opts = { stateDir: path.join(this.dir, "state"), sudo: false };
  private readonly write: GuardedWrite = { key: "config-toml", path: this.file, summary: [] };

  constructor(initial: string) {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, initial, { mode: 0o600 });
  }

  private sh(script: string, input = ""): Run {
    const r = spawnSync("sh", ["-c", script], { input, encoding: "utf8", env: { PATH: "/usr/bin:/bin", LC_ALL: "C" } });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  text(): string { return fs.readFileSync(this.file, "utf8"); }

  /** `pulumi up`'s config.toml edit: read, merge in TypeScript, guarded write with the reverse edit. */
  up(edit: RemoteEdit): Run {
    const read = parseReadResult(this.sh(readFileScript(this.file, this.opts)).stdout);
    return this.sh(guardedWriteScript(this.write, this.opts), editStdin(edit, read));
  }

  /** The runner's SaveConfig after a token rotation (runner name → new token). */
  rotate(tokens: Record<string, string>): void {
    const r = modelSave(this.file, tokens);
    if (r.status !== 0) throw new Error(`runner-toml save failed: ${r.stderr}`);
  }

  /** `pulumi destroy`'s delete of the write (no stdin: run by hand, not as a replaced resource). */
  destroy(): Run { return this.sh(restoreScript(this.write, this.opts)); }

  close(): void { fs.rmSync(this.dir, { recursive: true, force: true }); }
}
