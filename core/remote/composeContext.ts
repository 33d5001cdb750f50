// Which compose project a script acts on, and its check; apart from scripts.ts so that
// afterActions.ts (which scripts.ts imports) can use them without an import cycle.
import { shPath } from "./shell";

export type ComposeCommand = "auto" | "docker compose" | "docker-compose";
export interface ComposeContext {
  /** The compose project directory (where docker-compose.yml lives). */
  readonly appDir: string;
  readonly command: ComposeCommand;
}

export function checkCompose(c: ComposeContext, what: string): void {
  shPath(c.appDir, `${what}.appDir`);
  if (!["auto", "docker compose", "docker-compose"].includes(c.command)) {
    throw new Error(`${what}.command must be auto, "docker compose" or docker-compose: ${JSON.stringify(c.command)}`);
  }
}
