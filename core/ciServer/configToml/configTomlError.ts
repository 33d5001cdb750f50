// What the config.toml merges throw for a file they cannot merge (the message says why).
export class ConfigTomlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigTomlError";
  }
}
