"""Anonymization rules into a pynonymizer strategy, and the check that nothing was left as it was."""

from __future__ import annotations

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.anonymize import RuleError, leaks, leaks_sql, snapshot_sql, strategy

RULES = {"supplier_contacts": {"contact_name": "fake_name", "contact_email": "fake_email",
                               "contact_phone": "masked_phone", "notes": "null", "tax_id": "hash",
                               "company": "fixed:ACME"}}


def test_each_rule_becomes_pynonymizers_column_strategy() -> None:
    columns = strategy(RULES, "s4lt")["tables"]["supplier_contacts"]["columns"]
    assert columns["contact_name"] == "name" and columns["contact_email"] == "unique_email"
    assert columns["contact_phone"]["value"] == \
        "CONCAT(REPEAT('*', GREATEST(CHAR_LENGTH(`contact_phone`) - 2, 0)), RIGHT(`contact_phone`, 2))"
    assert columns["notes"] == {"type": "literal", "value": "NULL"}
    assert columns["tax_id"]["value"] == "SHA2(CONCAT('s4lt', `tax_id`), 256)"
    assert columns["company"]["value"] == "'ACME'"


@pytest.mark.parametrize(("rules", "message"), [
    ({}, "is empty"),
    ({"t": {"c": "scramble"}}, "unknown rule 'scramble'"),
    ({"t`; DROP DATABASE x; --": {"c": "null"}}, "is not a table or column name"),
    ({"t": {}}, "give its columns"),
])
def test_a_rule_greenlight_cannot_apply_is_refused_with_its_name(rules: dict, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        strategy(rules, "s")


def test_a_fixed_text_is_quoted_for_sql() -> None:
    value = strategy({"t": {"c": "fixed:O'Brien \\ co"}}, "s")["tables"]["t"]["columns"]["c"]["value"]
    assert value == "'O\\'Brien \\\\ co'"


def test_the_check_compares_each_row_with_its_original_by_key() -> None:
    keys = {"supplier_contacts": "id"}
    assert "CREATE TABLE `_greenlight_original_supplier_contacts` AS SELECT `id`, `contact_name`" in snapshot_sql(RULES, keys)
    sql = leaks_sql(RULES, keys)
    assert "t.`contact_name` = o.`contact_name`" in sql and "o.`company` <> 'ACME'" in sql
    assert leaks("supplier_contacts\tcontact_name\t0\nsupplier_contacts\tcontact_email\t3\n") == [
        "supplier_contacts.contact_email: 3 rows still hold their production value"]


def test_a_table_without_a_one_column_key_cannot_be_checked() -> None:
    with pytest.raises(RuleError, match="no one-column primary key"):
        snapshot_sql(RULES, {})
