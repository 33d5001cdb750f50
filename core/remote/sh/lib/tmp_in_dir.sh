# shellcheck shell=sh
# signal_traps: a kill becomes an exit, so that the EXIT trap runs; PIPE too: a message to a
# dropped connection must not kill the script before its EXIT cleanup.
# tmp_in_dir: sets $tmp to a new temp file in $dir, the target's directory, so that `mv` is an
# atomic rename. The traps come first: the EXIT trap removes it.

signal_traps() {
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 141' PIPE
  trap 'exit 143' TERM
}
tmp_in_dir() {
  tmp=
  trap 'rm -f "$tmp"' EXIT
  signal_traps
  tmp=$(mktemp "$dir/.gra-tmp.XXXXXX")
}
