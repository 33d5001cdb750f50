# shellcheck shell=sh
# The AMI builder's install of stdin at $target (root:root, $mode), atomically. A fresh host, so no
# backups. Prints "unchanged: <path>" (owner and mode still set) when the file already has the content.
# Preamble: target dir mode.
# Functions: die state_of no_link signal_traps tmp_in_dir.

no_link
[ -d "$dir" ] || (umask 022 && mkdir -p "$dir")
umask 077
tmp_in_dir
cat > "$tmp"
if [ "$(state_of "$target")" = "$(state_of "$tmp")" ]; then
  chown 0:0 "$target"
  chmod "$mode" "$target"
  echo "unchanged: $target"
  exit 0
fi
chown 0:0 "$tmp"
chmod "$mode" "$tmp"
mv -f "$tmp" "$target"
echo "installed: $target"
