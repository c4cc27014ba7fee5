#!/usr/bin/env bash
# Create the warehouse app's git repository, the one greenlight deploys from.
#
#   make-repo.sh DEST
#
# main: v1 -> v2 (tags v1, v2). Deliberately broken releases branch off v1:
# fault/unhealthy, fault/bad-migration, fault/flaky, each tagged with its name; releases
# that test the judge branch off v2: fault/slow, fault/flaky2.
# Identity and dates are fixed so every run yields the same commit SHAs.
set -euo pipefail

usage() { echo "usage: $0 DEST" >&2; exit 2; }
[[ $# -eq 1 && -n $1 ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=$1
# Marks a repository this script made, so rebuilding can never delete anything else.
marker=.git/greenlight-warehouse-repo

if [[ -e $dest ]]; then
  if [[ -f $dest/$marker ]]; then
    rm -rf -- "$dest"
  else
    echo "refusing: $dest exists and was not created by $(basename "$0")" >&2
    exit 1
  fi
fi

# Ignore whatever git configuration the machine has (or lacks).
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Greenlight Example" GIT_AUTHOR_EMAIL="example@greenlight.invalid"
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL

git init -q -b main "$dest"
touch "$dest/$marker"

g() { git -C "$dest" "$@"; }

# Copy a tree of files over the work tree, then stamp the release name into the
# VERSION files the two images read.
release() {
  local name=$1 src=$2 date=$3
  tar -C "$src" --exclude=__pycache__ --exclude='*.pyc' -cf - . | tar -C "$dest" -xf -
  printf '%s\n' "$name" >"$dest/backend/VERSION"
  printf '%s\n' "$name" >"$dest/frontend/VERSION"
  g add -A
  GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date g commit -q -m "Release $name"
  g tag "$name"
}

release v1 "$here/app" "2024-01-01T12:00:00Z"
release v2 "$here/versions/v2" "2024-01-02T12:00:00Z"

day=3
for fault in unhealthy bad-migration flaky; do
  g checkout -q -b "fault/$fault" v1
  release "$fault" "$here/versions/$fault" "2024-01-0${day}T12:00:00Z"
  day=$((day + 1))
done

# Releases that test the judge branch off v2: same schema, same answers, worse behaviour.
for fault in slow flaky2; do
  g checkout -q -b "fault/$fault" v2
  release "$fault" "$here/versions/$fault" "2024-01-0${day}T12:00:00Z"
  day=$((day + 1))
done

g checkout -q main
echo "created $dest"
