# shellcheck shell=sh
# live_restore: sets $lr to true, false or unknown (dockerd's live-restore). not_live: the message
# for a restart refused because it is off.

live_restore() { lr=$(docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null) || lr=unknown; }
not_live() { printf "%s" "live-restore is not on in dockerd ($lr), so a restart would stop every container (GitLab, its database, Nexus, the runner)"; }
