# shellcheck shell=sh
# runner_reloaded: reads the log of $runner_container since $since (the file's mtime, so only
# reloads of this file count) until "Configuration loaded" (0) or "Failed to load config" (1, $why
# with the masked log lines); 1 when neither shows within $runner_timeout s. A stopped container
# loads the file when it starts, and a log driver without `docker logs` cannot be read: both are
# reported, not failures. mask_secrets masks what a config.toml error may echo: runner and GitLab
# tokens, and values of key-like names.

mask_secrets() { sed -e 's/\(glrt-\|glpat-\|glcbt-\|GR1348941\)[A-Za-z0-9_-]*/\1[masked]/g; s/\([Tt]oken\|[Ss]ecret\|[Pp]assword\|[Kk]ey\)\([A-Za-z_-]*\)\(["'\'']\{0,1\} *[=:] *["'\'']\{0,1\}\)[^"'\'' ,]*/\1\2\3[masked]/g'; }
runner_reloaded() {
  st=$(docker inspect -f "{{.State.Running}}" "$runner_container" 2>/dev/null) || st=absent
  if [ "$st" != true ]; then
    echo "warning: container $runner_container is not running ($st): it loads $target when it starts." >&2
    return 0
  fi
  waited=0
  while :; do
    if ! logs=$(docker logs --since "$since" "$runner_container" 2>&1); then
      echo "warning: cannot read the log of $runner_container (its logging driver?); the reload of $target is not verified." >&2
      return 0
    fi
    case $logs in
      *'Failed to load config'*)
        excerpt=$(printf '%s\n' "$logs" | grep -F 'Failed to load config' | tail -n 3 | cut -c 1-400 | mask_secrets)
        why="$runner_container did not load the new $target and keeps its previous configuration; its log says: $excerpt"
        return 1 ;;
      *'Configuration loaded'*) echo "$runner_container reloaded $target ($waited s)"; return 0 ;;
    esac
    if [ "$waited" -ge "$runner_timeout" ]; then
      why="$runner_container logged no \"Configuration loaded\" within $runner_timeout s of writing $target (it re-reads the file every 3 s)"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}
