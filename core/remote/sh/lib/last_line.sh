# shellcheck shell=sh
# last_line TEXT: TEXT's last non-blank line, cut to 300 characters (a command's output in a message).

last_line() { printf '%s\n' "$1" | sed '/^[[:space:]]*$/d' | tail -n 1 | cut -c 1-300; }
