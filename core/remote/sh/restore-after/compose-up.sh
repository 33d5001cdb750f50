# shellcheck shell=sh
# After a restore: compose up the services again (after a graceful stop when has_stop=1), then
# wait for $health_container when has_health=1 (a warning, not a failure, if it stays unhealthy).
# Preamble: compose_dir services has_stop stop_container stop_timeout stop_poll has_health health_container health_timeout health_poll.
# Functions: die compose_select stop_gracefully wait_healthy.

restore_after() {
  compose_select
  [ "$has_stop" = 0 ] || stop_gracefully
  # shellcheck disable=SC2086 # $services: service names (checked: [A-Za-z0-9_.-]), one word each
  (cd "$compose_dir" && compose up -d --no-deps $services) ||
    die 5 "restored $target but compose up of $services failed (output above); run pulumi destroy again to retry."
  [ "$has_health" = 1 ] || return 0
  wait_healthy || echo "warning: container $health_container did not report healthy within $health_timeout s after the restore; check 'docker logs $health_container'." >&2
}
