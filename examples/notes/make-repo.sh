#!/usr/bin/env bash
# Create the notes app's git repository, the one greenlight deploys from.
#
#   make-repo.sh DEST
#
# The releases are in ./releases (examples/make-repo.sh): main v1 -> v2, and fault/faulty.
set -euo pipefail
[[ $# -eq 1 && -n $1 ]] || { echo "usage: $0 DEST" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec bash "$here/../make-repo.sh" "$here" "$1"
