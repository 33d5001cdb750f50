# shellcheck shell=sh
# After a restore of daemon.json: reload dockerd.
# Preamble: none.
# Functions: die.

restore_after() {
  systemctl reload docker ||
    die 5 "restored $target but systemctl reload docker failed; check 'journalctl -u docker', then run pulumi destroy again."
  echo "reloaded docker"
}
