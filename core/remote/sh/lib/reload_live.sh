# shellcheck shell=sh
# reload_live: `systemctl reload docker`, then up to $reload_timeout s for docker info to report
# live-restore on (dockerd took the new daemon.json without a restart).

reload_live() {
  systemctl reload docker || { why="systemctl reload docker failed"; return 1; }
  waited=0
  while :; do
    live_restore
    [ "$lr" = true ] && { echo "dockerd reloaded: live-restore is on, no container was restarted"; return 0; }
    if [ "$waited" -ge "$reload_timeout" ]; then
      why="docker info reports live-restore $lr $reload_timeout s after systemctl reload docker; dockerd may have rejected $target (see journalctl -u docker)"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}
