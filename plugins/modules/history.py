#!/usr/bin/python
"""Read the environment's history, or add a record to it (plugins/module_utils/history.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: history
short_description: Read an environment's history of deploys, rollbacks and promotions, or add a record
description:
  - >-
      Without O(record), reads the newest O(limit) records from the end of the file (safe in
      check mode); a line that is not a record is skipped and counted, never fatal.
  - >-
      With O(record), appends it as one line; the fields are checked and completed
      (plugins/module_utils/history.py, documented in docs/commands.md).
options:
  path: {description: "The history file (JSON lines).", type: path, required: true}
  record: {description: "The record to add.", type: dict}
  limit: {description: "Newest records returned (0: all that the reader keeps).", type: int, default: 20}
  colors: {description: "The color slots (for what the history says serves).", type: list, elements: str, default: []}
author: greenlight
"""

EXAMPLES = r"""
- name: Read the newest 20 records
  greenlight.deploy.history:
    path: /var/lib/greenlight/shop-production/history.jsonl
"""

RETURN = r"""
records: {description: "The newest records, oldest first.", returned: when reading, type: list}
skipped: {description: "Lines that are not a record.", returned: when reading, type: int}
live: {description: "What the history says serves: version, commit, color, serving, warm ({} when nothing).", returned: when reading, type: dict}
record: {description: "The record as added.", returned: when adding, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.history import append, read, recorded_live


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "record": {"type": "dict"},
            "limit": {"type": "int", "default": 20},
            "colors": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params["record"] is not None:
            if module.check_mode:
                module.exit_json(changed=True, record=params["record"])
            module.exit_json(changed=True, record=append(params["path"], params["record"]))
        reading = read(params["path"])
        live = recorded_live(reading.records, params["colors"]) if params["colors"] else None
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot use the history {params['path']}: {exc}")
    records = reading.records[-params["limit"]:] if params["limit"] else reading.records
    module.exit_json(changed=False, records=records, skipped=reading.skipped, live=live.as_dict() if live else {})


if __name__ == "__main__":
    main()
