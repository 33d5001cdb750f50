# shellcheck shell=sh
# After a guarded write of daemon.json: reload dockerd (no restart) and check that live-restore is
# on; refused in swarm mode, and when live-restore is already on by a flag.
# Preamble: reload_timeout.
# Functions: live_restore reload_live.

after() {
  swarm=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) || swarm=unknown
  if [ "$swarm" = active ]; then
    why="this dockerd is in swarm mode, which live-restore does not support; nothing was reloaded or restarted. Leave swarm mode (docker swarm leave), or restart docker at a time GitLab may go down"
    return 1
  fi
  live_restore
  if [ "$lr" = true ]; then
    why="dockerd already runs with live-restore on although $target did not set it (a --live-restore flag?); the option in both places would stop dockerd from starting. Remove the flag, then run pulumi up again"
    return 1
  fi
  reload_live
}
after_again() { systemctl reload docker; }
after_done='reloaded docker'
after_check='check "journalctl -u docker"'
