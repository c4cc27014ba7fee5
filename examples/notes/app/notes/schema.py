"""Apply the schema changes in schema/NNNN_name.sql that are not applied yet, in name order:
`python3 -m notes.schema`. Each statement must be safe to run twice (IF NOT EXISTS): a run
killed between a change and its record runs it again. Exit 0 when the schema is current."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import db

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


def statements(path: Path) -> list[str]:
    return [part.strip() for part in path.read_text().split(";") if part.strip()]


def main() -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = db.connect()
            break
        except Exception as exc:  # noqa: BLE001 - any failure to connect: wait for the database
            if time.monotonic() > deadline:
                print(f"schema: the database is not reachable: {exc}", file=sys.stderr)
                return 1
            time.sleep(1)
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK('notes.schema', 60) AS got")
        if not cursor.fetchone()["got"]:
            print("schema: another run holds the schema lock", file=sys.stderr)
            return 1
        cursor.execute("CREATE TABLE IF NOT EXISTS schema_changes (name VARCHAR(200) PRIMARY KEY, "
                       "applied TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        cursor.execute("SELECT name FROM schema_changes")
        applied = {row["name"] for row in cursor.fetchall()}
        for path in sorted(SCHEMA_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
            if path.name in applied:
                continue
            for statement in statements(path):
                cursor.execute(statement)
            cursor.execute("INSERT INTO schema_changes (name) VALUES (%s)", (path.name,))
            print(f"schema: applied {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
