"""shop's frontend (gunicorn serve:app, port 8080): its page, and /healthz. The page calls
the backend's API under /api/, which the proxy in front routes to the backend."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION = (HERE.parent / "VERSION").read_text().strip()
PAGE = (HERE / "index.html").read_text().replace("{version}", VERSION).encode()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        body, kind = b"ok\n", "text/plain"
    elif path in ("/", "/index.html"):
        body, kind = PAGE, "text/html; charset=utf-8"
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]
    start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]
