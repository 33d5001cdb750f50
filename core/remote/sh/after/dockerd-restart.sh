# shellcheck shell=sh
# After a guarded write of the docker drop-in: daemon-reload and restart docker, only with
# live-restore on (else every container would stop).
# Preamble: none.
# Functions: live_restore not_live.

after_done='left docker running as it was'
restarted=0
after() {
  live_restore
  [ "$lr" = true ] || { why="$(not_live); docker was not restarted"; return 1; }
  restarted=1
  after_done='restarted docker'
  systemctl daemon-reload && systemctl restart docker && return 0
  why="docker did not restart with the new $target"; return 1
}
after_again() { [ "$restarted" = 0 ] || { systemctl daemon-reload && systemctl restart docker; }; }
after_check='check "systemctl status docker", "journalctl -u docker" and "docker info"'
