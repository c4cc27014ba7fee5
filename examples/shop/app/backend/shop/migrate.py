"""python3 -m shop.migrate: the schema (shop/schema.py), as the app's migration user."""

from __future__ import annotations

from . import db
from .schema import STATEMENTS


def main() -> None:
    with db.connect() as connection, connection.cursor() as cursor:
        for statement in STATEMENTS:
            cursor.execute(statement)
    print(f"schema current ({len(STATEMENTS)} statements)", flush=True)


if __name__ == "__main__":
    main()
