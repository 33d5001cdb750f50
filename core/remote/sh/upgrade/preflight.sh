# shellcheck shell=sh
# The upgrade's preflight, before its backup and first hop: the snapshot window (when
# $window_start is set) and the disk a backup needs (when $backup_dir is set): free space at
# $backup_dir (its nearest existing parent) >= GitLab's data ($data_dir without its backups/) +
# 2 x PostgreSQL's data ($db_dir, when set; the application backup holds a database dump too).
# Collects every problem, then exits 11 listing them (window first); else prints what it checked.
# Preamble: window_start window_end window_bound window_key window_override backup_dir data_dir db_dir.
# Functions: die last_line window_check (lib/snapshot_window.sh).

exec < /dev/null
problems=
add() { problems="$problems
- $*"; }
# kib DIR: sets $kib to DIR's size in KiB (du -sk); 1 with $kib_error set.
kib() {
  if ! o=$(du -sk "$1" 2>&1); then kib_error=$(last_line "$o"); return 1; fi
  kib=${o%%[[:space:]]*}
}
mib() { echo $(( ($1 + 1023) / 1024 )); }

if [ -n "$window_start" ]; then
  window_check
  if [ -n "$window_refusal" ]; then add "$window_refusal"; else echo "$window_said"; fi
fi
if [ -n "$backup_dir" ]; then
  measured=1
  data=0; old=0; db=0
  if kib "$data_dir"; then data=$kib; else add "cannot measure GitLab's data at $data_dir: $kib_error"; measured=0; fi
  if [ -d "$data_dir/backups" ]; then
    if kib "$data_dir/backups"; then old=$kib; else add "cannot measure $data_dir/backups: $kib_error"; measured=0; fi
  fi
  if [ -n "$db_dir" ]; then
    if kib "$db_dir"; then db=$kib; else add "cannot measure PostgreSQL's data at $db_dir: $kib_error"; measured=0; fi
  fi
  at=$backup_dir
  while [ ! -e "$at" ]; do at=$(dirname "$at"); done
  free=$(df -Pk "$at" | awk 'NR == 2 { print $4 }')
  case $free in
    ''|*[!0-9]*) add "cannot tell the free space at $at (df -Pk)"; measured=0 ;;
  esac
  if [ "$measured" = 1 ]; then
    need=$(( data - old + 2 * db ))
    if [ "$need" -gt "$free" ]; then
      add "too little disk for the backup: it needs $(mib "$need") MiB (GitLab's data without backups/: $(mib $((data - old))) MiB, 2 x PostgreSQL's data: $(mib $((2 * db))) MiB) and $((free / 1024)) MiB are free at $at. Free space there, set upgrade.backupDir to a larger disk, or set upgrade.backup false if you snapshot GitLab's volume yourself."
    else
      echo "backup needs $(mib "$need") MiB, $((free / 1024)) MiB free at $at"
    fi
  fi
fi
[ -z "$problems" ] || die 11 "upgrade preflight: nothing was changed, because:$problems"
