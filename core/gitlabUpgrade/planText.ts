// What the plan says of a GitLab upgrade, in numbers: the hops, what each does, the bounds of its
// waits, the GitLab restarts (downtime), the backup's place and when the whole may start.
import { formatDuration, startRange, type SnapshotWindow } from "./window";
import { versionText } from "./version";
import type { UpgradeVerdict } from "./verdict";

export interface PlanTextInput {
  readonly verdict: UpgradeVerdict;
  readonly readyTimeoutSeconds: number;
  readonly migrationsTimeoutSeconds: number;
  readonly backup: { readonly dir: string; readonly timeoutSeconds: number } | undefined;
  readonly runnerStopSeconds: number;
  readonly window?: SnapshotWindow;
}

/** The most one hop may take: GitLab's health wait, then its gate. */
export const hopBoundSeconds = (t: Pick<PlanTextInput, "readyTimeoutSeconds" | "migrationsTimeoutSeconds">): number =>
  t.readyTimeoutSeconds + t.migrationsTimeoutSeconds;

/** The worst case of the whole path: the first gate, the backup, each hop that runs, the runner's stop. */
export function pathBoundSeconds(p: PlanTextInput): number {
  const running = p.verdict.hops.filter((h) => h.runs).length;
  return p.migrationsTimeoutSeconds + (running && p.backup ? p.backup.timeoutSeconds : 0) +
    running * hopBoundSeconds(p) + (p.verdict.runnerImage ? p.runnerStopSeconds : 0);
}

export function upgradePlanLines(p: PlanTextInput): string[] {
  const v = p.verdict;
  const running = v.hops.filter((h) => h.runs);
  const from = versionText(v.from);
  const bound = pathBoundSeconds(p);
  const lines = [
    `GitLab ${from} → ${running.map((h) => versionText(h.version)).join(" → ") || "(no hop runs: the server is there already)"}: ` +
      `${running.length} hop(s), ${running.length} GitLab restart(s) (each hop recreates the gitlab container once).`,
    `Before the first hop: the background migrations of ${from} must be finished (gate, up to ${formatDuration(p.migrationsTimeoutSeconds)}).`,
    p.backup && running.length === 0 ? "No backup: no hop runs."
    : p.backup
      ? `Backup before the first hop, kept after the upgrade and after destroy: ${p.backup.dir}/<UTC time>-gitlab-${from}/ ` +
        `(gitlab-backup tar, gitlab-secrets.json, gitlab.rb${v.dbContainer ? `, a pg_dump of ${v.dbContainer}` : ""}; up to ${formatDuration(p.backup.timeoutSeconds)}).`
      : "No backup (upgrade.backup is false: snapshot GitLab's volume yourself first).",
    ...v.hops.map((h, i) => h.runs
      ? `Hop ${i + 1}: ${h.image}; recreate gitlab, wait up to ${formatDuration(p.readyTimeoutSeconds)} for its health, then a gate waits up to ` +
        `${formatDuration(p.migrationsTimeoutSeconds)} for its background migrations.`
      : `Hop ${i + 1}: ${versionText(h.version)}: nothing to do (the server runs ${from}).`),
    ...(v.runnerImage ? [`The last hop also moves the runner to ${v.runnerImage} (one graceful runner restart).`] : []),
    `Bounded waits in all: up to ${formatDuration(bound)}.` + (p.window
      ? ((r) => r ? ` Start between ${r.from} and ${r.to} server time (snapshot window ${p.window!.start}-${p.window!.end}).` : ` This does not fit between two snapshot windows (${p.window!.start}-${p.window!.end}): lower the bounds.`)(startRange(p.window, bound))
      : ""),
    "A failure stops at its hop or gate; the next pulumi up resumes there, from the version the server then runs.",
  ];
  return lines;
}
