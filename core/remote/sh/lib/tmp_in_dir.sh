# shellcheck shell=sh
# tmp_in_dir: sets $tmp to a new temp file in $dir, the target's directory, so that `mv` is an
# atomic rename. The traps come first: the EXIT trap removes it (signal_traps: lib/signal_traps.sh).

tmp_in_dir() {
  tmp=
  trap 'rm -f "$tmp"' EXIT
  signal_traps
  tmp=$(mktemp "$dir/.gra-tmp.XXXXXX")
}
