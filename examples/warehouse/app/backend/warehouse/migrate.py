"""Apply pending SQL migrations: `python3 -m warehouse.migrate`.

Migrations are migrations/NNNN_description.sql, applied in name order and recorded in
schema_migrations. MySQL commits DDL implicitly, so a migration that fails halfway is
not rolled back: keep each migration to one schema change.
"""

from __future__ import annotations

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


def discover(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(p for p in directory.iterdir() if MIGRATION_NAME.match(p.name))


def split_statements(sql: str) -> list[str]:
    """Split on ';' at line ends; enough for the plain DDL/DML these migrations contain."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [s.strip() for s in statements if s.strip()]


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
    for path in pending:
        try:
            with conn.cursor() as cur:
                for statement in split_statements(path.read_text(encoding="utf-8")):
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
