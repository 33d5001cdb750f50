# shellcheck shell=sh
# The runner image gate's remote command: it only reports the verdict, which the program reached
# before (core/ciServer/compose/runnerImageCheck.ts) from the docker-compose.yml it read.
# Preamble: verdict.

printf '%s\n' "$verdict"
