# shellcheck shell=sh
# The Docker Autoscaler's fleeting plugin, installed inside the runner container $c with
# `gitlab-runner fleeting install` into $want (FLEETING_PLUGIN_PATH, on the config volume) through
# the container's own proxy; idempotent ("already installed"). Exit codes (fleetingPlugin.ts's
# FLEETING_EXIT): 21 container not running, 22 plugin path or proxy not set up, 23 runner too old,
# 24 download failed.
# Preamble: c plugin want host_dir host_vol vol sd hint min_major min_minor expect_proxy.
# Functions: die mask signal_traps.

PATH="$PATH:/usr/local/sbin:/usr/local/bin"
export PATH
exec < /dev/null
running=$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null) || running=
[ "$running" = true ] || die 21 "container $c is not running; start it (compose up -d for its service) and run pulumi up again."
# The compose edit must be live in the container, or the plugin would land in /root (lost on recreate).
have=$(docker exec "$c" printenv FLEETING_PLUGIN_PATH) || have=
[ "$have" = "$want" ] || die 22 "container $c has FLEETING_PLUGIN_PATH=${have:-(unset)}, not $want: the docker-compose.yml edit that sets it is missing or the container was not recreated since."
ver=$(docker exec "$c" gitlab-runner --version 2>/dev/null | sed -n 's/^Version:[[:space:]]*//p' | head -n 1) || ver=
major=${ver%%.*}
rest=${ver#*.}
minor=${rest%%.*}
case "$major:$minor" in
  *[!0-9:]*|:*|*:) die 23 "cannot read the version of gitlab-runner in container $c (got '${ver:-nothing}'); 'gitlab-runner fleeting install' needs $min_major.$min_minor or later." ;;
esac
if [ "$major" -lt "$min_major" ] || { [ "$major" -eq "$min_major" ] && [ "$minor" -lt "$min_minor" ]; }; then
  die 23 "gitlab-runner $ver in container $c has no reliable 'fleeting install' (added in 16.11, fixed in 17.0); upgrade the runner image (the Docker Autoscaler needs 17.1 or later)."
fi
# The proxy the download will use is the container's own (gitlab-runner is a Go program).
proxy=$(docker exec "$c" printenv HTTPS_PROXY) || proxy=$(docker exec "$c" printenv https_proxy) || proxy=
if [ "$expect_proxy" = 1 ]; then
  [ -n "$proxy" ] || die 22 "container $c has no HTTPS_PROXY although the stack uses a proxy: its env_file (common.env) is missing or the container was not recreated since." "$hint"
fi
if [ -n "$proxy" ]; then
  via="proxy $(printf "%s\n" "$proxy" | mask) (HTTPS_PROXY of container $c)"
else
  via='a direct connection (no HTTPS_PROXY in the container)'
fi
# A config file holding only the plugin reference, on the config volume (the runner watches
# config.toml only): the install neither needs nor touches config.toml's [runners.autoscaler].
[ -d "$host_vol" ] || die 2 "$host_vol does not exist on the CI server; check the runner's config volume."
tmp=
trap 'rm -f "$tmp"' EXIT
signal_traps
tmp=$(mktemp "$host_vol/.gra-fleeting.XXXXXX")
cfg="$vol/${tmp##*/}"
printf '[[runners]]\n  name = "gitlab-runner-autoscaling plugin install"\n  [runners.autoscaler]\n    plugin = "%s"\n' "$plugin" > "$tmp"
created=0
[ -e "$host_dir" ] || created=1
if out=$(docker exec "$c" gitlab-runner fleeting -c "$cfg" list 2>/dev/null); then
  echo "already installed: $plugin at ${out##*path: }"
  exit 0
fi
echo "installing fleeting plugin $plugin into $want through $via"
if ! out=$(docker exec "$c" gitlab-runner fleeting -c "$cfg" install 2>&1); then
  printf "%s\n" "$out" | mask >&2
  die 24 "could not install the fleeting plugin $plugin into $want in container $c through $via (gitlab-runner's output above)." "$hint"
fi
out=$(docker exec "$c" gitlab-runner fleeting -c "$cfg" list 2>/dev/null) ||
  die 24 "gitlab-runner fleeting install reported success but 'fleeting list' does not find $plugin." "$hint"
path=${out##*path: }
[ -d "$host_dir" ] || die 22 "the plugin was installed at $path but $host_dir does not exist on the host: $want is not on the config volume $host_vol."
case $path in
  "$want"/*) ;;
  *) die 22 "the plugin was installed at $path, outside $want: it would be lost when the container is recreated." ;;
esac
# Destroy removes the plugin directory only when this stack created it.
if [ "$created" = 1 ]; then
  (umask 077 && mkdir -p "$sd")
  printf "%s\n" "$host_dir" > "$sd/created-dir"
fi
echo "installed: $plugin at $path"
