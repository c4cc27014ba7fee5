"""An existing database, compared table by table with the copy greenlight imported
(greenlight import ENV --from mysql://...; docs/your-app.md, "Bring the data").

The same query runs on the source server and on the environment's database: for each table,
its row count and two sums of a CRC32 per row (SUM and BIT_XOR, so two equal rows neither
cancel out nor go unseen). `CHECKSUM TABLE` is not used: MySQL and MariaDB compute it
differently, and so do MariaDB versions. A row's CRC32 is over its columns' bytes
(`CAST(... AS BINARY)`, so no collation is mixed), in their order, then one NULL flag per
column (`CONCAT_WS` skips NULLs).

Names come from the source server's information_schema, read in hexadecimal: a table or
column name is data and may hold any character. Each is quoted as an identifier
(backquotes doubled); no name is ever read back from a query's output (a table is its index
in the survey).

What this cannot compare exactly: a MySQL JSON column (MySQL stores it normalized, MariaDB
as the text it was given) and FLOAT/DOUBLE values the two servers print differently.
"""

from __future__ import annotations

import re

SURVEY_KINDS = ("version", "column", "definer")
# MySQL 8's own collations, unknown to MariaDB before 11.4: a table using one cannot be loaded.
MYSQL8_ONLY_COLLATION = re.compile(r"_0900_|_0800_")


class SourceError(ValueError):
    """The source database cannot be imported as it is; the message says why."""


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _hex_literal(text: str) -> str:
    return "CONVERT(0x" + text.encode("utf-8").hex() + " USING utf8mb4)" if text else "''"


def survey_sql(database: str) -> str:
    """The query that reads the source's version, the columns of its base tables, and the
    accounts its triggers, views and routines run as (their DEFINER), as `kind<TAB>hex...`
    lines (survey() reads them)."""
    schema = _hex_literal(database)
    definers = " UNION ".join(
        f"SELECT 'definer', HEX(DEFINER), '', '' FROM information_schema.{table} WHERE {column} = {schema}"
        for table, column in (("TRIGGERS", "TRIGGER_SCHEMA"), ("VIEWS", "TABLE_SCHEMA"),
                              ("ROUTINES", "ROUTINE_SCHEMA")))
    return (
        "SELECT 'version', HEX(VERSION()), '', '';"
        " SELECT 'column', HEX(c.TABLE_NAME), HEX(c.COLUMN_NAME), HEX(COALESCE(c.COLLATION_NAME, ''))"
        " FROM information_schema.COLUMNS c JOIN information_schema.TABLES t"
        " ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME"
        f" WHERE c.TABLE_SCHEMA = {schema} AND t.TABLE_TYPE = 'BASE TABLE'"
        f" ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION; {definers};")


# The accounts of the environment's server, as `hex(user)<TAB>hex(host)` lines.
ACCOUNTS_SQL = "SELECT HEX(User), HEX(Host) FROM mysql.user;"


def accounts(output: str) -> set[str]:
    """ACCOUNTS_SQL's output: {"user@host"}, as information_schema writes a DEFINER."""
    found = set()
    for line in output.splitlines():
        if line.strip():
            user, _, host = line.partition("\t")
            found.add(f"{_unhex(user)}@{_unhex(host)}")
    return found


def _unhex(text: str) -> str:
    try:
        return bytes.fromhex(text).decode("utf-8")
    except ValueError as exc:
        raise SourceError(f"the source server answered a name that is not hexadecimal UTF-8: {text[:40]!r}") from exc


def survey(output: str) -> dict:
    """survey_sql's output: {version, server: mysql|mariadb, major, tables: [[name, [columns]]],
    collations: {table: [collation]}}. Tables are in the server's order (by name)."""
    version, tables, collations, definers = "", {}, {}, set()
    for line in output.splitlines():
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) != 4 or fields[0] not in SURVEY_KINDS:
            raise SourceError(f"the source server's survey has a line this does not read: {line[:80]!r}")
        if fields[0] == "version":
            version = _unhex(fields[1])
            continue
        if fields[0] == "definer":
            definers.add(_unhex(fields[1]))
            continue
        table, column, collation = _unhex(fields[1]), _unhex(fields[2]), _unhex(fields[3])
        tables.setdefault(table, []).append(column)
        if collation:
            collations.setdefault(table, set()).add(collation)
    if not version:
        raise SourceError("the source server did not say its version")
    match = re.match(r"(\d+)\.(\d+)", version)
    major = int(match.group(1)) if match else 0
    server = "mariadb" if "mariadb" in version.lower() else "mysql"
    return {"version": version, "server": server, "major": major,
            "tables": [[name, columns] for name, columns in tables.items()],
            "collations": {table: sorted(names) for table, names in collations.items()},
            "definers": sorted(definers)}


