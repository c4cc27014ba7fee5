#!/usr/bin/env bash
# The CIS Docker Benchmark's container checks (docker-bench-security: section 4, images, and
# section 5, container runtime) on the running containers that carry one label, and a summary:
# per check, its result and the containers it flags; then the count of checks per result.
#   bench/docker-bench.sh [LABEL]        LABEL: greenlight.app=$APP by default (APP: warehouse)
#   bench/docker-bench.sh greenlight.monitoring          the monitoring stack
# DOCKER_BENCH_DIR    docker-bench-security (https://github.com/docker/docker-bench-security): a
#                     checkout, a bare git dir or a .tar.gz of one; required (the project carries
#                     no copy of another project)
# DOCKER_BENCH_CHECKS its -c (default: container_images,container_runtime; e.g. check_5_11,check_5_29)
# DOCKER_BENCH_OUT    where its full text and JSON output are kept (default /tmp/greenlight-docker-bench)
set -euo pipefail
label=${1:-greenlight.app=${APP:-warehouse}}
src=${DOCKER_BENCH_DIR:?"set DOCKER_BENCH_DIR to a checkout of https://github.com/docker/docker-bench-security"}
checks=${DOCKER_BENCH_CHECKS:-container_images,container_runtime}
out=${DOCKER_BENCH_OUT:-/tmp/greenlight-docker-bench}
log=$out/$(echo "$label" | tr -c 'A-Za-z0-9.\n-' _).log

names=$(docker ps --filter "label=$label" --format '{{.Names}}' | sort)
[ -n "$names" ] || { echo "no running container has the label $label" >&2; exit 1; }

# docker-bench-security runs from its own directory (it sources ./functions, ./tests): a copy in a temporary one.
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
if [ -f "$src/docker-bench-security.sh" ]; then cp -r "$src/." "$work"
elif git --git-dir="$src" rev-parse -q --verify HEAD >/dev/null 2>&1; then git --git-dir="$src" archive HEAD | tar -x -C "$work"
elif [ -f "$src" ]; then tar -xzf "$src" -C "$work" --strip-components=1
else
  echo "no docker-bench-security at $src: git clone https://github.com/docker/docker-bench-security DIR," >&2
  echo "then DOCKER_BENCH_DIR=DIR $0 $label" >&2; exit 1
fi

# Its -i: comma-separated grep -E patterns, matched against `docker ps` names and `docker images`
# lines. Each container by its exact name, its image by its short id (" <id> ", never in a name).
include=$(for n in $names; do
  echo "^$n\$"; echo " $(docker inspect -f '{{.Image}}' "$n" | cut -c8-19) "
done | sort -u | paste -sd,)
# For the image checks (4.6, 4.7, 4.9), which name images: each container's image's tags and short id.
images=$(for n in $names; do
  docker image inspect -f "{\"$n\": [{{range .RepoTags}}\"{{.}}\", {{end}}\"{{slice .Id 7 19}}\"]}" \
    "$(docker inspect -f '{{.Image}}' "$n")"
done | jq -s add)

mkdir -p "$out"; rm -f "$log" "$log.json"
(cd "$work" && bash docker-bench-security.sh -b -c "$checks" -i "$include" -l "$log" >/dev/null) || true
jq -e .tests "$log.json" >/dev/null || { echo "docker-bench-security failed, see $log" >&2; exit 1; }

echo "docker-bench-security $(jq -r .dockerbenchsecurity "$log.json") on label $label: $(echo $names)"
echo
echo "| check | result | containers | which | description |"
echo "|---|---|---|---|---|"
jq -r --argjson images "$images" --arg names "$names" '
  ($names | split("\n")) as $ours
  | .tests[].results[]
  | ((.items // []) | map(ltrimstr("[") | rtrimstr("]"))) as $items
  | (if (.id | IN("4.6", "4.7", "4.9")) then [$images | to_entries[] | select(any(.value[]; IN($items[]))) | .key]
     elif .id == "5.30" then $items | map(split(":")[1])          # <id>:<name>
     else $items | map(split(":")[0]) end                         # <name>[:port|:ip|:dir]
     | unique | map(select(IN($ours[])))) as $flagged
  | "| \(.id) | \(.result) | \($flagged | length) | \($flagged | join(" ")) | \(.desc | sub(" \\((Automated|Manual)\\)$"; "")) |"
' "$log.json"
echo
jq -r '"checks: \([.tests[].results[].result] | group_by(.) | map("\(.[0]) \(length)") | join(", ")), score \(.score)"' "$log.json"
echo "full output: $log (and $log.json)"
