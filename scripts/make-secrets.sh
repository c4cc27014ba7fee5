#!/usr/bin/env bash
# The demo's secrets, made on the first run on this machine and never committed: a random
# vault password (.greenlight/demo-vault-password, 0600) and, for each example inventory
# without one, a vault.yml of random passwords encrypted with it. The plain text exists
# only in this pipe. greenlight refuses this password for a host that is not this machine
# (docs/getting-started.md).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
BIN=${BIN:-.venv/bin}
password_file=.greenlight/demo-vault-password
mkdir -p .greenlight
if [ ! -s "$password_file" ]; then
  head -c 48 /dev/urandom | base64 | tr -d '/+=\n' > "$password_file"
  echo "made the demo's vault password: $password_file"
fi
for env in staging production; do
  vault=inventories/$env/group_vars/all/vault.yml
  [ -s "$vault" ] && continue
  "$BIN/python" - <<'PY' | ANSIBLE_VAULT_PASSWORD_FILE="$password_file" "$BIN/ansible-vault" encrypt --output "$vault" - >/dev/null
import secrets
print("---\n# Made by scripts/make-secrets.sh for the demo; encrypted with .greenlight/demo-vault-password.")
for name in ("vault_mysql_app_password", "vault_mysql_migrator_password", "vault_restic_password"):
    print(f"{name}: {secrets.token_urlsafe(24)}")
PY
  echo "made $vault (random passwords, encrypted)"
done
