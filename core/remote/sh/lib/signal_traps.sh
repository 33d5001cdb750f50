# shellcheck shell=sh
# signal_traps: a kill becomes an exit, so that the EXIT trap runs; PIPE too: a message to a
# dropped connection must not kill the script before its EXIT cleanup.

signal_traps() {
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 141' PIPE
  trap 'exit 143' TERM
}
