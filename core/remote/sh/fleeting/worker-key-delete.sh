# shellcheck shell=sh
# The worker key's delete: removes the key files only when this stack generated them (marker).
# Preamble: key dir sd.

if [ ! -e "$sd/created-key" ] || [ "$(cat "$sd/created-key")" != "$key" ]; then
  echo "kept: $key (this stack did not create it)"
  exit 0
fi
rm -f "$key" "$key.pub"
if [ -e "$sd/created-dir" ] && [ "$(cat "$sd/created-dir")" = "$dir" ]; then
  rmdir "$dir" 2>/dev/null || echo "kept: $dir (not empty)"
fi
rm -f "$sd/created-key" "$sd/created-dir"
rmdir "$sd" 2>/dev/null || true
echo "removed: $key"
