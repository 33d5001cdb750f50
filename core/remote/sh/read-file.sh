# shellcheck shell=sh
# The read of a file on the CI server: prints one line, "v1 absent" or "v1 <sha256> <base64>"
# (core/remote/readResult.ts). Base64 because remote.Command trims a trailing newline from stdout.
# Preamble: target.
# Functions: die no_link.

no_link
if [ -e "$target" ]; then
  # One read of the file: the hash is taken from the same bytes that are printed.
  b64=$(base64 -w 0 < "$target")
  sum=$(printf "%s" "$b64" | base64 -d | sha256sum)
  printf "v1 %s %s\n" "${sum%% *}" "$b64"
else
  echo "v1 absent"
fi
