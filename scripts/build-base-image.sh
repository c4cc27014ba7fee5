#!/usr/bin/env bash
# Make a Debian bookworm base image for machines that cannot pull from a registry.
#
# On a normal VPS the Dockerfiles use the public debian:bookworm-slim image and this
# script is never needed. Where no registry is reachable (air-gapped hosts, this project's
# CI) it builds an equivalent minimal image with debootstrap and `docker import`, and
# prints its name (make base-image writes it into the inventories as greenlight_base_image).
set -euo pipefail

image="${1:-greenlight/debian:bookworm}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

rootfs=$(mktemp -d /tmp/greenlight-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

debootstrap --variant=minbase bookworm "$rootfs" >&2
# Keep the image small and apt quiet, as the official slim image does.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV DEBIAN_FRONTEND=noninteractive' \
  --change 'CMD ["bash"]' - "$image" >&2
echo "$image"
