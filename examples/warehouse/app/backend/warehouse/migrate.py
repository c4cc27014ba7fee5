"""Apply pending SQL migrations: `python3 -m warehouse.migrate`.

Migrations are migrations/NNNN_description.sql, applied in name order and recorded in
schema_migrations. MariaDB commits DDL implicitly, so a schema change and its record can
never be one step: a run killed between them leaves the change applied and unrecorded.
Every migration must therefore be safe to run again, and this runner refuses one that is
not (see RERUNNABLE): `CREATE TABLE IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`,
`CREATE INDEX IF NOT EXISTS`, `DROP ... IF EXISTS`. Data statements (INSERT, UPDATE,
DELETE) run in one transaction with the record, so they are applied once or not at all.

DDL waits at most LOCK_WAIT_SECONDS for a metadata lock: an ALTER queued behind a long
query would otherwise hold up every live query on that table behind it, with no limit.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pymysql
from pymysql.connections import Connection

from . import db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_NAME = re.compile(r"^\d{4}_\w+\.sql$")
WAIT_FOR_DB_SECONDS = 30
# Two deploys racing must not apply the same migration twice.
LOCK_NAME = "warehouse.migrate"
LOCK_TIMEOUT_SECONDS = 60
# Seconds a schema change waits for a table's metadata lock before it fails (MariaDB's
# default is a year). Live queries queue behind a waiting ALTER, so keep it short.
LOCK_WAIT_SECONDS = int(os.environ.get("MIGRATE_LOCK_WAIT_SECONDS", "10"))

# Statements that are safe to run twice; any other DDL is refused before anything runs.
RERUNNABLE = (
    re.compile(r"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\b", re.I),
    re.compile(r"^CREATE\s+(UNIQUE\s+)?INDEX\s+IF\s+NOT\s+EXISTS\b", re.I),
    re.compile(r"^DROP\s+(TABLE|INDEX|VIEW)\s+IF\s+EXISTS\b", re.I),
    re.compile(r"^CREATE\s+OR\s+REPLACE\s+VIEW\b", re.I),
)
# ALTER TABLE is rerunnable when each of its clauses is: ADD/DROP ... IF [NOT] EXISTS, or MODIFY.
ALTER = re.compile(r"^ALTER\s+TABLE\s+`?\w+`?\s+(.*)$", re.I | re.S)
ALTER_CLAUSE = re.compile(
    r"^(ADD\s+(COLUMN\s+)?IF\s+NOT\s+EXISTS|ADD\s+(UNIQUE\s+)?(INDEX|KEY)\s+IF\s+NOT\s+EXISTS"
    r"|DROP\s+(COLUMN\s+|INDEX\s+|KEY\s+)?IF\s+EXISTS|MODIFY\s+(COLUMN\s+)?(IF\s+EXISTS\s+)?)\b", re.I)
DATA = re.compile(r"^(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


def discover(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(p for p in directory.iterdir() if MIGRATION_NAME.match(p.name))


def split_statements(sql: str) -> list[str]:
    """Split on ';' at line ends; enough for the plain DDL/DML these migrations contain."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [s.strip() for s in statements if s.strip()]


def not_rerunnable(statement: str) -> str | None:
    """Why `statement` is not safe to run twice, or None when it is."""
    if DATA.match(statement) or any(pattern.match(statement) for pattern in RERUNNABLE):
        return None
    alter = ALTER.match(statement)
    if alter:
        clauses = [clause.strip() for clause in re.split(r",(?![^(]*\))", alter.group(1))]
        bad = [clause for clause in clauses if not ALTER_CLAUSE.match(clause)]
        return f"ALTER TABLE clause not safe to rerun: {bad[0][:60]!r}" if bad else None
    return f"not safe to rerun (use the IF [NOT] EXISTS form): {statement[:60]!r}"


def check(paths: list[Path]) -> list[str]:
    """Every refusal of the migrations in `paths`, before any of them runs."""
    problems = []
    for path in paths:
        data_seen = False
        for statement in split_statements(path.read_text(encoding="utf-8")):
            reason = not_rerunnable(statement)
            if reason:
                problems.append(f"{path.name}: {reason}")
            elif DATA.match(statement):
                data_seen = True
            elif data_seen:  # DDL commits the data statements before it, apart from the record
                problems.append(f"{path.name}: schema change after a data statement: {statement[:60]!r}")
    return problems


def wait_for_db(timeout: float = WAIT_FOR_DB_SECONDS) -> Connection:
    # The database container may still be starting when the deploy runs this command.
    deadline = time.monotonic() + timeout
    while True:
        try:
            return db.connect(autocommit=True)
        except pymysql.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise SystemExit(f"database not reachable after {timeout:.0f} s: {exc}") from exc
            print(f"waiting for database: {exc}", file=sys.stderr)
            time.sleep(1)


def migrate(conn: Connection) -> int:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version VARCHAR(255) NOT NULL PRIMARY KEY,"
            " applied_at DATETIME NOT NULL"
            ") ENGINE=InnoDB"
        )
        cur.execute("SELECT version FROM schema_migrations")
        applied = {row["version"] for row in cur.fetchall()}

    pending = [p for p in discover() if p.stem not in applied]
    print(f"{len(pending)} migrations to apply")
    problems = check(pending)
    if problems:
        for problem in problems:
            print(f"refusing migration {problem}", file=sys.stderr)
        return 1
    with conn.cursor() as cur:
        cur.execute("SET SESSION lock_wait_timeout = %s", (LOCK_WAIT_SECONDS,))
    for path in pending:
        try:
            statements = split_statements(path.read_text(encoding="utf-8"))
            with conn.cursor() as cur:
                # DDL commits by itself and is rerunnable (check() puts all of it first); the
                # data statements and the record commit together, in one transaction
                # (the connection autocommits otherwise).
                for statement in statements:
                    if DATA.match(statement):
                        break
                    cur.execute(statement)
                conn.begin()
                for statement in statements:
                    if DATA.match(statement):
                        cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, UTC_TIMESTAMP())",
                    (path.stem,),
                )
            conn.commit()
        except pymysql.MySQLError as exc:
            try:
                conn.rollback()
            except pymysql.MySQLError:
                pass  # the connection may be gone; the error below is what matters
            print(f"migration {path.name} failed: {exc}", file=sys.stderr)
            return 1
        print(f"applied {path.name}")
    return 0


def main() -> int:
    try:
        conn = wait_for_db()
    except db.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, %s) AS locked", (LOCK_NAME, LOCK_TIMEOUT_SECONDS))
            if cur.fetchone()["locked"] != 1:
                print("another migration is running; gave up waiting", file=sys.stderr)
                return 1
        conn.autocommit(False)
        return migrate(conn)
    finally:
        conn.close()  # also releases the lock


if __name__ == "__main__":
    sys.exit(main())
