# shellcheck shell=sh
# scope: which docker-machine workers are this runner's. Sets $info (the chosen [[runners]] entry
# of $config: entry count, matches, executor, MachineName, the access key id in its
# MachineOptions, and the token, one a line; see line) and $re (the ERE of this runner's worker
# names: runner-<short token>-<MachineName with %s = <unix time>-<8 hex>>, the short token as
# gitlab-runner makes it, helpers/shorten_token.go), $prefixes (the short tokens, for messages).
# The token stays in a variable, never printed. When that cannot be done it calls
# `scope_fail CODE MESSAGE`, which the step defines and which must not return (21: the runner is
# down or config.toml missing; 22: the entry or its token cannot be found).
# Preamble: container config want entry machine_re machine_name.
# dm: docker-machine inside the runner container, where its binary, state, proxy and role are.

dm() { timeout 300 docker exec "$container" docker-machine "$@"; }
line() { printf '%s\n' "$info" | sed -n "$1p"; }
# An awk program: its $ fields are awk's, not the shell's.
# shellcheck disable=SC2016
runner_awk='
function unq(s) {
  sub(/^[^=]*=[ \t]*/, "", s); sub(/[ \t\r]+$/, "", s)
  if (s ~ /^"/) { s = substr(s, 2); sub(/".*$/, "", s) }
  return s
}
/^[ \t]*\[\[runners\]\]/ { n++; sec = "top"; next }
/^[ \t]*\[runners\.machine\][ \t]*$/ { if (n) sec = "machine"; next }
/^[ \t]*\[/ { sec = ""; next }
n && sec == "top" && /^[ \t]*name[ \t]*=/ { name[n] = unq($0) }
n && sec == "top" && /^[ \t]*token[ \t]*=/ { token[n] = unq($0) }
n && sec == "top" && /^[ \t]*executor[ \t]*=/ { executor[n] = unq($0) }
n && sec == "machine" && /^[ \t]*MachineName[ \t]*=/ { mname[n] = unq($0) }
n && sec == "machine" && /amazonec2-access-key=/ { s = $0; sub(/.*amazonec2-access-key=/, "", s); sub(/[^A-Za-z0-9].*$/, "", s); akey[n] = s }
END {
  pick = 0; matches = 0
  for (i = 1; i <= n; i++) if (want == "" || name[i] == want) { pick = i; matches++ }
  print n + 0; print matches
  print executor[pick]; print mname[pick]; print akey[pick]; print token[pick]
}'
scope() {
  [ -f "$config" ] || { scope_fail 21 "$config does not exist: cannot tell this runner's workers."; }
  running=$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null) || running=false
  [ "$running" = true ] || { scope_fail 21 "the runner container $container is not running, so its docker-machine workers cannot be listed or removed. Start it (compose up -d gitlab-runner in the app directory) and run pulumi again; or remove the workers by hand (README, Troubleshooting)."; }
  info=$(awk -v want="$want" "$runner_awk" "$config") || { scope_fail 22 "could not read $config."; }
  [ "$(line 2)" = 1 ] || { scope_fail 22 "$config has $(line 1) [[runners]] entries and $(line 2) match $entry: cannot tell this runner's workers. Remove them by hand (README, Troubleshooting)."; }
  # The token stays in this variable: only the short prefix the runner itself logs is printed.
  token=$(line 6)
  case $token in
    ''|*[!A-Za-z0-9_-]*) scope_fail 22 "the token of $entry in $config is not a literal token: cannot tell this runner's workers." ;;
  esac
  first8=$(printf '%s\n' "$token" | cut -c1-8)
  case $token in
    glrt-*) shorts=$(printf '%s\n' "$token" | cut -c6-14) ;;
    # Runners that predate these prefixes took the first 8 characters.
    glrtr-*|glcbt-*) shorts="$(printf '%s\n' "$token" | cut -c7-15) $first8" ;;
    GR*)
      if [ ${#token} -ge 17 ] && printf '%s\n' "$token" | cut -c3-9 | grep -Eqx '[0-9A-Fa-f]{7}'; then
        shorts="$(printf '%s\n' "$token" | cut -c1-17) $first8"
      else
        shorts=$first8
      fi ;;
    *) shorts=$first8 ;;
  esac
  [ ${#token} -ge 8 ] || shorts=$token
  alts=
  for t in $shorts; do
    low=$(printf '%s\n' "$t" | tr '[:upper:]' '[:lower:]')
    # RFC 1123 cleaning (runner 13+): lower case, drop other characters, no leading '-'.
    clean=$(printf '%s\n' "$low" | tr -cd 'a-z0-9\n-' | sed 's/^-*//')
    for v in $low $clean; do
      case "|$alts|" in *"|$v|"*) ;; *) alts=${alts:+$alts|}$v ;; esac
    done
  done
  re="^runner-($alts)-$machine_re\$"
  prefixes=$(printf '%s\n' "$alts" | sed 's/|/, /g')
}
