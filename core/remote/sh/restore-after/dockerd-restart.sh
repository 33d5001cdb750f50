# shellcheck shell=sh
# After a restore of the docker drop-in: destroy never takes GitLab down either; without
# live-restore the restart is left to the operator.
# Preamble: none.
# Functions: die live_restore not_live.

restore_after() {
  live_restore
  if [ "$lr" = true ]; then
    { systemctl daemon-reload && systemctl restart docker; } ||
      die 5 "restored $target but docker did not restart; check 'journalctl -u docker', then run pulumi destroy again."
  else
    systemctl daemon-reload ||
      die 5 "restored $target but systemctl daemon-reload failed; run pulumi destroy again."
    echo "warning: $(not_live); docker was not restarted and keeps the old settings until its next restart (systemctl restart docker)." >&2
  fi
}
