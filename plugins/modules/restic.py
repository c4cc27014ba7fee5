#!/usr/bin/python
"""Store a backup in the environment's restic repository, apply restic's retention, check it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restic
short_description: Copy a backup into a restic repository (encrypted, off-host), forget old snapshots, check the repository
description:
  - >-
      O(state=stored) creates the repository when it is not there and stores the backup's three
      files (dump, checksum, metadata) as one snapshot tagged with the environment and the
      backup's label (every backup, a few seconds).
  - >-
      O(state=checked) forgets this environment's snapshots past O(keep_last) and O(keep_daily)
      (restic's own retention, grouped by host), prunes, and runs C(restic check): the
      scheduled backup does it once a day, as pruning rewrites the repository's packs.
  - >-
      The password reaches restic as a file (O(password_file), 0600), never in an argument;
      restic 0.14's errors (all exit 1) are told apart by what it printed (plugins/module_utils/restic.py).
options:
  repository: {description: "The repository: a folder, sftp:user@host:/path, s3:https://host/bucket.", type: str, required: true}
  password_file: {description: "The file holding the repository's password.", type: path, required: true}
  password: {description: "The password, written to O(password_file) (0600) when it differs; empty: the file as it is.", type: str, default: ""}
  host: {description: "The snapshots' host name (one per environment: retention groups by it).", type: str, required: true}
  state: {description: "What to do.", type: str, choices: [stored, checked], default: stored}
  files: {description: "The backup's files (to store).", type: list, elements: path, default: []}
  tags: {description: "Tags of the snapshot (to store).", type: list, elements: str, default: []}
  keep_last: {description: "Snapshots kept at least (1 or more).", type: int, default: 10}
  keep_daily: {description: "And the last snapshot of each of this many days.", type: int, default: 14}
author: greenlight
"""

EXAMPLES = r"""
- name: Store the backup off the host
  greenlight.deploy.restic:
    repository: sftp:backup@nas:/srv/restic/shop
    password_file: /var/lib/greenlight/shop-production/secrets/restic-password
    host: shop-production
    files: [/var/lib/greenlight/shop-production/backups/shop-20261128T120000Z-before-v2.sql.gz]
    tags: [env:production, backup:shop-20261128T120000Z-before-v2.sql.gz]
"""

RETURN = r"""
snapshot: {description: "The new snapshot's id.", returned: stored, type: str}
created: {description: "Whether the repository was created.", returned: stored, type: bool}
forgotten: {description: "Snapshots removed by retention.", returned: checked, type: list}
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.greenlight.deploy.plugins.module_utils.restic import Repository, ResticError, check, ensure, forget, store


def write_secret(path: str, content: str) -> None:
    """The password file (0600, in a 0700 folder), rewritten only when it changed."""
    try:
        with open(path, encoding="utf-8") as stream:
            if stream.read() == content:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_atomically(path, content, 0o600)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "repository": {"type": "str", "required": True},
            "password_file": {"type": "path", "required": True},
            "password": {"type": "str", "default": "", "no_log": True},
            "host": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["stored", "checked"], "default": "stored"},
            "files": {"type": "list", "elements": "path", "default": []},
            "tags": {"type": "list", "elements": "str", "default": []},
            "keep_last": {"type": "int", "default": 10},
            "keep_daily": {"type": "int", "default": 14},
        },
        supports_check_mode=False,
    )
    params = module.params
    if not shutil.which("restic"):
        module.fail_json(msg="restic is not installed on the host: apt-get install restic (scripts/ensure-docker.sh "
                             "does it here; docs/getting-started.md)")
    if params["password"]:
        write_secret(params["password_file"], params["password"])
    repo = Repository(params["repository"], params["password_file"], params["host"])
    try:
        if params["state"] == "checked":
            forgotten = forget(repo, params["keep_last"], params["keep_daily"])
            check(repo)
            module.exit_json(changed=bool(forgotten), forgotten=forgotten)
        if not params["files"]:
            module.fail_json(msg="nothing to store: files is empty")
        created = ensure(repo)
        snapshot = store(repo, params["files"], params["tags"])
    except ResticError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=True, snapshot=snapshot, created=created)


if __name__ == "__main__":
    main()
