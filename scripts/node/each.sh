#!/usr/bin/env bash
# Runs a command under each Node.js version CI tests (scripts/node/versions, which README names):
# that version's `node` first on PATH (npm stays the one on PATH and runs under it), installed by
# install.sh. Prints the node in use before each run, runs every version even after a failure, and
# exits non-zero if any run failed.   Usage: scripts/node/each.sh COMMAND [ARG...]
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

failed=()
for version in $(awk '!/^#/ && NF { print $1 }' "$here/versions"); do
  if ! bin="$("$here/install.sh" "$version")"; then
    failed+=("$version (install)")
    continue
  fi
  printf '=== Node.js %s: %s\n' "$(PATH="$bin:$PATH" node --version)" "$bin/node"
  if ! PATH="$bin:$PATH" "$@"; then
    failed+=("$version")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  printf '=== failed under Node.js %s\n' "${failed[*]}" >&2
  exit 1
fi
