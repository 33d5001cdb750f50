# shellcheck shell=sh
# die CODE MESSAGE...: prints the message lines on stderr and exits with CODE (scripts.ts's EXIT).

die() { code=$1; shift; printf "%s\n" "$*" >&2; exit "$code"; }
