#!/usr/bin/python
"""Turn the anonymization rules into pynonymizer's strategy and greenlight's checks, or judge a check's output."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: anonymize
short_description: The anonymization of a production copy, planned from the rules, and its check
description:
  - >-
      O(state=planned) checks O(rules) (table -> column -> fake_name, fake_email, masked_phone,
      hash, null or fixed:TEXT) and returns pynonymizer's strategy (YAML text), and the SQL that
      copies the anonymized columns' original values aside (snapshot_sql), counts the rows still
      holding them afterwards (leaks_sql) and drops the copies (drop_sql). O(keys) are the
      tables' primary keys (from the copy's information_schema). A fresh salt is drawn for the
      hash rule on every run.
  - >-
      O(state=checked) checks O(rules), and reads leaks_sql's output (O(counts)) when given: fails,
      naming the columns, when any row still holds its production value.
  - >-
      plugins/module_utils/anonymize.py; docs/operations.md.
options:
  rules: {description: "backup_anonymize: table -> column -> rule.", type: dict, required: true}
  state: {description: "What to do.", type: str, choices: [planned, checked], default: planned}
  keys: {description: "table -> its one-column primary key (TAB-separated TABLE COLUMN lines from information_schema).", type: str, default: ""}
  counts: {description: "leaks_sql's output (to check).", type: str, default: ""}
author: greenlight
"""

EXAMPLES = r"""
- name: Plan the anonymization
  greenlight.deploy.anonymize:
    rules: {supplier_contacts: {contact_name: fake_name, contact_email: fake_email}}
    keys: "supplier_contacts\tid\n"
"""

RETURN = r"""
strategy: {description: "pynonymizer's strategy file (YAML).", returned: planned, type: str}
snapshot_sql: {description: "Copies the original values aside.", returned: planned, type: str}
leaks_sql: {description: "Counts rows still holding their original value.", returned: planned, type: str}
drop_sql: {description: "Drops the copies.", returned: planned, type: str}
tables: {description: "The tables anonymized.", returned: planned, type: list}
"""

import secrets

import yaml

from ansible_collections.greenlight.deploy.plugins.module_utils.anonymize import (RuleError, check_rules, drop_side_sql, leaks, leaks_sql, snapshot_sql,
                                            strategy)
from ansible.module_utils.basic import AnsibleModule


def parse_keys(text: str) -> dict[str, str]:
    """table -> key column, for tables whose primary key is one column."""
    columns: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip():
            table, column = line.split("\t")
            columns.setdefault(table, []).append(column)
    return {table: found[0] for table, found in columns.items() if len(found) == 1}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "rules": {"type": "dict", "required": True},
            "state": {"type": "str", "choices": ["planned", "checked"], "default": "planned"},
            "keys": {"type": "str", "default": ""},
            "counts": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        rules = check_rules(params["rules"])
        if params["state"] == "checked":
            found = leaks(params["counts"])
            if found:
                module.fail_json(msg=f"the anonymized copy still holds production values: {'; '.join(found)}; "
                                     f"nothing reached staging")
            module.exit_json(changed=False)
        keys = parse_keys(params["keys"])
        missing = sorted(set(rules) - set(keys))
        if missing:
            module.fail_json(msg=f"backup_anonymize names tables the backup does not have, or that have no "
                                 f"one-column primary key: {', '.join(missing)}", greenlight_error="usage")
        module.exit_json(changed=False, strategy=yaml.safe_dump(strategy(rules, secrets.token_hex(16)), sort_keys=True),
                         snapshot_sql=snapshot_sql(rules, keys), leaks_sql=leaks_sql(rules, keys),
                         drop_sql=drop_side_sql(rules), tables=sorted(rules))
    except RuleError as exc:
        module.fail_json(msg=str(exc), greenlight_error="usage")


if __name__ == "__main__":
    main()
