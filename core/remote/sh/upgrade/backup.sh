# shellcheck shell=sh
# The backup before an upgrade's first hop, kept on the server in
# $backup_dir/<UTC time>-gitlab-$from_version/ (root, 0700; files 0600): GitLab's application
# backup (`gitlab-backup create` in $gitlab_container, bounded by $timeout s; its tar is moved out
# of $data_dir/backups, the host directory of /var/opt/gitlab/backups), gitlab-secrets.json and
# gitlab.rb (the backup holds neither), and, when $db_container is set, a pg_dump of the PostgreSQL
# container. Built in a .partial- directory that a failure removes; exit 12 says what failed.
# Prints each file with its size and, last, "backup: <directory>".
# Preamble: gitlab_container db_container data_dir backup_dir from_version timeout.
# Functions: die signal_traps.

exec < /dev/null
PATH="$PATH:/usr/local/sbin:/usr/local/bin"
export PATH
umask 077
stamp=$(date -u +%Y%m%dT%H%M%SZ)
final="$backup_dir/$stamp-gitlab-$from_version"
tars="$data_dir/backups"
fail() { die 12 "backup failed: $*" "Nothing was kept in $backup_dir and nothing was upgraded."; }

if [ ! -d "$backup_dir" ]; then
  mkdir -p "$backup_dir" || fail "cannot make $backup_dir."
  chown root:root "$backup_dir"
  chmod 0700 "$backup_dir"
fi
# Two backups in one second (a retry): the later one gets -1, -2, ...
n=0
while [ -e "$final" ]; do n=$((n + 1)); final="$backup_dir/$stamp-$n-gitlab-$from_version"; done
partial="$backup_dir/.partial-${final##*/}"
partial_made=0
trap '[ "$partial_made" = 0 ] || rm -rf "$partial"' EXIT
signal_traps
mkdir "$partial" || fail "cannot make $partial."
partial_made=1
# The tars there before this backup (the file's time marks its start): the new one is the newest
# tar written after it that is not among them.
ls -1 "$tars" > "$partial/.before" 2>/dev/null || true

echo "backup: gitlab-backup create in $gitlab_container (at most $timeout s)"
if timeout "$timeout" docker exec "$gitlab_container" gitlab-backup create; then :; else
  rc=$?
  [ "$rc" != 124 ] || fail "gitlab-backup create did not finish within $timeout s. It may still run inside $gitlab_container; its tar would land in $tars."
  fail "gitlab-backup create exited with $rc (its output is above)."
fi
tar=$(find "$tars" -maxdepth 1 -type f -name '*_gitlab_backup.tar' -newer "$partial/.before" -printf '%T@ %f\n' 2>/dev/null |
  sort -n | cut -d ' ' -f 2- | grep -vxF -f "$partial/.before" | tail -n 1 || true)
rm -f "$partial/.before"
[ -n "$tar" ] || fail "gitlab-backup create succeeded but no new *_gitlab_backup.tar is in $tars (is $data_dir the host directory of /var/opt/gitlab?)."
mv "$tars/$tar" "$partial/$tar" || fail "cannot move $tars/$tar into $partial."
for f in gitlab-secrets.json gitlab.rb; do
  docker cp "$gitlab_container:/etc/gitlab/$f" "$partial/$f" || fail "docker cp of /etc/gitlab/$f from $gitlab_container failed (output above)."
done
if [ -n "$db_container" ]; then
  echo "backup: pg_dump in $db_container"
  # The container's own environment names the user and the database: no password in any command.
  # shellcheck disable=SC2016
  timeout "$timeout" docker exec "$db_container" sh -c 'pg_dump -U "$POSTGRES_USER" -Fc "$POSTGRES_DB"' > "$partial/gitlab-db.dump" ||
    fail "pg_dump in $db_container failed (output above)."
  [ -s "$partial/gitlab-db.dump" ] || fail "pg_dump in $db_container wrote nothing."
fi
chown -R root:root "$partial"
chmod 0600 "$partial"/*
mv "$partial" "$final" || fail "cannot rename $partial to $final."
partial_made=0
for f in "$final"/*; do
  echo "  ${f##*/}: $(stat -c %s "$f") bytes"
done
echo "backup: $final"
