# shellcheck shell=sh
# After a guarded write of config.toml: wait for $runner_container's log to show the reload of
# the new file. With has_leave=1, a file with fewer docker-autoscaler entries than the one it
# replaced ($backup) restarts the runner gracefully instead (a reload does not stop a taskscaler).
# Preamble: runner_container runner_timeout has_leave compose_dir leave_service stop_container stop_timeout stop_poll.
# Functions: compose runner_reloaded autoscaler_entries stop_gracefully.

restarted=0
after() {
  # $backup is the file this write replaced (none when it created the file).
  if [ "$has_leave" = 1 ] && [ -n "$backup" ] && [ "$(autoscaler_entries "$backup")" -gt "$(autoscaler_entries "$target")" ]; then
    echo "$runner_container leaves docker-autoscaler, whose taskscaler a reload does not stop: restarting it"
    restarted=1
    after_done="ran compose up -d --no-deps $leave_service again"
    stop_gracefully
    (cd "$compose_dir" && compose up -d --no-deps "$leave_service") || { why="compose up of $leave_service failed with the new $target"; return 1; }
    return 0
  fi
  since=$(date -r "$target" +%s.%N)
  runner_reloaded
}
# The restored file is what the runner still runs: it kept it when the new one failed.
after_again() { [ "$restarted" = 0 ] || (cd "$compose_dir" && compose up -d --no-deps "$leave_service"); }
after_done="$runner_container keeps the configuration it had"
after_check="check \"docker logs $runner_container\""
