# shellcheck shell=sh
# The AMI builder's check: reloads systemd, restarts dockerd (applying the proxy drop-in and
# daemon.json) and, with $expect_proxy=1, needs "HTTP Proxy:" in docker info (exit 8 if not).
# Preamble: expect_proxy.
# Functions: die.

# sudo's secure_path may lack /usr/local/bin.
PATH="$PATH:/usr/local/sbin:/usr/local/bin"
export PATH
systemctl daemon-reload
systemctl restart docker
if [ "$expect_proxy" = 1 ]; then
  info=$(docker info 2>/dev/null) || die 8 'docker info failed after the restart; check "journalctl -u docker".'
  case $info in
    # The value is not printed: a proxy URL may carry credentials.
    *'HTTP Proxy:'*) echo 'docker uses the proxy' ;;
    *) die 8 'docker info shows no "HTTP Proxy:" after the restart: the docker.service drop-in was not applied.' ;;
  esac
else
  docker info > /dev/null
  echo 'docker is running'
fi
