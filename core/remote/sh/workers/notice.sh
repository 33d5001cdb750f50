# shellcheck shell=sh
# The create of the worker cleanup resource, re-run whenever the workers' settings change (they
# are its header): counts this runner's docker-machine workers, which keep the settings they were
# made with, and says how they retire. Never fails the update: a worker count is information.
# Preamble: container config want entry machine_re machine_name retire.
# Functions: scope dm (lib/runner_scope.sh).

exec < /dev/null
PATH="$PATH:/usr/local/sbin:/usr/local/bin"
export PATH
scope_fail() { shift; printf 'worker count not available: %s\n' "$*"; exit 0; }
scope
names=$(dm ls -q 2>/dev/null) || scope_fail 0 "docker-machine ls failed in $container"
count=$(printf '%s\n' "$names" | grep -Ec "$re" || true)
echo "$count worker(s) of $entry (runner-<$prefixes>-$machine_name) exist; they keep the settings they were created with and retire $retire."
