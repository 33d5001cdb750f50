// Collaborage's snapshot window: its cron stops the app at 23:00 and starts it at 00:30 (server
// time) for the EBS snapshot of /data (script/config/cron.config). A recreate inside the window
// fights the cron; an upgrade whose bounded waits could run into it would be stopped halfway.
// Pure: the numbers the plan states and the remote check (core/remote/sh/lib/snapshot_window.sh)
// enforce with the server's clock.

export interface SnapshotWindow {
  readonly start: string; // HH:MM, server local time
  readonly end: string;
}

const HM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "23:00-00:30" → the window; undefined when the text is not of that form (or the two ends are equal). */
export function parseWindow(text: string): SnapshotWindow | undefined {
  const [start, end, ...rest] = text.split("-").map((s) => s.trim());
  if (rest.length || !start || !end || !HM.test(start) || !HM.test(end) || start === end) return undefined;
  return { start, end };
}

export const minutesOf = (hm: string): number => {
  const m = HM.exec(hm);
  if (!m) throw new Error(`not HH:MM: ${hm}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

const hm = (minutes: number): string => {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
};

/** 19200 → "5 h 20 min". */
export function formatDuration(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/**
 * When work bounded by `boundSeconds` may start: after the window ends, and a minute before the
 * window's start minus the bound at the latest (the server's check reads the clock to the minute,
 * so a start at HH:MM may be up to 59 s later: lib/snapshot_window.sh refuses now + bound >= start).
 * undefined when it never fits in a day.
 */
export function startRange(w: SnapshotWindow, boundSeconds: number): { from: string; to: string } | undefined {
  const outside = (minutesOf(w.start) - minutesOf(w.end) + 1440) % 1440; // minutes between two windows
  const bound = Math.ceil(boundSeconds / 60);
  if (bound >= outside) return undefined;
  return { from: w.end, to: hm(minutesOf(w.start) - bound - 1) };
}
