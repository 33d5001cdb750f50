# shellcheck shell=sh
# After a restore of config.toml: a copy keeps the original's old mtime, which the runner would
# not take for a change; touch it and wait for the reload (a warning if it does not show).
# Preamble: runner_container runner_timeout.
# Functions: runner_reloaded.

restore_after() {
  if [ -e "$target" ]; then
    touch "$target"
    since=$(date -r "$target" +%s.%N)
    runner_reloaded || echo "warning: $why." >&2
  fi
}
