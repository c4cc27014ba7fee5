"""greenlight import: its source read from --from, its password kept out of argv, extra
variables and the environment, and the table-by-table comparison of the copy with the source
(plugins/module_utils/table_checks.py). The whole road, on a real MariaDB source under load, is
tests/e2e/test_compose_app.py."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from greenlight.commands import import_data
from greenlight.pipeline import ExitCode, UsageError
from greenlight.runner import SecretPipes
from plugins.module_utils import table_checks
from plugins.module_utils.table_checks import SourceError

from .test_pipeline import FakeRunner, ok, pipeline


def test_a_mysql_address_names_host_port_user_and_database() -> None:
    assert import_data.parse_source("mysql://root@127.0.0.1:3307/warehouse_wms") == {
        "kind": "server", "host": "127.0.0.1", "port": 3307, "user": "root", "database": "warehouse_wms"}
    assert import_data.parse_source("mariadb://app%40x@db.example.com/shop")["port"] == 3306
    assert import_data.parse_source("mysql://app%40x@db.example.com/shop")["user"] == "app@x"
    assert import_data.parse_source("mysql://u@[::1]:3307/d")["host"] == "::1"


@pytest.mark.parametrize(("text", "said"), [
    ("mysql://root:hunter2@127.0.0.1:3307/shop", "leave the password out"),
    ("postgres://u@h/d", "is not a database address"),
    ("mysql://127.0.0.1:3307/shop", "name the source's user"),
    ("mysql://root@127.0.0.1:3307/", "name one database"),
    ("mysql://root@127.0.0.1:3307/a/b", "name one database"),
    ("mysql://root@127.0.0.1:3307/shop?ssl=0", r"no \?options"),
    ("mysql://root@127.0.0.1:99999/shop", "not a mysql:// address"),
    ("mysql://root@h;rm -rf /:3307/shop", "not a mysql:// address|not a host name"),
    ("mysql://ro%0Aot@h/shop", "name the source's user"),
    ("/nonexistent/dump.sql", "no such file"),
    ("mysql://root@127.0.0.1:0/shop", "not a TCP port"),
    ("mysql://ro%ffot@h/shop", "not UTF-8"),
    ("mysql://root@h/sh\top", "control or invisible"),
    ("mysql://root@h/sh\u202eop", "control or invisible"),
    ("mysql://ro%E2%80%AEot@h/shop", "name the source's user"),
])
def test_a_bad_source_is_refused_before_anything_runs(text: str, said: str) -> None:
    with pytest.raises(UsageError, match=said):
        import_data.parse_source(text)


def test_a_dump_file_is_named_by_its_full_path(tmp_path) -> None:
    dump = tmp_path / "shop.sql"
    dump.write_text("-- Dump completed\n")
    assert import_data.parse_source(str(dump)) == {"kind": "file", "path": str(dump.resolve())}
    (tmp_path / "empty.sql").touch()
    with pytest.raises(UsageError, match="empty"):
        import_data.parse_source(str(tmp_path / "empty.sql"))


def test_the_password_leaves_the_environment_once_read(monkeypatch) -> None:
    # ansible-runner copies this process's environment into its run's files: the variable
    # must be gone before any playbook runs.
    monkeypatch.setenv(import_data.PASSWORD_VARIABLE, "s3cret 'x\"")
    assert import_data.source_password(ask=lambda prompt: pytest.fail("asked")) == "s3cret 'x\""
    assert import_data.PASSWORD_VARIABLE not in os.environ
    monkeypatch.setenv(import_data.PASSWORD_VARIABLE, "two\nlines")
    with pytest.raises(UsageError, match="control character"):
        import_data.source_password()


def test_a_password_longer_than_an_option_file_line_is_refused(monkeypatch) -> None:
    monkeypatch.setenv(import_data.PASSWORD_VARIABLE, "x" * 1001)
    with pytest.raises(UsageError, match="longer than 1000 bytes"):
        import_data.source_password()


def test_the_password_goes_as_a_secret_never_an_extra_variable() -> None:
    runner = FakeRunner({("restore.yml", "production"): ok("restore.yml", "production", {"greenlight_restore": {
        "restored": {"file": "shop-x-imported.sql.gz", "rows": 5, "tables": {"shop.items": 5},
                     "verified": {"seconds": 2.0}},
        "safety": {"file": "shop-y-before-restore.sql.gz"},
        "source": {"server": "mariadb", "version": "10.11.6-MariaDB", "tables": 1, "rows": 5}}})})
    source = import_data.parse_source("mysql://root@127.0.0.1:3307/shop")
    outcome = import_data.import_data(pipeline(runner), "production", source, "pw-xyz", confirm=lambda: True)
    assert outcome.code == ExitCode.OK, outcome.message
    assert "each table's rows and checksums equal to the source's" in outcome.message
    assert "shop-y-before-restore.sql.gz" in outcome.message
    (playbook, env, extravars), = runner.calls
    assert (playbook, env) == ("restore.yml", "production")
    assert extravars["restore_source"] == {"host": "127.0.0.1", "port": 3307, "user": "root", "database": "shop"}
    assert "pw-xyz" not in repr(extravars) and runner.secrets == [{"restore_source_password": "pw-xyz"}]


def test_an_import_not_confirmed_runs_nothing() -> None:
    runner = FakeRunner()
    source = import_data.parse_source("mysql://root@127.0.0.1:3307/shop")
    outcome = import_data.import_data(pipeline(runner), "production", source, "pw", confirm=lambda: False)
    assert outcome.code == ExitCode.FAILED and "nothing was changed" in outcome.message and runner.calls == []


def test_a_dump_file_is_imported_and_kept(tmp_path) -> None:
    dump = tmp_path / "shop.sql.gz"
    dump.write_bytes(b"x")
    runner = FakeRunner()
    import_data.import_data(pipeline(runner), "staging", import_data.parse_source(str(dump)), confirm=lambda: True)
    assert runner.calls[0][2]["restore_import"] == str(dump.resolve())
    assert runner.calls[0][2]["restore_import_kind"] == "imported" and runner.secrets == [{}]


def test_a_secret_pipe_gives_its_value_once_and_holds_it_only_in_memory(tmp_path) -> None:
    pipes = SecretPipes(str(tmp_path), {"restore_source_password": "pässword {{ x }}"})
    path = pipes.extravars["greenlight_secret_pipes"]["restore_source_password"]
    mode = os.stat(path).st_mode
    assert stat.S_ISFIFO(mode) and stat.S_IMODE(mode) == 0o600
    with open(path, encoding="utf-8") as stream:
        assert stream.read() == "pässword {{ x }}"
    pipes.close()
    assert not any(thread.is_alive() for thread in pipes.threads)


def test_a_secret_pipe_nobody_reads_does_not_keep_its_writer(tmp_path) -> None:
    before = threading.active_count()
    pipes = SecretPipes(str(tmp_path), {"unread": "x"})
    pipes.close()
    assert threading.active_count() == before
    with pytest.raises(ValueError, match="at most"):
        SecretPipes(str(tmp_path), {"big": "x" * 5000})


def hexed(*fields: str) -> str:
    return "\t".join(field.encode().hex().upper() for field in fields)


HOSTILE = "it`s\t`; DROP TABLE x; --\n"
SURVEY = "\n".join([
    "version\t" + hexed("8.0.36") + "\t\t",
    "column\t" + hexed("items", "id", ""),
    "column\t" + hexed("items", "name", "utf8mb4_unicode_ci"),
    "column\t" + hexed(HOSTILE, "col`umn", "latin1_swedish_ci"),
])


def test_the_survey_reads_names_as_data_and_quotes_them_as_identifiers() -> None:
    found = table_checks.survey(SURVEY)
    assert found["server"] == "mysql" and found["major"] == 8
    assert found["tables"] == [["items", ["id", "name"]], [HOSTILE, ["col`umn"]]]
    sql = table_checks.checksum_sql(found, "shop")
    assert "FROM `shop`.`it``s\t``; DROP TABLE x; --\n`" in sql and "CAST(`col``umn` AS BINARY)" in sql
    # Each table is its index in the output, never its name read back.
    assert sql.count("UNION ALL") == 1 and "SELECT 0, COUNT(*)" in sql and "SELECT 1, COUNT(*)" in sql
    assert table_checks.problems(found) == []
    with pytest.raises(SourceError, match="not hexadecimal"):
        table_checks.survey("column\tZZ\t41\t")


def test_a_mysql8_collation_is_refused_with_its_tables() -> None:
    found = table_checks.survey(SURVEY + "\ncolumn\t" + hexed("orders", "ref", "utf8mb4_0900_ai_ci"))
    assert "1 table(s) use a collation only MySQL 8 has (`orders`" in table_checks.problems(found)[0]
    mariadb = table_checks.survey(SURVEY.replace(hexed("8.0.36"), hexed("10.11.6-MariaDB")))
    assert mariadb["server"] == "mariadb" and table_checks.problems(mariadb) == []
    assert table_checks.problems(table_checks.survey("version\t" + hexed("8.0.1") + "\t\t")) == [
        "the source database has no table (is the database name right?)"]


def test_the_comparison_names_each_table_that_differs() -> None:
    found = table_checks.survey(SURVEY)
    source = table_checks.checksums("0\t5\t100\t7\n1\t2\t30\t9\n", found)
    assert source == {"items": {"rows": 5, "sum": 100, "xor": 7}, HOSTILE: {"rows": 2, "sum": 30, "xor": 9}}
    assert table_checks.differences(source, dict(source)) == []
    changed = table_checks.checksums("0\t5\t101\t7\n", found)
    assert table_checks.differences(source, changed) == [
        "`it``s\\x09``; DROP TABLE x; --\\x0a`: missing from the copy", "`items`: the same 5 rows, different contents"]
    assert table_checks.differences(source, table_checks.checksums("0\t4\t100\t7\n1\t2\t30\t9\n", found)) == [
        "`items`: 5 rows in the source, 4 in the copy"]
    with pytest.raises(SourceError):
        table_checks.checksums("7\t1\t1\t1\n", found)


def test_the_command_reads_source_and_password_before_anything_runs(monkeypatch, capsys) -> None:
    import argparse
    args = argparse.Namespace(source="mysql://root@127.0.0.1:3307/shop")
    monkeypatch.setenv(import_data.PASSWORD_VARIABLE, "pw")
    assert import_data.direct(args) is None
    assert (args.parsed_source["database"], args.password) == ("shop", "pw")
    assert import_data.PASSWORD_VARIABLE not in os.environ
    args = argparse.Namespace(source="mysql://root:pw@127.0.0.1:3307/shop")
    assert import_data.direct(args) == ExitCode.USAGE
    assert "leave the password out" in capsys.readouterr().err


def test_a_definer_the_environment_lacks_is_refused_before_anything_is_touched() -> None:
    with_definers = SURVEY + "\ndefiner\t" + hexed("root@localhost") + "\t\t\ndefiner\t" + hexed("report`er@%") + "\t\t"
    found = table_checks.survey(with_definers)
    assert found["definers"] == ["report`er@%", "root@localhost"]
    present = table_checks.accounts(hexed("root", "localhost") + "\n" + hexed("shop", "172.18.0.0/255.255.0.0") + "\n")
    assert present == {"root@localhost", "shop@172.18.0.0/255.255.0.0"}
    (fault,) = table_checks.problems(found, present)
    assert "run as 1 account(s) the environment's server does not have (`report``er@%`)" in fault
    assert table_checks.problems(found, present | {"report`er@%"}) == []
    assert table_checks.problems(found) == []  # accounts not read: not checked
    sql = table_checks.survey_sql("it's")
    assert "CONVERT(0x69742773 USING utf8mb4)" in sql and "information_schema.TRIGGERS" in sql and "'it's'" not in sql
