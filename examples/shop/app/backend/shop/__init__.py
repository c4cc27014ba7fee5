"""shop's backend: a JSON API on port 5000 (gunicorn shop.api:app) and its migrations
(python3 -m shop.migrate). It reads its database settings under its own names, as its
docker-compose file gives them: APP_DB_HOST, APP_DB_PORT, APP_DB_NAME, APP_DB_USER and the
password itself in MYSQL_PASSWORD (examples/shop/README.md)."""

from __future__ import annotations

from pathlib import Path

VERSION = (Path(__file__).resolve().parents[1] / "VERSION").read_text().strip()
