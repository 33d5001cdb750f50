# shellcheck shell=sh
# put FILE VALUE: a small marker file, replaced atomically.

put() { printf "%s\n" "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }
