// docker+machine's autoscaling settings in the Docker Autoscaler's terms. Pure.
// - Periods: docker-machine reads 7-field cron (second minute hour day-of-month month day-of-week
//   year, gorhill/cronexpr); [[runners.autoscaler.policy]] periods are 5-field unix cron.
// - IdleTime: docker-machine takes whole seconds; the autoscaler's idle_time is a Go duration string.
// - IdleCount: docker-machine counts idle MACHINES; the autoscaler's idle_count counts idle JOB SLOTS.
// (GitLab Runner docs, advanced-configuration: "[runners.machine]" and "[[runners.autoscaler.policy]]".)

/** The Docker Autoscaler executor is generally available from GitLab Runner 17.1 (docs, executors/docker_autoscaler). */
export const AUTOSCALER_MIN_RUNNER = { major: 17, minor: 1 } as const;

/** The AWS fleeting plugin, pinned: `gitlab-runner fleeting install` takes the newest match of a looser constraint. */
export const DEFAULT_FLEETING_PLUGIN = "aws:1.0.0";

/**
 * A fleeting plugin reference ([registry/][repository/]name[:constraint]); the constraint is
 * latest, MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH (docs, fleet_scaling/fleeting).
 */
export function isPluginReference(s: string): boolean {
  return /^([a-z0-9][a-z0-9.-]*(:\d+)?\/)?([a-z0-9][a-z0-9._-]*\/)*[a-z0-9][a-z0-9._-]*(:(latest|\d+(\.\d+){0,2}))?$/.test(s);
}

/** Whether a plugin reference names one exact version (MAJOR.MINOR.PATCH). */
export const isExactPluginVersion = (s: string) => /:\d+\.\d+\.\d+$/.test(s);

/** Whole seconds as Go's time.Duration.String() writes them: 1800 → "30m0s", 3600 → "1h0m0s", 0 → "0s". */
export function goDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new Error(`not a whole number of seconds ≥ 0: ${seconds}`);
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** docker-machine's idle machines as the autoscaler's idle job slots. */
export const idleSlots = (idleMachines: number, capacityPerInstance: number) => idleMachines * capacityPerInstance;

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 6, names: DAYS },
];

/** A number or a name of the field, as its numeric value; undefined when neither. */
function fieldValue(text: string, f: FieldSpec): number | undefined {
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    return n >= f.min && n <= f.max ? n : undefined;
  }
  const i = f.names?.indexOf(text.toLowerCase()) ?? -1;
  return i < 0 ? undefined : i + (f.name === "month" ? 1 : 0);
}

/** Problem with one 5-field cron field (lists of *, a, a-b, each with an optional /step), if any. */
function fieldProblem(text: string, f: FieldSpec): string | undefined {
  if (/[LW#]/i.test(text.replace(/[a-z]{3}/gi, (w) => (f.names?.includes(w.toLowerCase()) ? "" : w)))) {
    return `${f.name} "${text}" uses L, W or #, which 5-field cron has no equivalent for`;
  }
  for (const part of text.split(",")) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m || (m[2] !== undefined && Number(m[2]) < 1)) return `${f.name} "${text}" is not a cron field`;
    if (m[1] === "*") continue;
    const range = m[1].split("-");
    const values = range.map((v) => fieldValue(v, f));
    if (range.length > 2 || values.some((v) => v === undefined)) {
      return `${f.name} "${text}": expected ${f.min}-${f.max}${f.names ? ` or ${f.names[0]}-${f.names[f.names.length - 1]}` : ""}`;
    }
    if (values.length === 2 && values[0]! > values[1]!) return `${f.name} "${text}": a range must go upwards`;
  }
  return undefined;
}

export type PeriodConversion = { period: string; problem?: undefined } | { period?: undefined; problem: string };

/**
 * One docker-machine period in 5-field form: the seconds and year fields must be "*" (the
 * autoscaler's periods have minute resolution and no year), "?" becomes "*", every other field
 * is kept as written once it is checked.
 */
export function convertMachinePeriod(period: string): PeriodConversion {
  const fields = period.trim().split(/\s+/);
  if (fields.length !== 7) return { problem: `has ${fields.length} fields; docker-machine periods have 7 (second minute hour day-of-month month day-of-week year)` };
  const [second, ...rest] = fields;
  const year = rest.pop()!;
  if (second !== "*") return { problem: `second "${second}" is not "*": the autoscaler's periods have minute resolution` };
  if (year !== "*") return { problem: `year "${year}" is not "*": the autoscaler's periods have no year field` };
  const five = rest.map((f) => (f === "?" ? "*" : f));
  for (let i = 0; i < FIELDS.length; i++) {
    const problem = fieldProblem(five[i], FIELDS[i]);
    if (problem) return { problem };
  }
  return { period: five.join(" ") };
}
