// The guard against Collaborage's EBS snapshot window (its cron stops GitLab then, in server time):
// a recreate, or an upgrade whose bounded waits could run into the window, is refused. Pure: the
// guard's parameters checked and handed to lib/snapshot_window.sh as preamble values.

export interface SnapshotWindowGuard {
  /** "23:00", server local time; "" (with end "") = no window, nothing is checked. */
  readonly start: string;
  /** "00:30"; may wrap past midnight. */
  readonly end: string;
  /** Worst-case seconds the work after this check may take (bounded waits). */
  readonly boundSeconds: number;
  /** The setting that holds the window, named in messages ("ciServer.snapshotWindow"). */
  readonly settingKey: string;
  /** The setting that lets an `up` run anyway ("ciServer.allowInSnapshotWindow"). */
  readonly overrideKey: string;
}

const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function checkWindowGuard(w: SnapshotWindowGuard, what = "window"): SnapshotWindowGuard {
  const empty = w.start === "" && w.end === "";
  if (!empty) {
    if (!HHMM.test(w.start)) throw new Error(`${what}.start must be HH:MM (00:00 to 23:59): ${JSON.stringify(w.start)}`);
    if (!HHMM.test(w.end)) throw new Error(`${what}.end must be HH:MM (00:00 to 23:59): ${JSON.stringify(w.end)}`);
    if (w.start === w.end) throw new Error(`${what}: start and end are both ${w.start}; an empty window is written as "" and ""`);
  }
  if (!Number.isInteger(w.boundSeconds) || w.boundSeconds < 0) {
    throw new Error(`${what}.boundSeconds must be a whole number >= 0, got ${w.boundSeconds}`);
  }
  if (!KEY.test(w.settingKey)) throw new Error(`${what}.settingKey must be a config key like ciServer.snapshotWindow: ${JSON.stringify(w.settingKey)}`);
  if (!KEY.test(w.overrideKey)) throw new Error(`${what}.overrideKey must be a config key like ciServer.allowInSnapshotWindow: ${JSON.stringify(w.overrideKey)}`);
  return w;
}

/** The preamble values lib/snapshot_window.sh reads. */
export function windowParams(w: SnapshotWindowGuard | undefined): Record<string, string | number> {
  return {
    window_start: w?.start ?? "",
    window_end: w?.end ?? "",
    window_bound: w?.boundSeconds ?? 0,
    window_key: w?.settingKey ?? "",
    window_override: w?.overrideKey ?? "",
  };
}
