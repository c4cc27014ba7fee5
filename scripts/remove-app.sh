#!/usr/bin/env bash
# Remove every container, volume and network of one app (both environments), found by
# the label greenlight.app that greenlight puts on all it creates. Data volumes go too,
# and the app's cron entries.
set -euo pipefail
app=${1:?usage: remove-app.sh APP}
label="label=greenlight.app=$app"
ids=$(docker ps -aq --filter "$label"); [ -z "$ids" ] || docker rm -f $ids >/dev/null
ids=$(docker volume ls -q --filter "$label"); [ -z "$ids" ] || docker volume rm $ids >/dev/null
ids=$(docker network ls -q --filter "$label"); [ -z "$ids" ] || docker network rm $ids >/dev/null
# The scheduled backups' cron entries (roles/backup/tasks/schedule.yml): left behind, cron would
# run backups of an app that is gone, and notify each time they fail.
for env in staging production; do rm -f "/etc/cron.d/greenlight-$app-$env"; done
echo "removed the containers, volumes, networks and backup cron entries of app $app"
