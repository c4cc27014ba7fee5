#!/usr/bin/env bash
# Create an example app's git repository, the one greenlight deploys from:
#
#   examples/make-repo.sh EXAMPLE_DIR DEST
#
# EXAMPLE_DIR/releases lists the releases in order, one per line: NAME BASE TREE DATE.
# BASE "-" commits on main; a tag commits on a new branch fault/NAME off that tag. TREE (a
# folder under EXAMPLE_DIR) is copied over the work tree, then the release's name is written
# into each file EXAMPLE_DIR/version-files lists, and the commit is tagged NAME.
# Identity and dates are fixed so every run yields the same commit SHAs.
set -euo pipefail

usage() { echo "usage: $0 EXAMPLE_DIR DEST" >&2; exit 2; }
[[ $# -eq 2 && -n $1 && -n $2 ]] || usage

example=$(cd "$1" && pwd)
dest=$2
# Marks a repository this script made, so rebuilding can never delete anything else.
marker=.git/greenlight-$(basename "$example")-repo

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

mapfile -t version_files < <(grep -v '^\s*\(#\|$\)' "$example/version-files")
while read -r name base tree date; do
  [[ -z $name || $name == \#* ]] && continue
  if [[ $base == - ]]; then
    if g rev-parse -q --verify HEAD >/dev/null; then g checkout -q main; fi
  else
    g checkout -q -b "fault/$name" "$base"
  fi
  tar -C "$example/$tree" --exclude=__pycache__ --exclude='*.pyc' -cf - . | tar -C "$dest" -xf -
  for file in "${version_files[@]}"; do
    printf '%s\n' "$name" >"$dest/$file"
  done
  g add -A
  GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date g commit -q -m "Release $name"
  g tag "$name"
done <"$example/releases"

g checkout -q main
echo "created $dest"
