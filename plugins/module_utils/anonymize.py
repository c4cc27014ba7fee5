"""Anonymization rules (production inventory) -> a pynonymizer strategy, and the SQL that
proves the anonymized copy kept no production value of an anonymized column.

The rules, per table and column (docs/operations.md):
  fake_name     a person's name from Faker          (pynonymizer: name)
  fake_email    an e-mail address from Faker, unique (pynonymizer: unique_email)
  masked_phone  every character but the last two replaced by *
  hash          SHA-256 of a salt drawn for this run and the value (joins still match within one copy)
  null          NULL
  fixed:TEXT    the text TEXT

pynonymizer (PyPI) runs the strategy: it seeds Faker's values in a table of the scratch
database and updates the columns with SQL. `snapshot_sql` copies the anonymized columns'
original values (with each row's key) aside first; `leaks_sql` then counts, per column, the
rows whose new value is still the original one. A copy goes to staging only when every
count is 0 and the side tables are dropped.
"""

from __future__ import annotations

import re

KINDS = ("fake_name", "fake_email", "masked_phone", "hash", "null", "fixed")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")
SIDE_PREFIX = "_greenlight_original_"


class RuleError(ValueError):
    """A rule greenlight cannot apply."""


def quoted(name: str) -> str:
    if not IDENTIFIER.match(name):
        raise RuleError(f"{name!r} is not a table or column name greenlight accepts (letters, digits, _ and $)")
    return f"`{name}`"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def check_rules(rules: dict) -> dict[str, dict[str, str]]:
    """The rules as {table: {column: rule}}, or RuleError naming the first bad one."""
    if not isinstance(rules, dict) or not rules:
        raise RuleError("backup_anonymize is empty: name each table's columns to anonymize "
                        "(docs/operations.md); staging never gets production data as it is")
    checked: dict[str, dict[str, str]] = {}
    for table, columns in rules.items():
        quoted(table)
        if not isinstance(columns, dict) or not columns:
            raise RuleError(f"backup_anonymize.{table}: give its columns and a rule for each")
        for column, rule in columns.items():
            quoted(column)
            kind = str(rule).split(":", 1)[0]
            if kind not in KINDS:
                raise RuleError(f"backup_anonymize.{table}.{column}: unknown rule {rule!r}; "
                                f"the rules: {', '.join(KINDS[:-1])}, fixed:TEXT")
            checked.setdefault(table, {})[column] = str(rule)
    return checked


def column_strategy(column: str, rule: str, salt: str) -> object:
    kind, _, text = rule.partition(":")
    col = quoted(column)
    if kind == "fake_name":
        return "name"
    if kind == "fake_email":
        return "unique_email"
    if kind == "masked_phone":
        sql = f"CONCAT(REPEAT('*', GREATEST(CHAR_LENGTH({col}) - 2, 0)), RIGHT({col}, 2))"
    elif kind == "hash":
        sql = f"SHA2(CONCAT({literal(salt)}, {col}), 256)"
    elif kind == "null":
        sql = "NULL"
    else:
        sql = literal(text)
    return {"type": "literal", "value": sql}


def strategy(rules: dict, salt: str) -> dict:
    """pynonymizer's strategy document (YAML once dumped) for the rules."""
    checked = check_rules(rules)
    return {"tables": {table: {"columns": {column: column_strategy(column, rule, salt)
                                           for column, rule in columns.items()}}
                       for table, columns in checked.items()}}


def snapshot_sql(rules: dict, keys: dict[str, str]) -> str:
    """Copy each table's key and anonymized columns aside, before anonymizing.
    `keys`: table -> its primary key column (one column; read from the schema by the caller)."""
    statements = []
    for table, columns in check_rules(rules).items():
        key = keys.get(table)
        if not key:
            raise RuleError(f"table {table} has no one-column primary key: greenlight cannot check its anonymized copy")
        listed = ", ".join(quoted(c) for c in [key, *columns])
        side = quoted(SIDE_PREFIX + table)
        statements.append(f"DROP TABLE IF EXISTS {side}; CREATE TABLE {side} AS SELECT {listed} FROM {quoted(table)};")
    return " ".join(statements)


def leaks_sql(rules: dict, keys: dict[str, str]) -> str:
    """One query: `table<TAB>column<TAB>rows still holding their original value`, one line each."""
    parts = []
    for table, columns in check_rules(rules).items():
        key, side = quoted(keys[table]), quoted(SIDE_PREFIX + table)
        for column, rule in columns.items():
            col = quoted(column)
            kind, _, text = rule.partition(":")
            same = f"t.{col} = o.{col}"
            if kind == "fixed":
                same += f" AND o.{col} <> {literal(text)}"  # it was already that text: nothing to hide
            parts.append(f"SELECT {literal(table)}, {literal(column)}, COUNT(*) FROM {quoted(table)} t "
                         f"JOIN {side} o ON t.{key} = o.{key} WHERE o.{col} IS NOT NULL AND {same}")
    return " UNION ALL ".join(parts) + ";"


def drop_side_sql(rules: dict) -> str:
    return " ".join(f"DROP TABLE IF EXISTS {quoted(SIDE_PREFIX + table)};" for table in check_rules(rules))


def leaks(output: str) -> list[str]:
    """The columns leaks_sql found still holding production values, as sentences."""
    found = []
    for line in output.splitlines():
        table, column, count = line.split("\t")
        if int(count):
            found.append(f"{table}.{column}: {count} rows still hold their production value")
    return found
