# shellcheck shell=sh
# autoscaler_entries FILE: how many `executor = "docker-autoscaler"` lines FILE has.

autoscaler_entries() { grep -Ec '^[[:space:]]*executor[[:space:]]*=[[:space:]]*["'\'']docker-autoscaler["'\'']' "$1" || true; }
