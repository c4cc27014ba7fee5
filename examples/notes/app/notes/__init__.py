"""Notes: a second example app for greenlight, of another shape than the warehouse.

One image runs two parts: `web` (server-rendered pages and a JSON API on port 3000, health
at /up) and `worker` (counts each new note's words from a jobs table). Its schema changes
are `python3 -m notes.schema`. Configuration comes from the environment only: DB_HOST,
DB_PORT, DB_NAME, DB_USER and DB_PASSWORD_FILE (or DB_PASSWORD).
"""

from pathlib import Path

VERSION = (Path(__file__).resolve().parent.parent / "VERSION").read_text().strip()
