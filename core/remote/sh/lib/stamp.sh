# shellcheck shell=sh
# stamp NAME: sets $stamped to $sd/NAME-<UTC time>[-n], newer than every file of that name in the
# same second: a name that prune freed is not taken again (it would sort as the oldest).

stamp() {
  ts=$(date -u +%Y%m%dT%H%M%SZ)
  n=0
  for f in "$sd/$1-$ts" "$sd/$1-$ts"-*; do
    [ -e "$f" ] || continue
    s=${f#"$sd/$1-$ts"}
    s=${s#-}
    case $s in '') s=0 ;; *[!0-9]*) continue ;; esac
    [ "$s" -lt "$n" ] || n=$((s + 1))
  done
  if [ "$n" -eq 0 ]; then stamped="$sd/$1-$ts"; else stamped="$sd/$1-$ts-$n"; fi
}
