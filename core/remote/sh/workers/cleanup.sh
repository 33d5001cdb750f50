# shellcheck shell=sh
# The delete of the worker cleanup resource (destroy, or a change of MachineName or access key):
# removes this runner's workers of $machine_name that config.toml no longer manages, or that were
# made with an access key config.toml no longer uses (they could not be removed once that key is
# deleted). On destroy config.toml is back to its original, so that is all of them. Waits for their
# jobs (containers labelled $job_label) at most $drain s, polling every $poll s, removing each as
# soon as it is idle; exits 23 if any remains, so that the access key is not deleted from under it.
# Preamble: container config want entry machine_re machine_name job_label drain poll.
# Functions: die scope dm line (lib/runner_scope.sh).

exec < /dev/null
PATH="$PATH:/usr/local/sbin:/usr/local/bin"
export PATH
scope_fail() { die "$@"; }
scope
executor=$(line 3); cur_mname=$(line 4); cur_key=$(line 5)
names=$(dm ls -q) || die 23 "docker-machine ls failed in $container (output above); nothing was removed."
mine=$(printf '%s\n' "$names" | grep -E "$re" || true)
managed=no
[ "$executor" = docker+machine ] && [ "$cur_mname" = "$machine_name" ] && managed=yes
remove=
kept=0
for m in $mine; do
  # Still the runner's: keep it if it was made with the key config.toml uses now.
  if [ "$managed" = yes ]; then
    k=$(dm inspect -f '{{.Driver.AccessKey}}' "$m" 2>/dev/null) || k='?'
    if [ "$k" = "$cur_key" ]; then kept=$((kept + 1)); continue; fi
  fi
  remove="$remove $m"
done
total=$(printf '%s\n' "$mine" | grep -c . || true)
echo "workers of $entry (runner-<$prefixes>-$machine_name): $total found, $kept still managed with the current settings"
if [ -z "$remove" ]; then
  echo 'no worker to remove'
  exit 0
fi
# The remote command as one argument, the form docker-machine's docs show.
busy() {
  ids=$(timeout 60 docker exec "$container" docker-machine ssh "$1" "sudo docker ps -q --filter label=$job_label" 2>/dev/null) || return 1
  [ -n "$ids" ]
}
removed=
failed=
cut=
rm_one() {
  if dm rm -y "$1"; then removed="$removed $1"; else failed="$failed $1"; fi
}
waited=0
pending=$remove
while [ -n "$pending" ]; do
  still=
  for m in $pending; do
    # An unreachable worker cannot be running a job for us: it is removed too.
    if busy "$m"; then still="$still $m"; else rm_one "$m"; fi
  done
  pending=$still
  [ -n "$pending" ] || break
  if [ "$waited" -ge "$drain" ]; then
    echo "jobs still running after $drain s on:$pending; removing those workers anyway (the jobs fail)"
    cut=$pending
    for m in $pending; do rm_one "$m"; done
    break
  fi
  echo "waiting for the jobs on:$pending ($waited s of at most $drain s)"
  sleep "$poll"
  waited=$((waited + poll))
done
echo "removed:${removed:- none}"
[ -z "$cut" ] || echo "removed with a job still running:$cut"
if [ -n "$failed" ]; then
  die 23 "could not remove:$failed (docker-machine output above). The access key they need is kept until they are gone: check the instances (README, Troubleshooting), remove them, or run 'docker exec $container docker-machine rm -f -y <name>' for one whose instance is already terminated, then run pulumi again."
fi
