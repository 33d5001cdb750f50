# shellcheck shell=sh
# After a guarded write: `compose up -d --no-deps $services` (a graceful stop of $stop_container
# first when has_stop=1), then, when has_health=1, the wait for $health_container to be healthy.
# The after() contract (guarded-write.sh): 0, or $why set and non-zero.
# Preamble: compose_dir services has_stop stop_container stop_timeout stop_poll has_health health_container health_timeout health_poll.
# Functions: compose stop_gracefully wait_healthy.

after() {
  [ "$has_stop" = 0 ] || stop_gracefully
  # shellcheck disable=SC2086 # $services: service names (checked: [A-Za-z0-9_.-]), one word each
  (cd "$compose_dir" && compose up -d --no-deps $services) || {
    why="compose up of $services failed with the new $target"; return 1
  }
  [ "$has_health" = 1 ] || return 0
  wait_healthy && return 0
  why="container $health_container did not report healthy within $health_timeout s"; return 1
}
# shellcheck disable=SC2086 # as above
after_again() { (cd "$compose_dir" && compose up -d --no-deps $services); }
after_done="ran compose up -d --no-deps $services again"
if [ "$has_health" = 1 ]; then after_check="check \"docker logs $health_container\""; else after_check="see the compose output above"; fi
