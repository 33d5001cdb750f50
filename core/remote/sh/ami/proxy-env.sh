# shellcheck shell=sh
# The AMI builder's proxy environment for ami/docker-install.sh (apt-get and curl): it comes on
# stdin as HTTP_PROXY=, HTTPS_PROXY= and NO_PROXY= lines, since proxy URLs may hold credentials:
# never on the command line or in output.
# Preamble: none.
# Functions: die.

n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  case $line in
    HTTP_PROXY=*) HTTP_PROXY=${line#HTTP_PROXY=}; http_proxy=$HTTP_PROXY; export HTTP_PROXY http_proxy ;;
    HTTPS_PROXY=*) HTTPS_PROXY=${line#HTTPS_PROXY=}; https_proxy=$HTTPS_PROXY; export HTTPS_PROXY https_proxy ;;
    NO_PROXY=*) NO_PROXY=${line#NO_PROXY=}; no_proxy=$NO_PROXY; export NO_PROXY no_proxy ;;
    '') ;;
    *) die 2 "stdin line $n is not HTTP_PROXY=, HTTPS_PROXY= or NO_PROXY= (line not shown)." ;;
  esac
done
