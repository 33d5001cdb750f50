# shellcheck shell=sh
# wait_healthy: polls the health of $health_container every $health_poll s, up to $health_timeout s;
# 0 once it is healthy.

wait_healthy() {
  waited=0
  while :; do
    st=$(docker inspect -f "{{.State.Health.Status}}" "$health_container" 2>/dev/null) || st=unknown
    [ "$st" = healthy ] && return 0
    echo "waiting for $health_container to be healthy: $st ($waited s)"
    [ "$waited" -lt "$health_timeout" ] || return 1
    sleep "$health_poll"
    waited=$((waited + health_poll))
  done
}
