# shellcheck shell=sh
# The install's delete: removes the plugin directory $host_dir if (and only if) the install
# created it (its marker in $sd).
# Preamble: host_dir sd.

if [ ! -e "$sd/created-dir" ]; then
  echo "kept: $host_dir (it existed before this stack installed the plugin)"
  exit 0
fi
[ "$(cat "$sd/created-dir")" = "$host_dir" ] || {
  echo "kept: $host_dir (this stack created $(cat "$sd/created-dir") instead)"
  exit 0
}
[ ! -L "$host_dir" ] || { printf "%s\n" "$host_dir is a symbolic link; not removed." >&2; exit 7; }
rm -rf "$host_dir"
rm -f "$sd/created-dir"
rmdir "$sd" 2>/dev/null || true
echo "removed: $host_dir"
