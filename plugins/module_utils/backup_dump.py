"""What a backup holds, read from the dump itself: its database and each table's row count.

A backup is `mariadb-dump --single-transaction --databases DB | gzip`. Its row counts are
counted here, in the dump, rather than with `SELECT COUNT(*)` beside it: a count taken in
another transaction is another moment, while the dump is exactly what a restore brings
back. Verification restores the dump into a throwaway database and compares its counts
with these.

mariadb-dump escapes newlines inside strings as `\\n`, so a line never ends inside a
string. An extended INSERT is `INSERT INTO `t` VALUES (..),(..);` on one line, or (MariaDB
10.11's mariadb-dump) `INSERT INTO `t` VALUES` followed by one row per line, the last
ending with `;`. Strings are single-quoted with backslash escapes; outside them a value is
a number, NULL, a hex or bit literal, so each row is one `(` outside quotes.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass, field

CHUNK = 1 << 20
# An identifier in backquotes, `` doubling a backquote inside it.
_NAME = rb"`((?:[^`]|``)+)`"
_USE = re.compile(rb"^USE " + _NAME + rb";")
_CREATE_TABLE = re.compile(rb"^CREATE TABLE (?:IF NOT EXISTS )?" + _NAME + rb" \(")
_INSERT = re.compile(rb"^INSERT INTO " + _NAME + rb" (?:\([^)]*\) )?VALUES\b")
# A single-quoted string with backslash escapes ('' inside one reads as two strings: same count).
_STRING = re.compile(rb"'(?:[^'\\]|\\.)*'", re.DOTALL)


class DumpError(ValueError):
    """The file is not a complete dump this module can read."""


@dataclass
class DumpContents:
    databases: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)  # "db.table" -> rows
    complete: bool = False  # mariadb-dump's last line ("-- Dump completed") was there

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _name(raw: bytes) -> str:
    return raw.replace(b"``", b"`").decode("utf-8", "replace")


def rows_in(values: bytes) -> int:
    """Rows of one INSERT's VALUES part: each `(` outside a string opens one."""
    return _STRING.sub(b"''", values).count(b"(")


def _rows_and_end(part: bytes) -> tuple[int, bool]:
    """Rows opened in this part of an INSERT, and whether the statement ends in it."""
    bare = _STRING.sub(b"''", part).rstrip()
    return bare.count(b"("), bare.endswith(b";")


def read_dump(lines) -> DumpContents:
    """The contents of a dump given as an iterable of its lines (bytes)."""
    contents = DumpContents()
    database = ""
    routine = False  # inside DELIMITER ;; ... DELIMITER ; (a trigger's or routine's body: not rows)
    inserting = ""  # the table of an INSERT whose rows go on over the next lines
    for line in lines:
        if inserting:
            rows, ended = _rows_and_end(line)
            contents.tables[inserting] += rows
            if ended:
                inserting = ""
            continue
        if line.startswith(b"DELIMITER "):
            routine = line.strip() != b"DELIMITER ;"
        elif routine:
            continue
        elif line.startswith(b"INSERT INTO "):
            match = _INSERT.match(line)
            if not match:
                raise DumpError(f"an INSERT this reader does not know: {line[:80]!r}")
            table = f"{database}.{_name(match.group(1))}"
            rows, ended = _rows_and_end(line[match.end():])
            contents.tables[table] = contents.tables.get(table, 0) + rows
            if not ended:
                inserting = table
        elif line.startswith(b"CREATE TABLE "):
            match = _CREATE_TABLE.match(line)
            if match:
                contents.tables.setdefault(f"{database}.{_name(match.group(1))}", 0)
        elif line.startswith(b"USE "):
            match = _USE.match(line)
            if match:
                database = _name(match.group(1))
                if database not in contents.databases:
                    contents.databases.append(database)
        elif line.startswith(b"-- Dump completed"):
            contents.complete = True
    return contents


def inspect(path: str) -> tuple[DumpContents, str]:
    """A gzipped dump's contents and the sha256 of the file as stored (one read of it each)."""
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        for chunk in iter(lambda: raw.read(CHUNK), b""):
            digest.update(chunk)
    try:
        with gzip.open(path, "rb") as dump:
            contents = read_dump(dump)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError; a truncated file an EOFError
        raise DumpError(f"{path} is not a whole gzip file: {exc}") from exc
    if not contents.complete:
        raise DumpError(f"{path} ends before mariadb-dump's last line: the dump is truncated")
    return contents, digest.hexdigest()
