# shellcheck shell=sh
# The worker SSH key on the CI server: generated once (Ed25519, root-only) at $key in the runner's
# config volume; prints only the public key, derived from the private key each time (so a stale
# or edited .pub cannot be imported). The private key never leaves the server.
# Preamble: key dir sd comment.
# Functions: die signal_traps.

exec < /dev/null
command -v ssh-keygen >/dev/null 2>&1 || die 2 'ssh-keygen is not installed on the CI server (package openssh on Amazon Linux, openssh-clients on CentOS).'
[ ! -L "$key" ] || die 2 "$key is a symbolic link; replace it by a key file or remove it."
if [ ! -e "$key" ]; then
  umask 077
  created_dir=0
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    created_dir=1
  fi
  tmp=
  trap 'rm -f "$tmp" "$tmp.pub"' EXIT
  signal_traps
  # An unused name beside the key (mktemp -u: ssh-keygen would ask before overwriting a file); the
  # umask keeps the new files root-only whatever the directory's mode.
  tmp=$(mktemp -u "$dir/.gra-key.XXXXXX")
  ssh-keygen -q -t ed25519 -N '' -C "$comment" -f "$tmp" > /dev/null
  chmod 0600 "$tmp"
  chmod 0644 "$tmp.pub"
  # The private key last: its presence is what says "the key exists".
  mv -f "$tmp.pub" "$key.pub"
  mv -f "$tmp" "$key"
  mkdir -p "$sd"
  printf "%s\n" "$key" > "$sd/created-key"
  if [ "$created_dir" = 1 ]; then printf "%s\n" "$dir" > "$sd/created-dir"; fi
fi
[ -f "$key" ] || die 2 "$key is not a regular file."
pub=$(ssh-keygen -y -f "$key" 2>/dev/null) || die 2 "$key is not an unencrypted OpenSSH private key; move it away and run pulumi up again."
printf "%s\n" "$pub" | awk 'NR == 1 { print $1 " " $2 }'
