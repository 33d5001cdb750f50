// The upgrade's script builders (core/remote/upgradeScripts.ts): exact text, refusals of bad
// values, shellcheck, and the snapshot window's arithmetic run under /bin/sh with a fixed clock.
// The scripts against a stand-in GitLab over ssh: test/host/scenarios/upgradeScripts.test.ts.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EXIT, guardedWriteBody, guardedWriteScript, type GuardedWrite } from "../../../core/remote/scripts";
import { scriptBody } from "../../../core/remote/shell";
import {
  upgradeBackupBody, upgradeBackupScript, upgradeGateBody, upgradeGateScript, upgradePreflightBody, upgradePreflightScript,
  type BackupParams, type GateParams, type SnapshotWindowGuard,
} from "../../../core/remote/upgradeScripts";
import { assertShellcheckClean, WRAPPED_EXCLUDES } from "../../helpers/shellcheck";
import { shFileLines } from "../../helpers/shFiles";
import { startRange } from "../../../core/gitlabUpgrade/window";

const GATE: GateParams = {
  container: "gitlab", version: "16.3.9", checks: ["batched-rake", "sidekiq-remaining"], timeoutSeconds: 3600, pollSeconds: 60,
  label: "after the hop to 16.3.9", resumeHint: "Run pulumi up again when they have finished: it resumes at this gate.",
};
const BACKUP: BackupParams = {
  gitlabContainer: "gitlab", dbContainer: "gitlab-db", gitlabDataHostDir: "/data/gitlab/data", backupDir: "/data/backups/gitlab-upgrade",
  fromVersion: "16.0.6", timeoutSeconds: 7200,
};
const WINDOW: SnapshotWindowGuard = {
  start: "23:00", end: "00:30", boundSeconds: 19200, settingKey: "ciServer.snapshotWindow", overrideKey: "ciServer.allowInSnapshotWindow",
};

