#!/usr/bin/python
"""The queries that survey an existing database and checksum its tables, and their answers read and compared."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: source_tables
short_description: Survey an existing MySQL or MariaDB database and compare its tables with greenlight's copy
description:
  - >-
      Used by C(greenlight import ENV --from mysql://...) (playbooks/import.yml). Runs nothing
      itself: it writes the queries the tasks run (in the dumper container against the source,
      in the environment's database against the copy) and reads their answers
      (plugins/module_utils/table_checks.py).
  - >-
      Always returns O(database)'s survey query. With O(survey) (that query's output), returns
      what it found (server, version, tables and their columns) and the checksum queries for the
      source and for O(target); fails when the source cannot be loaded (no table, a collation only
      MySQL 8 has) or, with O(accounts), when its triggers, views or routines run as an account
      the environment's server does not have.
  - >-
      With O(source) and O(source_again) (the source's checksums before and after the dump),
      fails when they differ: the source was written to during the dump, so no copy can be
      verified against it. With O(source) and O(copy), fails naming each table whose row count or
      contents differ.
options:
  database: {description: "The source database's name.", type: str, required: true}
  target: {description: "The environment's database, which receives the copy.", type: str, required: true}
  survey: {description: "The survey query's output.", type: str, default: ""}
  accounts: {description: "The accounts query's output on the environment's server (accounts_sql); empty: not checked.", type: str, default: ""}
  source: {description: "The source's checksum query output, after the dump.", type: str, default: ""}
  source_again: {description: "The source's checksum query output, before the dump.", type: str, default: ""}
  copy: {description: "The copy's checksum query output.", type: str, default: ""}
author: greenlight
"""

EXAMPLES = r"""
- name: Compare the copy with the source, table by table
  greenlight.deploy.source_tables:
    database: shop
    target: shop
    survey: "{{ survey.stdout }}"
    source: "{{ source_sums.stdout }}"
    copy: "{{ copy_sums.stdout }}"
"""

RETURN = r"""
survey_sql: {description: "The query reading the source's version, its tables' columns and its definers.", returned: always, type: str}
accounts_sql: {description: "The query reading the accounts of the environment's server.", returned: always, type: str}
found: {description: "server (mysql or mariadb), version, major, tables ([name, [columns]]), collations.", returned: with survey, type: dict}
source_sql: {description: "The checksum query for the source database.", returned: with survey, type: str}
target_sql: {description: "The same query for the environment's database.", returned: with survey, type: str}
tables: {description: "Each table's rows, sum and xor in the source.", returned: with source, type: dict}
rows: {description: "Rows in the source, all tables.", returned: with source, type: int}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.table_checks import (ACCOUNTS_SQL, SourceError, accounts,
                                                                                    checksum_sql, checksums, differences,
                                                                                    problems, survey, survey_sql)


def compare(params: dict) -> dict:
    result: dict = {"changed": False, "survey_sql": survey_sql(params["database"]), "accounts_sql": ACCOUNTS_SQL}
    if not params["survey"]:
        return result
    found = survey(params["survey"])
    faults = problems(found, accounts(params["accounts"]) if params["accounts"] else None)
    if faults:
        raise SourceError("; ".join(faults))
    result.update(found=found, source_sql=checksum_sql(found, params["database"]),
                  target_sql=checksum_sql(found, params["target"]))
    if not params["source"]:
        return result
    source = checksums(params["source"], found)
    result.update(tables=source, rows=sum(table["rows"] for table in source.values()))
    if params["source_again"]:
        moved = differences(checksums(params["source_again"], found), source)
        if moved:
            raise SourceError(f"the source was written to during the dump ({'; '.join(moved[:5])}): no copy can be "
                              f"checked against it. Stop what writes to it (the app, its workers), or put greenlight's "
                              f"proxy in front of it, and import again")
    if params["copy"]:
        differ = differences(source, checksums(params["copy"], found))
        if differ:
            raise SourceError(f"the copy differs from the source in {len(differ)} table(s): {'; '.join(differ[:5])}")
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "database": {"type": "str", "required": True},
            "target": {"type": "str", "required": True},
            "survey": {"type": "str", "default": ""},
            "accounts": {"type": "str", "default": ""},
            "source": {"type": "str", "default": ""},
            "source_again": {"type": "str", "default": ""},
            "copy": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    try:
        module.exit_json(**compare(module.params))
    except SourceError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
