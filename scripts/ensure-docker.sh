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
# The backups' off-host copies (roles/backup): a host's tool, never installed by a deploy.
command -v restic >/dev/null || need+=(restic)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Restarting the daemon (a docker.io update) must not cut the containers or their published
# ports (docs/security.md): containers outlive the daemon (live-restore), and the ports
# are forwarded by the kernel (iptables), not by docker-proxy processes that die with it.
# Read when the daemon starts: an engine already running keeps what it had.
python3 - <<'PY'
import json, os
path = "/etc/docker/daemon.json"
config = json.load(open(path)) if os.path.exists(path) else {}
wanted = {"live-restore": True, "userland-proxy": False}
if any(config.get(key) != value for key, value in wanted.items()):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump({**config, **wanted}, open(path, "w"), indent=2)
    print(f"set {', '.join(wanted)} in {path}")
PY

if docker info >/dev/null 2>&1; then
  if [ "$(docker info --format '{{.LiveRestoreEnabled}}')" != true ]; then
    echo "note: the running Docker engine started without live-restore; restart it to apply /etc/docker/daemon.json" >&2
  fi
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
