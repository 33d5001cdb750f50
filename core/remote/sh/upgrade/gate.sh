# shellcheck shell=sh
# An upgrade gate: waits at most $timeout s (polling every $poll s; the checks' own run time counts)
# until GitLab in $container runs $version, reports healthy and its background migrations have
# finished. $checks names what is asked inside the container (core/remote/upgradeScripts.ts says
# which command each runs and from which GitLab version). GitLab already past $version: nothing to
# wait for. Exit codes (scripts.ts's EXIT): 10 not done within the bound (what is pending named),
# 13 a batched background migration failed (waiting cannot help), 5 GitLab runs an older version.
# Preamble: container version checks timeout poll label resume_hint.
# Functions: die last_line.

exec < /dev/null
PATH="$PATH:/usr/local/sbin:/usr/local/bin"
export PATH
version_file=/opt/gitlab/embedded/service/gitlab-rails/VERSION
troubleshooting=https://docs.gitlab.com/update/background_migrations_troubleshooting/

pend() { pending="${pending:+$pending; }$*"; }
# ver_cmp A B: lt, eq or gt, for x.y.z versions.
ver_cmp() {
  printf '%s\n%s\n' "$1" "$2" | awk -F. 'NR == 1 { for (i = 1; i <= 3; i++) a[i] = $i + 0; next }
    { for (i = 1; i <= 3; i++) { b = $i + 0; if (a[i] < b) { print "lt"; exit } if (a[i] > b) { print "gt"; exit } } print "eq" }'
}

# The rake task prints "Database: <name>", then one line per batched migration:
# "<status, padded> | <job class>,<table>,<column>,<job arguments as JSON>"
# (lib/tasks/gitlab/background_migrations.rake, display_migration_status). Printed: the number of
# databases, of unfinished migrations, the unfinished ones by status, then each failed one whole.
# An awk program: its $ fields are awk's, not the shell's.
# shellcheck disable=SC2016
status_awk='
/^Database: / { db = substr($0, 11); dbs++; next }
index($0, " | ") {
  i = index($0, " | "); st = substr($0, 1, i - 1); id = substr($0, i + 3)
  sub(/^[ \t]+/, "", st); sub(/[ \t]+$/, "", st)
  if (st == "finished" || st == "finalized") next
  n++; split(id, f, ",")
  if (!(st in list)) order[++ns] = st
  list[st] = (st in list ? list[st] ", " : "") f[1] " on " f[2]
  if (st == "failed") failed[++nf] = db ": " id
}
END {
  print dbs + 0; print n + 0
  d = ""; for (k = 1; k <= ns; k++) d = d (k > 1 ? "; " : "") order[k] ": " list[order[k]]
  print d
  for (k = 1; k <= nf; k++) print failed[k]
}'
batched_rake() {
  if ! o=$(docker exec "$container" gitlab-rake gitlab:background_migrations:status 2>&1); then
    pend "gitlab-rake gitlab:background_migrations:status failed: $(last_line "$o")"; return 0
  fi
  r=$(printf '%s\n' "$o" | awk "$status_awk")
  dbs=$(printf '%s\n' "$r" | sed -n 1p)
  n=$(printf '%s\n' "$r" | sed -n 2p)
  [ "$dbs" -gt 0 ] || { pend "gitlab-rake gitlab:background_migrations:status printed no database: $(last_line "$o")"; return 0; }
  failed=$(printf '%s\n' "$r" | sed -n '4,$p')
  [ -z "$failed" ] || die 13 "gate $label: batched background migrations failed in GitLab $running; waiting will not finish them: $(printf '%s\n' "$failed" | paste -sd ';' - | sed 's/;/; /g')." \
    "Retry or finalize them as $troubleshooting says, then go on." "$resume_hint"
  [ "$n" = 0 ] || pend "$n batched background migrations unfinished ($(printf '%s\n' "$r" | sed -n 3p))"
}
# rails_count WHAT RUBY: the number `gitlab-rails runner` prints for RUBY; not 0: WHAT is pending.
rails_count() {
  if ! o=$(docker exec "$container" gitlab-rails runner -e production "$2" 2>&1); then
    pend "gitlab-rails runner '$2' failed: $(last_line "$o")"; return 0
  fi
  count=$(printf '%s\n' "$o" | grep -Ex '[0-9]+' | tail -n 1 || true)
  if [ -z "$count" ]; then pend "gitlab-rails runner '$2' printed no number: $(last_line "$o")"
  elif [ "$count" != 0 ]; then pend "$count $1"
  fi
}

waited=0
while :; do
  t0=$(date +%s)
  pending=
  running=
  if ! raw=$(docker exec "$container" cat "$version_file" 2>&1); then
    pend "GitLab's version cannot be read yet: $(last_line "$raw")"
  else
    running=$(printf '%s\n' "$raw" | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+(-ee)?' | head -n 1 || true)
    [ -n "$running" ] || pend "$version_file holds no version: $(last_line "$raw")"
  fi
  if [ -n "$running" ] && [ -n "$version" ]; then
    case $(ver_cmp "${running%-ee}" "$version") in
      gt) echo "gate $label: GitLab runs $running, past $version: nothing to wait for here"; exit 0 ;;
      lt) die 5 "gate $label: GitLab reports $running, not $version: the hop's recreate did not take effect." "Check \"docker ps\" and \"docker logs $container\" on the server." ;;
    esac
  fi
  if [ -n "$running" ]; then
    health=$(docker inspect -f '{{.State.Health.Status}}' "$container" 2>/dev/null) || health=unknown
    if [ "$health" != healthy ]; then
      pend "GitLab $running is not healthy yet ($health)"
    else
      for check in $checks; do
        case $check in
          batched-rake) batched_rake ;;
          batched-runner) rails_count "batched background migrations queued" 'puts Gitlab::Database::BackgroundMigration::BatchedMigration.queued.count' ;;
          sidekiq-remaining) rails_count "Sidekiq background migrations remaining" 'puts Gitlab::BackgroundMigration.remaining' ;;
          sidekiq-jobs) rails_count "background migration jobs pending" 'puts Gitlab::Database::BackgroundMigrationJob.pending.count' ;;
          *) die 2 "gate $label: unknown check $check" ;;
        esac
      done
    fi
  fi
  waited=$(( waited + $(date +%s) - t0 ))
  if [ -z "$pending" ]; then
    if [ -n "$checks" ]; then
      echo "gate $label: GitLab $running healthy, background migrations finished ($waited s)"
    else
      echo "gate $label: GitLab $running healthy ($waited s)"
    fi
    exit 0
  fi
  [ "$waited" -lt "$timeout" ] || die 10 "gate $label: not done within its bound of $timeout s: $pending." "$resume_hint"
  echo "gate $label: $pending ($waited s)"
  sleep "$poll"
  waited=$((waited + poll))
done
