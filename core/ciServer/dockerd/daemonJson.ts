// /etc/docker/daemon.json with "live-restore": true, so that a dockerd restart (the proxy drop-in)
// leaves GitLab, PostgreSQL, Nexus and the runner running. Docker: "On Linux, you can avoid a
// restart (and avoid any downtime for your containers) by reloading the Docker daemon"
// (https://docs.docker.com/engine/daemon/live-restore/). The key is inserted textually: every
// other byte of the operator's file (Collaborage's insecure-registries, its indentation) stays.

export const DAEMON_JSON_PATH = "/etc/docker/daemon.json";
export const LIVE_RESTORE_KEY = "live-restore";

interface Member {
  key: string;
  /** Offsets of the value's first character and one past its last. */
  valueStart: number;
  valueEnd: number;
  /** Offset of the member's key (its opening quote). */
  keyStart: number;
}

const WS = /[ \t\r\n]/;

/** Top-level members of a JSON object text (already known to parse), with their positions. */
function topLevelMembers(text: string, open: number): Member[] {
  const members: Member[] = [];
  let i = open + 1;
  const skipWs = () => {
    while (i < text.length && WS.test(text[i])) i++;
  };
  const skipString = () => {
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
  };
  const skipValue = () => {
    let depth = 0;
    for (;;) {
      const c = text[i];
      if (c === '"') {
        skipString();
        if (depth === 0) return;
        continue;
      }
      if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) return;
        depth--;
        i++;
        if (depth === 0) return;
        continue;
      } else if (depth === 0 && (c === "," || WS.test(c))) return;
      i++;
    }
  };
  skipWs();
  while (text[i] !== "}") {
    const keyStart = i;
    skipString();
    const key = JSON.parse(text.slice(keyStart, i)) as string;
    skipWs();
    i++; // colon
    skipWs();
    const valueStart = i;
    skipValue();
    members.push({ key, keyStart, valueStart, valueEnd: i });
    skipWs();
    if (text[i] === ",") {
      i++;
      skipWs();
    }
  }
  return members;
}

/**
 * The daemon.json text with "live-restore": true. Absent file: a new file with only that key.
 * Throws (naming the file) on text that is not a JSON object, as dockerd would refuse to start.
 */
export function withLiveRestore(current: string | null, file = DAEMON_JSON_PATH): string {
  if (current === null || current.trim() === "") return `{\n  "${LIVE_RESTORE_KEY}": true\n}\n`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(current);
  } catch (e) {
    throw new Error(`${file} on the CI server is not valid JSON (${(e as Error).message}); dockerd cannot load it either. Fix it by hand, then run pulumi up again.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file} on the CI server must hold a JSON object ({...}); found ${Array.isArray(parsed) ? "an array" : typeof parsed}. Fix it by hand, then run pulumi up again.`);
  }
  const open = current.indexOf("{");
  const members = topLevelMembers(current, open);
  const own = members.filter((m) => m.key === LIVE_RESTORE_KEY);
  let out: string;
  if (own.length > 0) {
    // The last duplicate is the one Go's encoding/json keeps; set every one so none disagrees.
    out = current;
    for (const m of [...own].reverse()) out = out.slice(0, m.valueStart) + "true" + out.slice(m.valueEnd);
  } else if (members.length === 0) {
    const close = current.lastIndexOf("}");
    out = current.slice(0, open + 1) + `\n  "${LIVE_RESTORE_KEY}": true\n` + current.slice(close);
  } else {
    const last = members[members.length - 1];
    const first = members[0];
    // Same layout as the file: on a new line with the first member's indent, or inline.
    const lineStart = current.lastIndexOf("\n", first.keyStart - 1);
    const multiLine = lineStart > open;
    const indent = multiLine ? current.slice(lineStart + 1, first.keyStart) : "";
    const sep = multiLine ? `,\n${/^[ \t]*$/.test(indent) ? indent : "  "}` : ", ";
    out = current.slice(0, last.valueEnd) + `${sep}"${LIVE_RESTORE_KEY}": true` + current.slice(last.valueEnd);
  }
  // The result must be the same object plus the key: anything else is a bug in the scanner above.
  const want = JSON.stringify({ ...(parsed as Record<string, unknown>), [LIVE_RESTORE_KEY]: true });
  if (JSON.stringify(JSON.parse(out)) !== want) {
    throw new Error(`internal error: inserting "${LIVE_RESTORE_KEY}" into ${file} changed other keys`);
  }
  return out;
}
