#!/usr/bin/env bash
# The demo: staging and production of the sample app on this machine, then v2 promoted
# through staging to production with zero downtime, measured by a load probe.
set -euo pipefail
cd "$(dirname "$0")/.."

repo=${DEMO_REPO:-/var/lib/greenlight/demo/warehouse.git}
mkdir -p "$(dirname "$repo")"
bash examples/warehouse/make-repo.sh "$repo" >/dev/null
echo "sample app repository: $repo (releases v1, v2, unhealthy, bad-migration, flaky)"

step() { printf '\n=== %s\n' "$*"; }
deploy() {
  ansible-playbook playbooks/deploy.yml -i "inventories/$1" -e "app_version=$2" -e "app_repo=$repo"
}

step "staging: deploy v1";      deploy staging v1
step "production: deploy v1";   deploy production v1
step "staging: deploy v2";      deploy staging v2
step "production: deploy v2 under 100 requests/s of reads and writes"
mkdir -p .greenlight
python -m greenlight.load http://127.0.0.1:80 --rate 100 --report .greenlight/demo-load.json -- \
  ansible-playbook playbooks/deploy.yml -i inventories/production -e app_version=v2 -e "app_repo=$repo"

cat <<TXT

=== done
load during the production switch: $(cat .greenlight/demo-load.json)

staging     http://127.0.0.1:8080/   https://127.0.0.1:8443/   (API 127.0.0.1:5001, preview 127.0.0.1:9081, database 127.0.0.1:3308)
production  http://127.0.0.1/        https://127.0.0.1/        (API 127.0.0.1:5000, preview 127.0.0.1:9080, database 127.0.0.1:3307)

Next: ansible-playbook playbooks/deploy.yml -i inventories/staging -e app_version=unhealthy
      (fails its health check; staging keeps serving v2)
TXT
