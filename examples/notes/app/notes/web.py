"""The web part: pages and a JSON API in one WSGI app (gunicorn notes.web:app, port 3000).

GET  /up                 200 when the database answers, else 503 (the health check)
GET  /                   the notes as a page, naming the release in <meta name="app-version">
GET  /api/version        {"version": ...}
GET  /api/notes          the newest 50 notes
POST /api/notes          {"title", "body"} -> 201 and the note; its word count is a job for the worker
GET  /api/notes/ID       one note
GET  /api/jobs           how many jobs are pending and done
"""

from __future__ import annotations

import html
import json
import re
import socket

from . import VERSION, db
from .faults import before_request

NOTE_PATH = re.compile(r"^/api/notes/(\d+)$")
HOST = socket.gethostname()


def reply(start_response, status: str, body: bytes, content_type: str = "application/json") -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("X-Served-By", HOST)])
    return [body]


def as_json(start_response, status: str, data) -> list[bytes]:
    return reply(start_response, status, json.dumps(data, default=str).encode())


def read_json(environ) -> dict:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        data = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def note_row(row: dict) -> dict:
    """A note as the API shows it: every column (a release's schema may add some)."""
    return dict(row)


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    fault = before_request(method, path)
    if fault:
        return as_json(start_response, "500 Internal Server Error", {"error": fault})
    try:
        return route(environ, start_response, method, path)
    except Exception as exc:  # noqa: BLE001 - one line in the log, a 500 to the client
        print(f"error: {method} {path}: {exc!r}", flush=True)
        return as_json(start_response, "500 Internal Server Error", {"error": "internal error"})


def route(environ, start_response, method: str, path: str) -> list[bytes]:
    if path == "/up":
        try:
            with db.connect() as conn, conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            return reply(start_response, "200 OK", b"up\n", "text/plain")
        except Exception as exc:  # noqa: BLE001 - any database failure is "not up"
            return reply(start_response, "503 Service Unavailable", f"database: {exc}\n".encode(), "text/plain")
    if path == "/api/version" and method == "GET":
        return as_json(start_response, "200 OK", {"version": VERSION})
    if path == "/api/notes" and method == "GET":
        with db.connect() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT * FROM notes ORDER BY id DESC LIMIT 50")
            return as_json(start_response, "200 OK", [note_row(row) for row in cursor.fetchall()])
    if path == "/api/notes" and method == "POST":
        data = read_json(environ)
        title, body = str(data.get("title", "")).strip(), str(data.get("body", ""))
        if not title or len(title) > 200:
            return as_json(start_response, "400 Bad Request", {"error": "title: 1 to 200 characters"})
        with db.connect(autocommit=False) as conn, conn.cursor() as cursor:
            cursor.execute("INSERT INTO notes (title, body) VALUES (%s, %s)", (title, body))
            note_id = cursor.lastrowid
            cursor.execute("INSERT INTO jobs (note_id) VALUES (%s)", (note_id,))
            conn.commit()
            cursor.execute("SELECT * FROM notes WHERE id = %s", (note_id,))
            return as_json(start_response, "201 Created", note_row(cursor.fetchone()))
    match = NOTE_PATH.match(path)
    if match and method == "GET":
        with db.connect() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT * FROM notes WHERE id = %s", (int(match.group(1)),))
            row = cursor.fetchone()
        if row is None:
            return as_json(start_response, "404 Not Found", {"error": "no such note"})
        return as_json(start_response, "200 OK", note_row(row))
    if path == "/api/jobs" and method == "GET":
        with db.connect() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            counts = {row["state"]: row["n"] for row in cursor.fetchall()}
        return as_json(start_response, "200 OK", {"pending": counts.get("pending", 0), "done": counts.get("done", 0)})
    if path == "/" and method == "GET":
        return page(start_response)
    return as_json(start_response, "404 Not Found", {"error": f"no route {method} {path}"})


def page(start_response) -> list[bytes]:
    with db.connect() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT * FROM notes ORDER BY id DESC LIMIT 50")
        rows = cursor.fetchall()
    items = "\n".join(
        f"<li><b>{html.escape(row['title'])}</b> {html.escape(row['body'])} "
        f"<small>{'…' if row['words'] is None else str(row['words']) + ' words'}</small></li>" for row in rows)
    body = (f'<!doctype html>\n<html><head><meta charset="utf-8"><meta name="app-version" content="{html.escape(VERSION)}">'
            f"<title>Notes</title></head>\n<body><h1>Notes</h1><ul>\n{items}\n</ul>"
            f"<footer>release {html.escape(VERSION)}</footer></body></html>\n")
    return reply(start_response, "200 OK", body.encode(), "text/html; charset=utf-8")
