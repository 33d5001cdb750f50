#!/usr/bin/env bash
# Builds the real programs the test suite runs, from their Go modules, into a cache outside the
# work tree keyed by version. Nothing here enters git. Prints one "NAME: /absolute/path" line per
# binary on stdout; progress and timings go to stderr.
#
#   build.sh [NAME...]   (default: pulumi)
#   pulumi         the Pulumi CLI at the version package-lock.json pins for @pulumi/pulumi
#   gitlab-runner  the newest runner the Go module proxy serves (a pseudo-version of the main branch).
#                  Blocked here: the proxy refuses its gitlab.com dependencies (labkit, step-runner,
#                  moa, fleeting, runner_wrapper/api) with 403, so it is built only when asked by name.
#   runner-toml    the model of the runner's config load and save (test/real/runnerToml/, a module of
#                  this repository), keyed by its sources' hash
#
# A module the proxy refuses is a hard failure that names the command and the proxy's answer.
# Environment: GRA_REAL_CACHE (default ~/.cache/gitlab-runner-autoscaling/real).
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${GRA_REAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitlab-runner-autoscaling/real}"
mkdir -p "$cache"
# Test processes may ask at the same time: one builds, the others wait and then find the binaries.
exec 9>"$cache/.lock"
flock 9
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

if ! command -v go >/dev/null 2>&1; then
  echo "build-real: the Go toolchain (go) is not on PATH; install Go 1.26 or later" >&2
  exit 1
fi

# The versions, each one place: Pulumi follows package-lock.json; the runner is the one pseudo-version
# the proxy serves (others answer 403 "This module version is not available"; see README).
pulumi_version="v$(node -p 'require(process.argv[1]).packages["node_modules/@pulumi/pulumi"].version' "$here/package-lock.json")"
runner_module=gitlab.com/gitlab-org/gitlab-runner
runner_pseudo=v1.11.1-0.20260903214710-fc1f1862bd91
runner_version=19.4.0

log() { printf 'build-real: %s\n' "$*" >&2; }

# run_go DIR ARGS...: go in DIR; on failure print the exact command and its answer, then fail.
run_go() {
  local dir="$1"; shift
  local out
  if ! out="$(cd "$dir" && go "$@" 2>&1)"; then
    log "FAILED: (cd $dir && go $*)"
    printf '%s\n' "$out" | sed 's/^/build-real:   /' >&2
    exit 1
  fi
}

# build NAME VERSION MODULE_TEXT PACKAGE LDFLAGS: a wrapper module (the real go.mod files carry replace
# directives, which `go install pkg@version` refuses), then go build into $cache/NAME-VERSION/.
build() {
  local name="$1" version="$2" gomod="$3" pkg="$4" ldflags="$5"
  local dest="$cache/$name-$version" src="$cache/src/$name-$version"
  if [ -x "$dest/$name" ]; then
    printf '%s: %s\n' "$name" "$dest/$name"
    return
  fi
  log "building $name $version (cold builds take tens of minutes on 2 cores)"
  local start=$SECONDS
  mkdir -p "$src" "$dest"
  printf '%s\n' "$gomod" > "$src/go.mod"
  # A tool line keeps the requirement in a module with no Go files of its own.
  run_go "$src" get -tool "$pkg"
  run_go "$src" build -trimpath -ldflags "$ldflags" -o "$dest/$name.partial" "$pkg"
  mv "$dest/$name.partial" "$dest/$name"
  log "built $name $version in $((SECONDS - start)) s ($(du -sh "$dest/$name" | cut -f1))"
  printf '%s: %s\n' "$name" "$dest/$name"
}

build_pulumi() {
  build pulumi "$pulumi_version" "module gra.invalid/real-pulumi

  go 1.26

  require (
  	github.com/pulumi/pulumi/pkg/v3 $pulumi_version
  	github.com/pulumi/pulumi/sdk/v3 $pulumi_version
  )" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
}

# The runner's own exclude is ignored when it comes from a dependency, so the wrapper repeats it.
build_gitlab_runner() {
  build gitlab-runner "$runner_version" "module gra.invalid/real-gitlab-runner

  go 1.26.5

  require $runner_module $runner_pseudo

  exclude github.com/moby/moby v28.5.2+incompatible" \
    "$runner_module" \
    "-s -w -X $runner_module/common.NAME=gitlab-runner -X $runner_module/common.VERSION=$runner_version -X $runner_module/common.REVISION=${runner_pseudo##*-} -X $runner_module/common.BRANCH=main"
}

# The model is this repository's own module: no wrapper, keyed by the hash of its sources.
build_runner_toml() {
  local src="$here/test/real/runnerToml"
  local key
  key="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)"
  local dest="$cache/runner-toml-$key"
  if [ ! -x "$dest/runner-toml" ]; then
    log "building runner-toml $key"
    mkdir -p "$dest"
    run_go "$src" build -trimpath -o "$dest/runner-toml.partial" .
    mv "$dest/runner-toml.partial" "$dest/runner-toml"
  fi
  printf '%s: %s\n' runner-toml "$dest/runner-toml"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pulumi)
for t in "${targets[@]}"; do
  case "$t" in
    pulumi) build_pulumi ;;
    gitlab-runner) build_gitlab_runner ;;
    runner-toml) build_runner_toml ;;
    *) log "unknown program '$t' (expected: pulumi, gitlab-runner, runner-toml)"; exit 2 ;;
  esac
done
