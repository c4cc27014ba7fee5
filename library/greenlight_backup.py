#!/usr/bin/python
"""Record a finished dump as a backup and apply retention, or list the backups (module_utils/backups.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: greenlight_backup
short_description: Record a dump as a backup (checksum, metadata with row counts) and remove backups past retention, or list them
description:
  - Without O(name), lists the whole backups of O(database) in O(folder), newest first, with
    their metadata, and counts the files of interrupted runs; changes nothing.
  - With O(name), reads the dump O(name) in O(folder), written by mariadb-dump and renamed when whole;
    refuses one that is truncated, not gzip, or of another database than O(database).
  - Writes NAME.sql.gz.sha256 and NAME.json (environment, database, release, time, size,
    checksum, rows of each table counted in the dump), each 0600 and renamed when whole.
  - Then removes the backups of O(database) past the newest O(keep) (never the new one,
    never one in O(protect)), and the leftovers of interrupted runs older than an hour.
options:
  folder: {description: The environment's backup folder., type: path, required: true}
  name: {description: "The dump's file name (NAME.sql.gz) to record; without it, list.", type: str}
  env: {description: The environment (required to record)., type: str}
  database: {description: The database the dump must hold., type: str, required: true}
  label: {description: Why the backup was taken (before-v2, scheduled, before-restore)., type: str, default: manual}
  release: {description: "The live release: version, commit.", type: dict, default: {}}
  keep: {description: Backups kept (1 or more; required to record)., type: int}
  protect: {description: Backup files retention must not remove (one being restored)., type: list, elements: str, default: []}
author: greenlight
"""

EXAMPLES = r"""
- name: Record the backup
  greenlight_backup:
    folder: /var/lib/greenlight/warehouse-production/backups
    name: warehouse-20261128T120000Z-before-v2.sql.gz
    env: production
    database: warehouse
    label: before-v2
    keep: 10
"""

RETURN = r"""
backup: {description: "The backup's metadata (file, sha256, size, tables, rows, ...).", returned: when recording, type: dict}
removed: {description: Files removed by retention and as leftovers., returned: when recording, type: list}
backups: {description: "Each whole backup's metadata, newest first.", returned: when listing, type: list}
leftovers: {description: Files of interrupted runs (removed by the next backup once an hour old)., returned: when listing, type: int}
"""

import os
import time

from ansible.module_utils.backup_dump import DumpError
from ansible.module_utils.backups import BackupError, leftovers, listing, past_retention, record, remove
from ansible.module_utils.basic import AnsibleModule

# Files of no whole backup are left this long: a dump of a big database may still be running.
LEFTOVER_AGE_S = 3600


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "folder": {"type": "path", "required": True},
            "name": {"type": "str"},
            "env": {"type": "str"},
            "database": {"type": "str", "required": True},
            "label": {"type": "str", "default": "manual"},
            "release": {"type": "dict", "default": {}},
            "keep": {"type": "int"},
            "protect": {"type": "list", "elements": "str", "default": []},
        },
        required_by={"name": ("env", "keep")},
        supports_check_mode=True,
    )
    params = module.params
    folder = params["folder"]
    if not params["name"]:
        try:
            found = listing(folder, params["database"]) if os.path.isdir(folder) else []
            left = leftovers(folder, params["database"], time.time()) if os.path.isdir(folder) else []
        except OSError as exc:
            module.fail_json(msg=f"cannot list the backups in {folder}: {exc}")
        module.exit_json(changed=False, backups=[b.as_data() for b in found], leftovers=len(left))
    if module.check_mode:
        module.exit_json(changed=True)
    try:
        if params["keep"] < 1:
            raise BackupError(f"backup_keep must be 1 or more, not {params['keep']}: the newest backup is never removed")
        backup = record(folder, params["name"], params["env"], params["database"], params["label"],
                        {k: str(v) for k, v in params["release"].items()})
        removed = []
        for old in past_retention(listing(folder, params["database"]), params["keep"],
                                  {backup.file, *params["protect"]}):
            remove(folder, old)
            removed.append(old.file)
        for path in leftovers(folder, params["database"], time.time() - LEFTOVER_AGE_S):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    except (BackupError, DumpError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"cannot record the backup in {folder}: {exc}")
    module.exit_json(changed=True, backup=backup.as_data(), removed=removed)


if __name__ == "__main__":
    main()
