# shellcheck shell=sh
# window_check: whether work that may take $window_bound s, started now, meets the snapshot window
# [$window_start, $window_end) ($window_key; HH:MM in server local time, as Collaborage's snapshot
# cron runs; it may wrap past midnight). Sets $window_refusal (empty when the work fits: then
# $window_said says what was checked). Refused inside the window, when now + the bound reaches its
# start, and for a bound of a day or more. Empty $window_start: no window, nothing is refused.

window_min() { h=${1%%:*}; m=${1#*:}; echo $(( ${h#0} * 60 + ${m#0} )); }
window_hm() { printf '%02d:%02d\n' $(( $1 % 1440 / 60 )) $(( $1 % 60 )); }
# window_dur SECONDS: "5 h 20 min", "5 h" or "20 min" (whole minutes, rounded up).
window_dur() {
  wm=$(( ($1 + 59) / 60 ))
  if [ "$wm" -lt 60 ]; then echo "$wm min"
  elif [ $((wm % 60)) -eq 0 ]; then echo "$((wm / 60)) h"
  else echo "$((wm / 60)) h $((wm % 60)) min"
  fi
}
# $window_said is for the caller to print (the preflight does; a guarded write only needs the refusal).
# shellcheck disable=SC2034
window_check() {
  window_refusal=
  window_said=
  [ -n "$window_start" ] || return 0
  now=$(date +%H:%M)
  wn=$(window_min "$now")
  ws=$(window_min "$window_start")
  we=$(window_min "$window_end")
  wb=$(( (window_bound + 59) / 60 ))
  span="the snapshot window $window_start-$window_end ($window_key)"
  bound=$(window_dur "$window_bound")
  # Minutes since the window started (inside when fewer than its length), until it starts again,
  # and between its end and its next start.
  into=$(( (wn - ws + 1440) % 1440 ))
  wuntil=$(( (ws - wn + 1440) % 1440 ))
  free=$(( (ws - we + 1440) % 1440 ))
  if [ "$wb" -ge "$free" ]; then
    fits="No start time fits: the bound is not shorter than the $(window_dur $((free * 60))) between the windows; shorten the waits"
  else
    fits="It fits when started between $window_end and $(window_hm $((ws - wb - 1 + 1440))) (server time)"
  fi
  if [ "$window_bound" -ge 86400 ]; then
    why="the work after this check may take up to $bound, a day or more: it would meet $span whenever it started"
  elif [ "$into" -lt $(( (we - ws + 1440) % 1440 )) ]; then
    why="server time $now is inside $span, when Collaborage stops GitLab for its EBS snapshot; the work after this check may take up to $bound"
  elif [ "$wb" -ge "$wuntil" ]; then
    why="server time $now: the work after this check may take up to $bound and would reach $span at $window_start"
  else
    window_said="server time $now; snapshot window $window_start-$window_end; bound $bound: ends by $(window_hm $((wn + wb)))"
    return 0
  fi
  window_refusal="Refused: $why. $fits; or set $window_override true for this up."
}
