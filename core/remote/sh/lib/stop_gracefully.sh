# shellcheck shell=sh
# stop_gracefully: SIGQUIT to $stop_container (the runner finishes its running jobs), then up to
# $stop_timeout s (polled every $stop_poll s) for it to stop, before a recreate; never fails.

stop_gracefully() {
  st=$(docker inspect -f "{{.State.Running}}" "$stop_container" 2>/dev/null) || return 0
  [ "$st" = true ] || return 0
  echo "stopping $stop_container gracefully: SIGQUIT, running jobs may finish (up to $stop_timeout s)"
  docker kill --signal=QUIT "$stop_container" >/dev/null || return 0
  stopped=0
  while :; do
    st=$(docker inspect -f "{{.State.Running}}" "$stop_container" 2>/dev/null) || st=gone
    [ "$st" = true ] || break
    if [ "$stopped" -ge "$stop_timeout" ]; then
      echo "warning: $stop_container still has running jobs after $stop_timeout s; the recreate stops it now and aborts them." >&2
      return 0
    fi
    sleep "$stop_poll"
    stopped=$((stopped + stop_poll))
    [ $((stopped % 30)) -ne 0 ] || echo "waiting for the jobs of $stop_container to finish ($stopped s)"
  done
  echo "$stop_container stopped after its jobs finished ($stopped s)"
}
