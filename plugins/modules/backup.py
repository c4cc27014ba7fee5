#!/usr/bin/python
"""An environment's backups: record a dump, list them, record a verification (plugins/module_utils/backups.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup
short_description: Record a dump as a backup and apply retention, list the backups, or record a verification
description:
  - >-
      O(state=recorded) reads the dump O(name) in O(folder), written by mariadb-dump and renamed
      when whole; refuses one that is truncated, not gzip, or of another database than
      O(database). Writes NAME.sql.gz.sha256 and NAME.json (environment, database, release,
      time, size, checksum, rows of each table counted in the dump), each 0600 and renamed
      when whole. Then removes the backups of O(database) past the newest O(keep) (never the
      new one, never one in O(protect)), and the leftovers of interrupted runs an hour old.
  - >-
      O(state=listed) lists the whole backups of O(database), newest first, with their
      metadata, and counts the files of interrupted runs. With O(name), returns that backup
      only, after checking its file against its checksum, and the query that counts its
      tables' rows (count_sql). Changes nothing.
  - >-
      O(state=verified) compares O(counts) (count_sql's output on a database restored from
      O(name)) with the rows the dump holds, writes the result into the metadata, and fails
      when they differ.
options:
  folder: {description: "The environment's backup folder.", type: path, required: true}
  database: {description: "The database the backups hold.", type: str, required: true}
  state: {description: "What to do.", type: str, choices: [recorded, listed, verified], default: listed}
  name: {description: "A backup's file name (NAME.sql.gz); required to record and to verify.", type: str}
  env: {description: "The environment (to record).", type: str}
  label: {description: "Why the backup was taken (before-v2, scheduled, before-restore).", type: str, default: manual}
  release: {description: "The live release: version, commit.", type: dict, default: {}}
  keep: {description: "Backups kept (1 or more; to record).", type: int}
  protect: {description: "Backup files retention must not remove (one being restored).", type: list, elements: str, default: []}
  counts: {description: "count_sql's output on the restored database (to verify).", type: str}
  seconds: {description: "How long the verification took (to verify).", type: float, default: 0}
author: greenlight
"""

EXAMPLES = r"""
- name: Record the backup
  greenlight.deploy.backup:
    folder: /var/lib/greenlight/shop-production/backups
    database: shop
    state: recorded
    name: shop-20261128T120000Z-before-v2.sql.gz
    env: production
    label: before-v2
    keep: 10
"""

RETURN = r"""
backup: {description: "A backup's metadata (file, sha256, size, tables, rows, verified, ...).", returned: with name, type: dict}
count_sql: {description: "The query counting the rows of the backup's tables.", returned: listed with name, type: str}
removed: {description: "Files removed by retention and as leftovers.", returned: recorded, type: list}
files: {description: "The new backup's files (metadata, checksum, dump).", returned: recorded, type: list}
backups: {description: "Each whole backup's metadata, newest first.", returned: listed without name, type: list}
leftovers: {description: "Files of interrupted runs (removed by the next backup once an hour old).", returned: listed without name, type: int}
"""

import hashlib
import os
import time
from pathlib import Path

from ansible_collections.greenlight.deploy.plugins.module_utils.backup_dump import CHUNK, DumpError
from ansible_collections.greenlight.deploy.plugins.module_utils.backups import (BackupError, check_name, compare_counts, count_sql, files, leftovers, listing,
                                          load, mark_verified, past_retention, record, remove)
from ansible.module_utils.basic import AnsibleModule

# Files of no whole backup are left this long: a dump of a big database may still be running.
LEFTOVER_AGE_S = 3600


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        for chunk in iter(lambda: raw.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded(params: dict) -> dict:
    folder = params["folder"]
    if params["keep"] < 1:
        raise BackupError(f"backup_keep must be 1 or more, not {params['keep']}: the newest backup is never removed")
    try:
        backup = record(folder, params["name"], params["env"], params["database"], params["label"],
                        {k: str(v) for k, v in params["release"].items()})
    except (BackupError, DumpError, OSError):
        # Not a whole backup (a full disk, a truncated dump): none of its files stays.
        for path in files(folder, check_name(params["name"])):
            path.unlink(missing_ok=True)
        raise
    removed = []
    for old in past_retention(listing(folder, params["database"]), params["keep"], {backup.file, *params["protect"]}):
        remove(folder, old)
        removed.append(old.file)
    for path in leftovers(folder, params["database"], time.time() - LEFTOVER_AGE_S):
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return {"changed": True, "backup": backup.as_data(), "removed": removed,
            "files": [str(path) for path in files(folder, backup.file)]}


def listed(params: dict) -> dict:
    folder, database = params["folder"], params["database"]
    if params["name"]:
        backup = load(folder, check_name(params["name"]))
        if backup.database != database:
            raise BackupError(f"{backup.file} is a backup of {backup.database!r}, not of {database!r}")
        path = Path(folder) / backup.file
        if not path.is_file():
            raise BackupError(f"{path} is missing")
        sidecar = path.with_name(path.name + ".sha256")
        try:
            listed_sum = sidecar.read_text(encoding="utf-8").split()[0]
        except FileNotFoundError:
            raise BackupError(f"{sidecar} is missing: the backup's checksum file was removed, so the backup is not "
                              f"used (restore its .sha256 file, for example from the restic copy)") from None
        except (OSError, IndexError) as exc:
            raise BackupError(f"cannot read {sidecar}: {exc or 'empty'}") from exc
        if listed_sum != backup.sha256:
            raise BackupError(f"{sidecar} names sha256 {listed_sum[:12]}, the backup's metadata {backup.sha256[:12]}: "
                              f"one of them was changed after the backup")
        actual = sha256(path)
        if actual != backup.sha256:
            raise BackupError(f"{path} does not match its checksum (sha256 {actual[:12]}, recorded {backup.sha256[:12]}): "
                              f"it was changed or damaged after the backup")
        return {"changed": False, "backup": backup.as_data(), "count_sql": count_sql(backup)}
    if not os.path.isdir(folder):
        return {"changed": False, "backups": [], "leftovers": 0}
    return {"changed": False, "backups": [b.as_data() for b in listing(folder, database)],
            "leftovers": len(leftovers(folder, database, time.time()))}


def verified(params: dict, module: AnsibleModule) -> dict:
    backup = load(params["folder"], check_name(params["name"]))
    problems = compare_counts(backup, params["counts"] or "")
    backup = mark_verified(params["folder"], backup.file, problems, params["seconds"])
    if problems:
        module.fail_json(msg=f"{backup.file} did not restore to what it holds: {'; '.join(problems[:5])}",
                         backup=backup.as_data())
    return {"changed": True, "backup": backup.as_data()}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "folder": {"type": "path", "required": True},
            "database": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["recorded", "listed", "verified"], "default": "listed"},
            "name": {"type": "str"},
            "env": {"type": "str"},
            "label": {"type": "str", "default": "manual"},
            "release": {"type": "dict", "default": {}},
            "keep": {"type": "int"},
            "protect": {"type": "list", "elements": "str", "default": []},
            "counts": {"type": "str"},
            "seconds": {"type": "float", "default": 0},
        },
        required_if=[("state", "recorded", ("name", "env", "keep")), ("state", "verified", ("name", "counts"))],
        supports_check_mode=True,
    )
    params = module.params
    if module.check_mode and params["state"] != "listed":
        module.exit_json(changed=True)
    try:
        if params["state"] == "recorded":
            result = recorded(params)
        elif params["state"] == "verified":
            result = verified(params, module)
        else:
            result = listed(params)
    except (BackupError, DumpError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"cannot use the backups in {params['folder']}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
