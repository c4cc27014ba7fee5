#!/usr/bin/env bash
# Remove every container, volume and network of one app (both environments), found by
# the label greenlight.app that greenlight puts on all it creates. Data volumes go too,
# and the app's cron entries.
set -euo pipefail
app=${1:?usage: remove-app.sh APP}
label="label=greenlight.app=$app"
ids=$(docker ps -aq --filter "$label"); [ -z "$ids" ] || docker rm -f $ids >/dev/null
ids=$(docker volume ls -q --filter "$label"); [ -z "$ids" ] || docker volume rm $ids >/dev/null
# A container of another owner joined to the app's network (the database where it is, which
# greenlight joins to the environment's network) is taken off it first: Docker refuses to
# remove a network with a container on it.
for network in $(docker network ls -q --filter "$label"); do
  for member in $(docker network inspect -f '{{range $id, $c := .Containers}}{{$id}} {{end}}' "$network"); do
    docker network disconnect -f "$network" "$member"
  done
  docker network rm "$network" >/dev/null
done
# The scheduled backups' and certificate renewals' cron entries (roles/greenlight/tasks/schedule.yml): left behind, cron would
# run backups of an app that is gone, and notify each time they fail.
for env in staging production; do rm -f "/etc/cron.d/greenlight-$app-$env" "/etc/cron.d/greenlight-$app-$env-certificate"; done
# The nftables table that carried an adopted compose app's public ports (greenlight adopt).
if command -v nft >/dev/null; then
  for env in staging production; do
    table="greenlight_adopt_$(printf '%s' "$app-$env" | tr -c 'a-z0-9' '_')"
    ! nft list table ip "$table" >/dev/null 2>&1 || nft delete table ip "$table"
  done
fi
# Its registrations with the host's monitoring stack (roles/monitoring), and the stack itself
# when no app is left to watch.
monitoring=${GREENLIGHT_ROOT:-/var/lib/greenlight}/monitoring
for env in staging production; do
  rm -f "$monitoring/envs/$app-$env.json" "$monitoring/targets/$app-$env"-*.json
done
if [ -d "$monitoring/envs" ] && [ -z "$(ls -A "$monitoring/envs")" ]; then
  ids=$(docker ps -aq --filter "label=greenlight.monitoring=${GREENLIGHT_MONITORING:-greenlight-monitoring}")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  echo "removed the monitoring stack (no app left to watch)"
fi
echo "removed the containers, volumes, networks, cron entries and monitoring registrations of app $app"
