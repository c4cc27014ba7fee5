#!/usr/bin/env bash
# Make sure a Docker engine runs on this machine: install Debian's docker.io when it is
# missing, and start the daemon when it is not running (with systemd where there is one,
# else in the background, as in containers and CI machines).
set -euo pipefail

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v git >/dev/null || need+=(git)
command -v ss >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ -d /run/systemd/system ]; then
  systemctl start docker
else
  echo "starting dockerd in the background (log: /var/log/greenlight-dockerd.log)" >&2
  nohup dockerd >/var/log/greenlight-dockerd.log 2>&1 &
fi
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "the Docker engine did not start; see /var/log/greenlight-dockerd.log" >&2
exit 1
