# shellcheck shell=sh
# The AMI builder's Docker CE, from Docker's apt repository (the runbook's steps); a no-op when
# present. Behind a proxy, ami/proxy-env.sh comes first and reads the proxy environment from stdin.
# Preamble: none.
# Functions: die signal_traps.

# sudo's secure_path may lack /usr/local/bin.
PATH="$PATH:/usr/local/sbin:/usr/local/bin"
export PATH
DEBIAN_FRONTEND=noninteractive
export DEBIAN_FRONTEND
exec < /dev/null
list=/etc/apt/sources.list.d/docker.list
if docker --version >/dev/null 2>&1 && [ -f "$list" ]; then
  echo "docker already installed: $(docker --version)"
  exit 0
fi
work=
trap 'rm -rf "$work"' EXIT
signal_traps
work=$(mktemp -d)
apt-get update
apt-get install -y ca-certificates curl gnupg
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o "$work/docker.asc"
gpg --homedir "$work" --batch --yes --dearmor -o "$work/docker.gpg" "$work/docker.asc"
chmod 0644 "$work/docker.gpg"
mv -f "$work/docker.gpg" /etc/apt/keyrings/docker.gpg
arch=$(dpkg --print-architecture)
codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d '"')
[ -n "$codename" ] || die 2 'VERSION_CODENAME is missing from /etc/os-release; is this Ubuntu?'
printf 'deb [arch=%s signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/ubuntu %s stable\n' "$arch" "$codename" > "$work/docker.list"
chmod 0644 "$work/docker.list"
mv -f "$work/docker.list" "$list"
apt-get update
apt-get install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin
docker --version
