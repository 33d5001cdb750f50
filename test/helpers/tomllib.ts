// Independent TOML 1.0 oracle for tests: Python's tomllib (3.11+), run as a child process.
import { spawnSync } from "node:child_process";

export interface TomllibResult {
  /** The parsed document as JSON; datetimes/dates/times as ISO strings. */
  value: any;
  /** Python type name of every leaf, by path ("runners.0.machine.IdleTime" -> "int"). */
  types: Record<string, string>;
}

const SCRIPT = `
import sys, json, tomllib, datetime
doc = tomllib.loads(sys.stdin.buffer.read().decode("utf-8"))
types = {}
def walk(v, path):
    if isinstance(v, dict):
        return {k: walk(x, path + [k]) for k, x in v.items()}
    if isinstance(v, list):
        return [walk(x, path + [str(i)]) for i, x in enumerate(v)]
    types[".".join(path)] = type(v).__name__
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    return v
value = walk(doc, [])
sys.stdout.write(json.dumps({"value": value, "types": types}))
`;

export function tomllibParse(text: string): TomllibResult {
  const r = spawnSync("python3", ["-c", SCRIPT], { input: text, encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`tomllib could not parse the text:\n${r.stderr}`);
  return JSON.parse(r.stdout) as TomllibResult;
}
