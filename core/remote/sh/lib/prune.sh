# shellcheck shell=sh
# prune NAME KEEP: removes all but the newest KEEP files $sd/NAME-<UTC time>[-n]. The time sorts as
# text, the same-second suffix as a number (-10 after -9).

prune() {
  names=$(for f in "$sd/$1"-*; do if [ -e "$f" ]; then printf "%s\n" "${f#"$sd/$1"-}"; fi; done | LC_ALL=C sort -t - -k 1,1 -k 2,2n)
  count=$(printf "%s" "$names" | grep -c '') || true
  [ "$count" -gt "$2" ] || return 0
  printf "%s\n" "$names" | head -n "$((count - $2))" | while IFS= read -r s; do rm -f "$sd/$1-$s"; done
}
