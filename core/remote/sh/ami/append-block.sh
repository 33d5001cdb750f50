# shellcheck shell=sh
# The AMI builder's marked block in a file of the remote user (run without sudo): stdin goes
# between "# BEGIN $marker" and "# END $marker", in place of the old block, else at the end; every
# other line is kept as is. $path is "~/x" ($HOME/x) or absolute. $private=1: the block holds a
# secret (proxy credentials), so the file loses group/other access.
# Preamble: path marker private.
# Functions: die state_of no_link signal_traps.

case $path in
  \~/*) target=$HOME/${path#\~/} ;;
  *) target=$path ;;
esac
GRA_BEGIN="# BEGIN $marker"
GRA_END="# END $marker"
export GRA_BEGIN GRA_END
dir=$(dirname -- "$target")
no_link
umask 077
tmp=
GRA_BLOCK=
trap 'rm -f "$tmp" "$GRA_BLOCK"' EXIT
signal_traps
GRA_BLOCK=$(mktemp "$dir/.gra-blk.XXXXXX")
export GRA_BLOCK
tmp=$(mktemp "$dir/.gra-tmp.XXXXXX")
cat > "$GRA_BLOCK"
# $(...) drops a trailing newline: non-empty output means the last byte is not one.
if [ -n "$(tail -c 1 "$GRA_BLOCK")" ]; then echo >> "$GRA_BLOCK"; fi
merge() {
  awk '
    function block(  line) {
      print ENVIRON["GRA_BEGIN"]
      while ((getline line < ENVIRON["GRA_BLOCK"]) > 0) print line
      close(ENVIRON["GRA_BLOCK"])
      print ENVIRON["GRA_END"]
    }
    skip { if ($0 == ENVIRON["GRA_END"]) skip = 0; next }
    $0 == ENVIRON["GRA_BEGIN"] { block(); skip = 1; done = 1; next }
    { print }
    END { if (skip) exit 3; if (!done) block() }
  ' "$1"
}
if [ -e "$target" ]; then
  n=$(grep -c -x -F -e "$GRA_BEGIN" "$target") || true
  [ "${n:-0}" -le 1 ] || die 2 "$target has $n lines '$GRA_BEGIN'; remove all but one block by hand."
  merge "$target" > "$tmp" ||
    die 2 "$target has '$GRA_BEGIN' without a later '$GRA_END'; fix it by hand."
  chmod --reference="$target" "$tmp"
else
  merge /dev/null > "$tmp"
fi
[ "$private" = 0 ] || chmod go-rwx "$tmp"
if [ "$(state_of "$target")" = "$(state_of "$tmp")" ]; then
  [ "$private" = 0 ] || chmod go-rwx "$target"
  echo "unchanged: $target"
  exit 0
fi
mv -f "$tmp" "$target"
echo "updated: $target"
