#!/usr/bin/python
"""Write files that hold secrets on the host without them passing through a temporary file anywhere else."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secret
short_description: Write files that hold a secret, atomically, only when their content changes
description:
  - >-
      The content travels in the module's arguments (piped to the host, never written to a
      temporary file as M(ansible.builtin.copy) and M(ansible.builtin.template) do on both ends),
      and is written next to its destination, synced, then renamed over it
      (plugins/module_utils/files.py).
  - >-
      One file (O(path), O(content)) or several in one call (O(files)); a missing folder is
      made 0700. Nothing is printed of the content, changed or not.
options:
  path: {description: "The file.", type: path}
  content: {description: "What it holds.", type: str}
  mode: {description: "Its mode, as an octal string.", type: str, default: "0600"}
  owner: {description: "Its owner's uid (a container's user); the writer's when not given.", type: int}
  files:
    description: "Several files at once: each {path, content, mode, owner}."
    type: list
    elements: dict
    default: []
author: greenlight
"""

EXAMPLES = r"""
- name: Write the restic password
  greenlight.deploy.secret:
    path: /var/lib/greenlight/shop-production/secrets/restic-password
    content: "{{ backup_restic_password }}"
"""

RETURN = r"""
changed_files: {description: "The files written (the others already held their content).", returned: always, type: list}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically


def differs(path: str, content: bytes, mode: int, owner: int) -> bool:
    try:
        with open(path, "rb") as file:
            same = file.read() == content
        status = os.stat(path)
    except FileNotFoundError:
        return True
    return not (same and (status.st_mode & 0o7777) == mode and status.st_uid == owner)


def write(path: str, content: bytes, mode: int, owner: int) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_atomically(path, content, mode)
    os.chown(path, owner, -1)


def main() -> None:
    module = AnsibleModule(
        argument_spec={"path": {"type": "path"},
                       "content": {"type": "str", "no_log": True},
                       "mode": {"type": "str", "default": "0600"},
                       "owner": {"type": "int"},
                       "files": {"type": "list", "elements": "dict", "default": [], "no_log": True}},
        required_together=[("path", "content")],
        required_one_of=[("path", "files")],
        supports_check_mode=True,
    )
    p = module.params
    wanted = list(p["files"]) + ([{"path": p["path"], "content": p["content"], "mode": p["mode"], "owner": p["owner"]}]
                                 if p["path"] else [])
    written = []
    for entry in wanted:
        path, content = str(entry["path"]), str(entry["content"]).encode()
        mode = int(str(entry.get("mode") or "0600"), 8)
        owner = os.geteuid() if entry.get("owner") is None else int(entry["owner"])
        if not differs(path, content, mode, owner):
            continue
        written.append(path)
        if module.check_mode:
            continue
        try:
            write(path, content, mode, owner)
        except OSError as exc:
            module.fail_json(msg=f"cannot write {path}: {exc.strerror}", changed_files=written)
    module.exit_json(changed=bool(written), changed_files=written)


if __name__ == "__main__":
    main()
