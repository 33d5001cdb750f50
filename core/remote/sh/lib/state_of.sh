# shellcheck shell=sh
# state_of FILE: prints the sha256 of FILE, or "absent".
# Explicit `|| return`: errexit is off inside `$(...)` on bash 4.2.

state_of() {
  if [ -e "$1" ]; then
    sum=$(sha256sum < "$1") || return 1
    printf "%s\n" "${sum%% *}"
  else
    echo absent
  fi
}
