// Restart counts of one host scenario, taken from the dockerd model's events (standin.py): what
// `npm run bench` prints and the restart scenarios assert. Counts, never timings.
import * as fs from "node:fs";
import type { DockerdEvent } from "./sandbox";

export const GITLAB = "gitlab";
export const RUNNER = "gitlab-runner";

export interface RestartCounts {
  /** Times the GitLab container was stopped (by anything: a recreate, a dockerd restart). */
  gitlabRestarts: number;
  /** compose recreates of gitlab-runner. */
  runnerRecreations: number;
  /** dockerd stops (a restart counts once). */
  dockerdRestarts: number;
  /** Containers stopped in all, GitLab, its database, Nexus, the proxy and the runner included. */
  containersStopped: number;
  /** Runner jobs killed by SIGKILL/SIGTERM instead of finishing. */
  jobsAborted: number;
  /** Signals the runner container received, in order. */
  runnerSignals: string[];
}

export function countRestarts(events: readonly DockerdEvent[]): RestartCounts {
  const stops = events.filter((e) => e.event === "stop");
  return {
    gitlabRestarts: stops.filter((e) => e.name === GITLAB).length,
    runnerRecreations: events.filter((e) => e.event === "recreate" && e.name === RUNNER).length,
    dockerdRestarts: events.filter((e) => e.event === "dockerd-stop").length,
    containersStopped: stops.length,
    jobsAborted: events.reduce((n, e) => n + (e.abortedJobs ?? 0), 0),
    runnerSignals: events.filter((e) => e.event === "signal" && e.name === RUNNER).map((e) => String(e.signal)),
  };
}

/** Where the restart scenarios put their counts when the bench runs them (see scripts/bench.ts). */
export const FIGURES_ENV = "GRA_RESTART_FIGURES";

/** Appends one scenario's counts to the figures file, if the bench asked for one. */
export function recordFigures(scenario: string, counts: RestartCounts): void {
  const file = process.env[FIGURES_ENV];
  if (!file) return;
  fs.appendFileSync(file, JSON.stringify({ scenario, ...counts }) + "\n");
}

export interface FigureRow extends RestartCounts {
  scenario: string;
}

export function readFigures(file: string): FigureRow[] {
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as FigureRow);
}

/** The bench's table: one row per scenario, in the order they ran. */
export function formatFigures(rows: readonly FigureRow[]): string {
  const head = ["scenario", "GitLab restarts", "runner recreations", "dockerd restarts", "containers stopped", "jobs aborted", "runner signals"];
  const body = rows.map((r) => [r.scenario, r.gitlabRestarts, r.runnerRecreations, r.dockerdRestarts, r.containersStopped, r.jobsAborted, r.runnerSignals.join(" ") || "-"].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
