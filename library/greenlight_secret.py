#!/usr/bin/python
"""Write a secret file on the host without it passing through a temporary file anywhere else."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: greenlight_secret
short_description: Write a file that holds a secret, atomically, only when its content changes
description:
  - The content travels in the module's arguments (piped to the host, never written to a
    temporary file as M(ansible.builtin.copy) and M(ansible.builtin.template) do on both ends),
    and is written next to its destination, synced, then renamed over it.
  - The folder must exist. Nothing is printed of the content, changed or not.
options:
  path: {description: The file., type: path, required: true}
  content: {description: What it holds., type: str, required: true, no_log: true}
  mode: {description: "Its mode, as an octal string.", type: str, default: "0600"}
  owner: {description: "Its owner's uid (a container's user); the writer's when not given.", type: int}
author: greenlight
"""

EXAMPLES = r"""
- name: Write the restic password
  greenlight_secret:
    path: /var/lib/greenlight/warehouse-production/secrets/restic-password
    content: "{{ backup_restic_password }}"
"""

RETURN = r"""
path: {description: The file., returned: always, type: str}
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(
        argument_spec={"path": {"type": "path", "required": True},
                       "content": {"type": "str", "required": True, "no_log": True},
                       "mode": {"type": "str", "default": "0600"},
                       "owner": {"type": "int"}},
        supports_check_mode=True,
    )
    path, content, mode = module.params["path"], module.params["content"].encode(), int(module.params["mode"], 8)
    owner = os.geteuid() if module.params["owner"] is None else module.params["owner"]
    try:
        with open(path, "rb") as file:
            same = file.read() == content
        status = os.stat(path)
        same = same and (status.st_mode & 0o7777) == mode and status.st_uid == owner
    except FileNotFoundError:
        same = False
    if same or module.check_mode:
        module.exit_json(changed=not same, path=path)
    folder = os.path.dirname(path)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".greenlight-secret-")
    try:
        os.fchmod(descriptor, mode)
        os.fchown(descriptor, owner, -1)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        module.fail_json(msg=f"cannot write {path}: {exc.strerror}")
    module.exit_json(changed=True, path=path)


if __name__ == "__main__":
    main()
