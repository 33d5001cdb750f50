# shellcheck shell=sh
# keep_reverse: moves a write's reverse edit ($sd/reverse.tmp, decoded from stdin) into place as the
# next link of the chain that restore applies, newest first; $added names it, for the rollback
# after a failed after-action.

added=
keep_reverse() {
  i=1
  while [ -e "$sd/reverse-$i" ]; do i=$((i + 1)); done
  mv -f "$sd/reverse.tmp" "$sd/reverse-$i"
  added="$sd/reverse-$i"
}
