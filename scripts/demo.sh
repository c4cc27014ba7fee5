#!/usr/bin/env bash
# The demo: staging and production of the sample app on this machine, then v2 promoted
# through staging to production with zero downtime, measured by a load probe.
set -euo pipefail
cd "$(dirname "$0")/.."

repo=${DEMO_REPO:-/var/lib/greenlight/demo/warehouse.git}
mkdir -p "$(dirname "$repo")"
bash examples/warehouse/make-repo.sh "$repo" >/dev/null
echo "sample app repository: $repo (releases v1, v2, unhealthy, bad-migration, flaky, slow, flaky2)"

step() { printf '\n=== %s\n' "$*"; }
deploy() {
  ansible-playbook playbooks/deploy.yml -i "inventories/$1" -e "app_version=$2" -e "app_repo=$repo"
}

step "staging: deploy v1";      deploy staging v1
step "production: deploy v1";   deploy production v1
step "promote v2 (staging, verify, production) under 100 requests/s of reads and writes on production"
mkdir -p .greenlight
python -m greenlight.load http://127.0.0.1:80 --rate 100 --report .greenlight/demo-load.json -- \
  greenlight -e "app_repo=$repo" promote v2
step "verify the newest backup of each environment (restored into a throwaway database and counted)"
for env in staging production; do
  greenlight backup verify "$env"
done
step "monitoring: Prometheus, Alertmanager, the exporters and the status page, watching both"
for env in staging production; do
  ansible-playbook playbooks/monitoring.yml -i "inventories/$env"
done
step "status"
greenlight status

cat <<TXT

=== done
load on production during the promotion: $(cat .greenlight/demo-load.json)

staging     http://127.0.0.1:8080/   https://127.0.0.1:8443/   (API 127.0.0.1:5001, preview 127.0.0.1:9081, database 127.0.0.1:3308)
production  http://127.0.0.1/        https://127.0.0.1/        (API 127.0.0.1:5000, preview 127.0.0.1:9080, database 127.0.0.1:3307)
status page http://127.0.0.1:9099/   Prometheus http://127.0.0.1:9090/   Alertmanager http://127.0.0.1:9093/
            (loopback only; from your PC: ssh -L 9099:127.0.0.1:9099 -L 9090:127.0.0.1:9090 you@your-vps)

Next: greenlight promote unhealthy      (fails its health check at staging; production keeps v2)
      greenlight promote slow           (five times slower, no error: the judge's watch window takes it back)
      greenlight rollback production      (back to v1 in one switch: the old color is warm)
      greenlight history production
TXT
