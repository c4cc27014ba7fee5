#!/usr/bin/env bash
# Remove every container, volume and network of one app (both environments), found by
# the label greenlight.app that greenlight puts on all it creates. Data volumes go too.
set -euo pipefail
app=${1:?usage: remove-app.sh APP}
label="label=greenlight.app=$app"
ids=$(docker ps -aq --filter "$label"); [ -z "$ids" ] || docker rm -f $ids >/dev/null
ids=$(docker volume ls -q --filter "$label"); [ -z "$ids" ] || docker volume rm $ids >/dev/null
ids=$(docker network ls -q --filter "$label"); [ -z "$ids" ] || docker network rm $ids >/dev/null
echo "removed the containers, volumes and networks of app $app"
