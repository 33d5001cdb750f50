# shellcheck shell=sh
# The AMI builder's docker group for the Docker Autoscaler's connector user (GitLab: the AMI's
# connector user must be in it, to reach /var/run/docker.sock over SSH).
# Preamble: user.
# Functions: die.

getent group docker > /dev/null || die 2 'no docker group: is Docker installed?'
id -u "$user" > /dev/null 2>&1 || die 2 "no user $user on the image"
usermod -aG docker "$user"
echo "$user is in the docker group: $(id -nG "$user")"
