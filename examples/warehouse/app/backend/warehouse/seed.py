"""Insert sample items into an empty items table: `python3 -m warehouse.seed`.

Meant for staging; re-running it is a no-op once any item exists.
"""

from __future__ import annotations

import sys

from . import db

SAMPLE_ITEMS: list[tuple[str, str, int, str]] = [
    ("BOLT-M6-20", "Hex bolt M6x20", 500, "A-01"),
    ("NUT-M6", "Hex nut M6", 800, "A-02"),
    ("WASH-M6", "Washer M6", 1200, "A-03"),
    ("GLOVE-L", "Work gloves, size L", 40, "B-10"),
    ("TAPE-50", "Packing tape 50 mm", 75, "C-04"),
]


def main() -> int:
    with db.connection(autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM items")
        if cur.fetchone()["n"] > 0:
            print("items table is not empty; nothing to seed")
            return 0
        # INSERT IGNORE keeps two concurrent seed runs from failing on the unique sku.
        cur.executemany(
            "INSERT IGNORE INTO items (sku, name, quantity, location) VALUES (%s, %s, %s, %s)",
            SAMPLE_ITEMS,
        )
        conn.commit()
        print(f"seeded {cur.rowcount} items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
