// Which compose project a script acts on; apart from scripts.ts so that afterActions.ts (which
// scripts.ts imports) can name it without an import cycle.
export type ComposeCommand = "auto" | "docker compose" | "docker-compose";
export interface ComposeContext {
  /** The compose project directory (where docker-compose.yml lives). */
  readonly appDir: string;
  readonly command: ComposeCommand;
}
