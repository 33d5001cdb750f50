# shellcheck shell=sh
# The first command on a fresh AMI builder, retried until sshd answers.
# Preamble: none.

echo ready