def problems(found: dict, present: set[str] | None = None) -> list[str]:
    """Why the surveyed source cannot be loaded into greenlight's MariaDB (whose accounts are
    `present`, when known); empty when it can."""
    faults = []
    missing = [name for name in found.get("definers", []) if present is not None and name not in present]
    if missing:
        shown_missing = ", ".join(shown(name) for name in missing[:5]) + (", ..." if len(missing) > 5 else "")
        faults.append(
            f"the source's triggers, views or routines run as {len(missing)} account(s) the environment's server "
            f"does not have ({shown_missing}): after the import they would fail (error 1449) when the app uses them, "
            f"and greenlight does not rewrite definers. Drop or recreate those objects on the source, as an account "
            f"the environment has (docs/your-app.md, \"Bring the data\")")
    if not found["tables"]:
        faults.append("the source database has no table (is the database name right?)")
    mysql8 = sorted(shown(table) for table, names in found["collations"].items()
                    if found["server"] == "mysql" and any(MYSQL8_ONLY_COLLATION.search(name) for name in names))
    if mysql8:
        faults.append(
            f"{len(mysql8)} table(s) use a collation only MySQL 8 has ({', '.join(mysql8[:5])}"
            f"{', ...' if len(mysql8) > 5 else ''}; utf8mb4_0900_ai_ci is MySQL 8's default), which greenlight's "
            f"MariaDB cannot load; convert them on the source first, for example ALTER TABLE t CONVERT TO "
            f"CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci (docs/your-app.md, \"Bring the data\")")
    return faults


def checksum_sql(found: dict, database: str) -> str:
    """One query giving `index<TAB>rows<TAB>sum<TAB>xor` for each surveyed table of `database`."""
    parts = []
    for index, (table, columns) in enumerate(found["tables"]):
        values = ", ".join(f"CAST({quoted(column)} AS BINARY)" for column in columns)
        flags = ", ".join(f"ISNULL({quoted(column)})" for column in columns)
        row = f"CRC32(CONCAT_WS(0x1f, {values}, CONCAT({flags})))"
        parts.append(f"SELECT {index}, COUNT(*), COALESCE(SUM(h), 0), COALESCE(BIT_XOR(h), 0)"
                     f" FROM (SELECT {row} AS h FROM {quoted(database)}.{quoted(table)}) AS greenlight_rows")
    # A TIMESTAMP reads in the session's time zone: the same one on both servers.
    return "SET time_zone = '+00:00'; " + (" UNION ALL ".join(parts) + ";" if parts else
                                           "SELECT 0, 0, 0, 0 FROM DUAL WHERE FALSE;")


def checksums(output: str, found: dict) -> dict:
    """checksum_sql's output: {table: {rows, sum, xor}}."""
    names = [table for table, _ in found["tables"]]
    result = {}
    for line in output.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            index, rows, total, xor = (int(field) for field in fields)
            table = names[index]
        except (ValueError, IndexError):
            raise SourceError(f"a checksum line this does not read: {line[:80]!r}") from None
        result[table] = {"rows": rows, "sum": total, "xor": xor}
    return result


def shown(name: str) -> str:
    """A name from the source, for a message: quoted, its control characters escaped."""
    return quoted("".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in name))


def differences(source: dict, copy: dict) -> list[str]:
    """What differs between two checksums() results, table by table; empty when none."""
    found = []
    for name in sorted(set(source) | set(copy)):
        a, b, table = source.get(name), copy.get(name), shown(name)
        if a is None or b is None:
            found.append(f"{table}: {'missing from the copy' if b is None else 'not in the source'}")
        elif a["rows"] != b["rows"]:
            found.append(f"{table}: {a['rows']} rows in the source, {b['rows']} in the copy")
        elif (a["sum"], a["xor"]) != (b["sum"], b["xor"]):
            found.append(f"{table}: the same {a['rows']} rows, different contents")
    return found
