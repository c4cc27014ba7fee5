#!/usr/bin/env bash
# The README's commands on a stock Debian 12, as a new user runs them: a fresh clone of this
# repository inside a container with every privilege made from Debian's bookworm (debootstrap minbase,
# plus python3 and nothing else), with its own Docker engine (data under $WORK, overlay2 on
# the host's filesystem). It runs `apt-get install make` (the README's first lines, for a fresh
# machine), then `make demo` or the target given:
#   make fresh-debian                 # make demo
#   make fresh-debian TARGET=test     # make test (about 50 minutes here)
# Its output is also in $WORK/make.log. Removed at the start of the next run, by name.
# Ubuntu 24.04 is not covered: no Ubuntu mirror is reachable from these machines.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${1:-demo}
name=greenlight-fresh-debian
work=/var/tmp/greenlight-fresh-debian
base=$(cat .greenlight/base-image)

docker rm -f "$name" >/dev/null 2>&1 || true
rm -rf "$work"
mkdir -p "$work/docker"
git clone -q "$PWD" "$work/greenlight"

docker build -q -t greenlight/fresh-debian:bookworm - >/dev/null <<DOCKERFILE
FROM $base
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null \
    && rm -rf /var/lib/apt/lists/*
DOCKERFILE

# Where pip needs a certificate authority of the local network (as on these machines), the
# container gets the same one; nothing else of the host's configuration goes in.
ca=()
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
    ca=(-v "$PIP_CERT:/etc/greenlight-host-ca.crt:ro" -e PIP_CERT=/etc/greenlight-host-ca.crt)
fi

started=$(date +%s)
set +e
# What --privileged gives, spelled out: every capability this machine has (these sandboxes
# lack CAP_SYS_RESOURCE, and --privileged asks for all of them), every device, the host's
# cgroups for the inner engine's containers.
docker run --rm --name "$name" --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    --device-cgroup-rule 'a *:* rwm' --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup "${ca[@]}" \
    -v "$work/docker:/var/lib/docker" -v "$work/greenlight:/root/greenlight" -w /root/greenlight \
    greenlight/fresh-debian:bookworm \
    sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null && make $target" \
    2>&1 | tee "$work/make.log"
rc=${PIPESTATUS[0]}
set -e
echo "make $target on a stock Debian 12: exit $rc after $(( $(date +%s) - started )) s"
exit "$rc"
