"""The API (gunicorn shop.api:app, port 5000).

GET  /health         200 when the database answers, else 503
GET  /api/version    {"version": ...}
GET  /api/items      the newest 50 items
POST /api/items      {"name", "price_cents"} -> 201 and the item
"""

from __future__ import annotations

import json
import os

from . import VERSION, db

CURRENCY = os.environ.get("SHOP_CURRENCY", "EUR")


def reply(start_response, status: str, data) -> list[bytes]:
    body = json.dumps(data, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    try:
        if path == "/health":
            with db.connect() as connection, connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return reply(start_response, "200 OK", {"status": "ok"})
        if path == "/api/version":
            return reply(start_response, "200 OK", {"version": VERSION})
        if path == "/api/items" and method == "GET":
            with db.connect() as connection, connection.cursor() as cursor:
                cursor.execute("SELECT * FROM items ORDER BY id DESC LIMIT 50")
                return reply(start_response, "200 OK", {"currency": CURRENCY, "items": cursor.fetchall()})
        if path == "/api/items" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            item = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with db.connect() as connection, connection.cursor() as cursor:
                cursor.execute("INSERT INTO items (name, price_cents) VALUES (%s, %s)",
                               (str(item.get("name", ""))[:200], int(item.get("price_cents", 0))))
                cursor.execute("SELECT * FROM items WHERE id = %s", (cursor.lastrowid,))
                return reply(start_response, "201 Created", cursor.fetchone())
        return reply(start_response, "404 Not Found", {"error": "not found"})
    except Exception as exc:  # noqa: BLE001 - one line in the log, a 503 to the client
        print(f"error: {method} {path}: {exc!r}", flush=True)
        return reply(start_response, "503 Service Unavailable", {"error": "unavailable"})