describe("core/remote/upgradeScripts: the upgrade's gate, backup and preflight scripts", () => {
  it("EXIT has the upgrade's codes", () => {
    assert.deepEqual([EXIT.snapshotWindow, EXIT.migrationsPending, EXIT.preflight, EXIT.backupFailed, EXIT.migrationsFailed], [9, 10, 11, 12, 13]);
  });

  it("gate: header, then sudo sh -c of set -eu, the preamble, die and gate.sh", () => {
    const s = upgradeGateScript(GATE);
    assert.ok(s.startsWith([
      "# gitlab-runner-autoscaling: upgrade gate after the hop to 16.3.9",
      "# GitLab 16.3.9 healthy; background migrations: batched-rake, sidekiq-remaining",
      "# bound 3600 s, polled every 60 s",
      "sudo -n sh -c 'set -eu",
    ].join("\n")), s.slice(0, 300));
    assert.equal(scriptBody(s), upgradeGateBody(GATE));
    assert.equal(upgradeGateBody(GATE), [
      "set -eu",
      "container='gitlab'",
      "version='16.3.9'",
      "checks='batched-rake sidekiq-remaining'",
      "timeout=3600",
      "poll=60",
      "label='after the hop to 16.3.9'",
      "resume_hint='Run pulumi up again when they have finished: it resumes at this gate.'",
      ...shFileLines("lib/die.sh"),
      ...shFileLines("lib/last_line.sh"),
      ...shFileLines("upgrade/gate.sh"),
    ].join("\n") + "\n");
    assert.ok(upgradeGateScript(GATE, { sudo: false }).includes("\nsh -c 'set -eu\n"));
    assert.match(upgradeGateBody({ ...GATE, version: "", checks: [] }), /^set -eu\ncontainer='gitlab'\nversion=''\nchecks=''\n/);
  });

  it("backup: the preamble; no database container gives an empty db_container", () => {
    assert.ok(upgradeBackupBody(BACKUP).startsWith([
      "set -eu",
      "gitlab_container='gitlab'",
      "db_container='gitlab-db'",
      "data_dir='/data/gitlab/data'",
      "backup_dir='/data/backups/gitlab-upgrade'",
      "from_version='16.0.6'",
      "timeout=7200",
      ...shFileLines("lib/die.sh"),
      ...shFileLines("lib/signal_traps.sh"),
      ...shFileLines("upgrade/backup.sh"),
    ].join("\n") + "\n"));
    assert.match(upgradeBackupBody({ ...BACKUP, dbContainer: undefined }), /\ndb_container=''\n/);
    assert.match(upgradeBackupScript(BACKUP), /^# gitlab-runner-autoscaling: backup of GitLab 16\.0\.6 before its upgrade\n# into \/data\/backups\/gitlab-upgrade\/<UTC time>-gitlab-16\.0\.6\/: gitlab-backup create, gitlab-secrets\.json, gitlab\.rb, pg_dump of gitlab-db\n/);
  });

  it("preflight: window and disk values; without them, empty values (nothing checked)", () => {
    const disk = { backupDir: "/data/backups/gitlab-upgrade", gitlabDataHostDir: "/data/gitlab/data", dbDataHostDir: "/data/gitlab-db" };
    assert.equal(upgradePreflightBody({ window: WINDOW, disk }), [
      "set -eu",
      "window_start='23:00'", "window_end='00:30'", "window_bound=19200",
      "window_key='ciServer.snapshotWindow'", "window_override='ciServer.allowInSnapshotWindow'",
      "backup_dir='/data/backups/gitlab-upgrade'", "data_dir='/data/gitlab/data'", "db_dir='/data/gitlab-db'",
      ...shFileLines("lib/die.sh"),
      ...shFileLines("lib/last_line.sh"),
      ...shFileLines("lib/snapshot_window.sh"),
      ...shFileLines("upgrade/preflight.sh"),
    ].join("\n") + "\n");
    assert.match(upgradePreflightBody({}), /^set -eu\nwindow_start=''\nwindow_end=''\nwindow_bound=0\nwindow_key=''\nwindow_override=''\nbackup_dir=''\ndata_dir=''\ndb_dir=''\n/);
    assert.match(upgradePreflightScript({ window: WINDOW }), /^# gitlab-runner-autoscaling: upgrade preflight\n# snapshot window 23:00-00:30 \(ciServer\.snapshotWindow\), bound 19200 s\n# no disk check\n/);
  });

  it("refuses bad names, versions, paths, times and lines, naming the parameter", () => {
    const refusals: [() => unknown, RegExp][] = [
      [() => upgradeGateScript({ ...GATE, container: "-it" }), /gate\.container must match/],
      [() => upgradeGateScript({ ...GATE, version: "16.3" }), /gate\.version must be a GitLab version x\.y\.z/],
      [() => upgradeGateScript({ ...GATE, version: "16.3.9-ee" }), /gate\.version/],
      [() => upgradeGateScript({ ...GATE, checks: ["batched-rake", "rm -rf /"] as never }), /gate\.checks: unknown check "rm -rf \/"/],
      [() => upgradeGateScript({ ...GATE, checks: ["batched-rake", "batched-rake"] }), /names a check twice/],
      [() => upgradeGateScript({ ...GATE, timeoutSeconds: 0 }), /gate\.timeoutSeconds must be a whole number >= 1/],
      [() => upgradeGateScript({ ...GATE, pollSeconds: 1.5 }), /gate\.pollSeconds/],
      [() => upgradeGateScript({ ...GATE, label: "a\nb" }), /gate\.label must be one non-empty line/],
      [() => upgradeGateScript({ ...GATE, resumeHint: "" }), /gate\.resumeHint must be one non-empty line/],
      [() => upgradeBackupScript({ ...BACKUP, gitlabContainer: "a b" }), /backup\.gitlabContainer must match/],
      [() => upgradeBackupScript({ ...BACKUP, dbContainer: "$(x)" }), /backup\.dbContainer must match/],
      [() => upgradeBackupScript({ ...BACKUP, backupDir: "backups" }), /backup\.backupDir must be absolute/],
      [() => upgradeBackupScript({ ...BACKUP, backupDir: "/data/../etc" }), /backup\.backupDir must be a plain absolute directory/],
      [() => upgradeBackupScript({ ...BACKUP, backupDir: "/" }), /backup\.backupDir must not be \//],
      [() => upgradeBackupScript({ ...BACKUP, gitlabDataHostDir: "/data/gitlab/data/" }), /backup\.gitlabDataHostDir must be a plain absolute directory/],
      [() => upgradeBackupScript({ ...BACKUP, fromVersion: "latest" }), /backup\.fromVersion must be a GitLab version/],
      [() => upgradeBackupScript({ ...BACKUP, timeoutSeconds: -1 }), /backup\.timeoutSeconds/],
      [() => upgradePreflightScript({ window: { ...WINDOW, start: "24:00" } }), /preflight\.window\.start must be HH:MM/],
      [() => upgradePreflightScript({ window: { ...WINDOW, end: "0:30" } }), /preflight\.window\.end must be HH:MM/],
      [() => upgradePreflightScript({ window: { ...WINDOW, end: "23:00" } }), /start and end are both 23:00/],
      [() => upgradePreflightScript({ window: { ...WINDOW, boundSeconds: -5 } }), /preflight\.window\.boundSeconds must be a whole number >= 0/],
      [() => upgradePreflightScript({ window: { ...WINDOW, overrideKey: "x'y" } }), /preflight\.window\.overrideKey must be a config key/],
      [() => upgradePreflightScript({ disk: { backupDir: "/b", gitlabDataHostDir: "data" } }), /preflight\.disk\.gitlabDataHostDir must be absolute/],
      [() => upgradePreflightScript({ disk: { backupDir: "/b", gitlabDataHostDir: "/d", dbDataHostDir: "/x\ny" } }), /preflight\.disk\.dbDataHostDir must be one line/],
    ];
    for (const [f, want] of refusals) assert.throws(f, want);
  });

  describe("under shellcheck -s sh", () => {
    const cases: [string, string][] = [
      ["gate", upgradeGateScript(GATE)],
      ["gate, no checks", upgradeGateScript({ ...GATE, version: "", checks: [] })],
      ["backup", upgradeBackupScript(BACKUP)],
      ["backup, no database", upgradeBackupScript({ ...BACKUP, dbContainer: undefined })],
      ["preflight", upgradePreflightScript({ window: WINDOW, disk: { backupDir: "/b", gitlabDataHostDir: "/d", dbDataHostDir: "/p" } })],
      ["preflight, nothing", upgradePreflightScript({})],
      ["gate, odd label", upgradeGateScript({ ...GATE, label: "after the hop to 16.3.9 (it's $HOME `x`)" })],
    ];
    for (const [label, script] of cases) {
      it(`${label}: wrapped and body are clean`, () => {
        assertShellcheckClean(script, `${label} (wrapped)`, WRAPPED_EXCLUDES);
        assertShellcheckClean(scriptBody(script)!, `${label} (body)`);
      });
    }
  });

  describe("a guarded write with a window", () => {
    const compose = { appDir: "/srv/app", command: "auto" as const };
    const w = (window?: SnapshotWindowGuard): GuardedWrite => ({
      key: "compose", path: "/srv/app/docker-compose.yml", summary: [],
      after: { kind: "compose-up", compose, services: ["gitlab"], waitHealthy: { container: "gitlab", timeoutSeconds: 900, pollSeconds: 10 }, ...(window ? { window } : {}) },
    });

    it("carries the window's values after the after-action's, and lib/snapshot_window.sh; without one, neither", () => {
      const with_ = guardedWriteBody(w(WINDOW));
      const without = guardedWriteBody(w());
      assert.ok(!/window_start=|# lib\/snapshot_window\.sh/.test(without));
      assert.match(with_, /\nhealth_poll=10\nwindow_start='23:00'\nwindow_end='00:30'\nwindow_bound=19200\nwindow_key='ciServer\.snapshotWindow'\nwindow_override='ciServer\.allowInSnapshotWindow'\n# lib\/die\.sh\n/);
      assert.ok(with_.includes(`${shFileLines("lib/tmp_in_dir.sh").join("\n")}\n${shFileLines("lib/snapshot_window.sh").join("\n")}\n# lib/stop_gracefully.sh\n`));
      // Everything else is the same text.
      const strip = (s: string) => s.replace(shFileLines("lib/snapshot_window.sh").join("\n") + "\n", "").replace(/^window_[a-z]+=.*\n/gm, "");
      assert.equal(strip(with_), without);
      assertShellcheckClean(guardedWriteScript(w(WINDOW)), "guarded write with a window");
      // The body too (inside `sh -c '…'` shellcheck sees one string): window_said is the preflight's.
      assertShellcheckClean(guardedWriteBody(w(WINDOW)), "guarded write body with a window");
    });

    it("refuses a bad window, naming after.window", () => {
      assert.throws(() => guardedWriteBody(w({ ...WINDOW, start: "7:00" })), /after\.window\.start must be HH:MM/);
    });
  });

  describe("lib/snapshot_window.sh under /bin/sh, with a fixed clock", () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "gra-window-"));
      fs.writeFileSync(path.join(dir, "date"), '#!/bin/sh\n[ "$*" = "+%H:%M" ] || exit 64\necho "$FAKE_NOW"\n', { mode: 0o755 });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** The preflight with only a window: its exit status and its one message line. */
    function check(now: string, start: string, end: string, boundSeconds: number): { code: number | null; said: string } {
      const body = upgradePreflightBody({ window: { ...WINDOW, start, end, boundSeconds } });
      const r = spawnSync("/bin/sh", ["-c", body], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin`, FAKE_NOW: now } });
      return { code: r.status, said: (r.stdout + r.stderr).trim().split("\n").pop()! };
    }

    const cases: [string, string, string, number, "ok" | "refused"][] = [
      // now, start, end, bound (s)
      ["10:05", "23:00", "00:30", 19200, "ok"],
      ["17:39", "23:00", "00:30", 19200, "ok"],       // 17:39 + 5 h 20 min = 22:59
      ["17:40", "23:00", "00:30", 19200, "refused"],  // reaches 23:00
      ["23:00", "23:00", "00:30", 60, "refused"],     // inside, at the start
      ["00:29", "23:00", "00:30", 60, "refused"],     // inside, past midnight
      ["00:30", "23:00", "00:30", 60, "ok"],          // the end is outside
      ["22:58", "23:00", "00:30", 60, "ok"],
      ["22:59", "23:00", "00:30", 60, "refused"],     // a minute's bound reaches 23:00
      ["12:00", "02:00", "03:00", 3600, "ok"],        // a window that does not wrap
      ["02:30", "02:00", "03:00", 60, "refused"],
      ["01:30", "02:00", "03:00", 1800, "refused"],
      ["03:00", "02:00", "03:00", 22 * 3600, "ok"],    // 03:00 + 22 h = 01:00
      ["03:00", "02:00", "03:00", 23 * 3600, "refused"],
      ["03:00", "02:00", "03:00", 86400, "refused"],   // a day or more: always
      ["12:00", "02:00", "03:00", 0, "ok"],
    ];
    for (const [now, start, end, bound, want] of cases) {
      it(`${now}, window ${start}-${end}, bound ${bound} s: ${want}`, () => {
        const r = check(now, start, end, bound);
        assert.equal(r.code, want === "ok" ? 0 : EXIT.preflight, r.said);
        if (want === "ok") assert.match(r.said, new RegExp(`^server time ${now}; snapshot window ${start}-${end}; bound .*: ends by \\d\\d:\\d\\d$`));
        else assert.match(r.said, /^- Refused: .*; or set ciServer\.allowInSnapshotWindow true for this up\.$/);
      });
    }

    it("agrees with the plan's start range (core/gitlabUpgrade/window.ts): its last minute passes, the next is refused", () => {
      for (const [start, end, bound] of [["23:00", "00:30", 19200], ["23:00", "00:30", 38400], ["02:00", "03:00", 3600], ["01:00", "02:00", 90]] as const) {
        const range = startRange({ start, end }, bound)!;
        const next = `${String((Number(range.to.slice(0, 2)) + (range.to.endsWith(":59") ? 1 : 0)) % 24).padStart(2, "0")}:${String((Number(range.to.slice(3)) + 1) % 60).padStart(2, "0")}`;
        assert.equal(check(range.from, start, end, bound).code, 0, `${start}-${end} ${bound} s from ${range.from}`);
        assert.equal(check(range.to, start, end, bound).code, 0, `${start}-${end} ${bound} s at ${range.to}`);
        assert.equal(check(next, start, end, bound).code, EXIT.preflight, `${start}-${end} ${bound} s at ${next}`);
      }
      assert.equal(startRange({ start: "02:00", end: "03:00" }, 23 * 3600), undefined);
      assert.equal(check("03:00", "02:00", "03:00", 23 * 3600).code, EXIT.preflight, "no start fits, as the plan says");
    });

    it("the message: server time, window, key, the bound in h and min, the latest start that fits, the override", () => {
      assert.equal(check("17:40", "23:00", "00:30", 19200).said,
        "- Refused: server time 17:40: the work after this check may take up to 5 h 20 min and would reach the snapshot window 23:00-00:30 (ciServer.snapshotWindow) at 23:00. " +
        "It fits when started between 00:30 and 17:39 (server time); or set ciServer.allowInSnapshotWindow true for this up.");
      assert.equal(check("10:05", "23:00", "00:30", 19200).said, "server time 10:05; snapshot window 23:00-00:30; bound 5 h 20 min: ends by 15:25");
      assert.match(check("03:00", "02:00", "03:00", 23 * 3600).said, /up to 23 h and would reach .* No start time fits: the bound is not shorter than the 23 h between the windows; shorten the waits; or set/);
      assert.match(check("12:00", "02:00", "03:00", 86400).said, /^- Refused: the work after this check may take up to 24 h, a day or more: it would meet the snapshot window 02:00-03:00 \(ciServer\.snapshotWindow\) whenever it started\./);
      assert.match(check("12:00", "02:00", "03:00", 90).said, /bound 2 min: ends by 12:02$/);
    });
  });
});
