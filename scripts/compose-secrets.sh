#!/bin/sh
# Fresh secrets for the compose stack, printed as VAR=value lines (docs/security.md):
#   scripts/compose-secrets.sh > gatehouse-secrets.env && chmod 600 gatehouse-secrets.env
#   set -a && . ./gatehouse-secrets.env && set +a && docker compose up
# Keep the file safe and out of the repository. GATEHOUSE_MASTER_KEY encrypts provider credentials:
# losing it loses them; the NATS passwords can be replaced at any time (restart everything).
set -eu

# 24 random bytes as hex after a letter: nats-server's configuration language reads a value that
# starts with a digit (12e5…) as a number, so every password starts with a letter.
password() {
  printf 'gh%s' "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
}

for service in AUTH ACL DISPATCH INGRESS; do
  printf 'GATEHOUSE_NATS_%s_PASSWORD=%s\n' "$service" "$(password)"
done
printf 'GATEHOUSE_MASTER_KEY=%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
