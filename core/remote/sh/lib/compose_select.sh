# shellcheck shell=sh
# compose_select: defines compose() for $compose_cmd (auto, "docker compose" or docker-compose), or
# dies 6 when that command does not work on this server.

compose_select() {
  case $compose_cmd in
    "docker compose")
      docker compose version >/dev/null 2>&1 || die 6 '"docker compose" does not work on this server; install the compose plugin or docker-compose, or set the compose command in the stack config.'
      compose() { docker compose "$@"; }
      ;;
    docker-compose)
      command -v docker-compose >/dev/null 2>&1 || die 6 'docker-compose is not on PATH on this server; install the compose plugin or docker-compose, or set the compose command in the stack config.'
      compose() { docker-compose "$@"; }
      ;;
    *)
      if docker compose version >/dev/null 2>&1; then
        compose() { docker compose "$@"; }
      elif command -v docker-compose >/dev/null 2>&1; then
        compose() { docker-compose "$@"; }
      else
        die 6 'neither "docker compose" nor docker-compose works on this server; install the compose plugin or docker-compose, or set the compose command in the stack config.'
      fi
      ;;
  esac
}
