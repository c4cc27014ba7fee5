"""Deliberately slow release: v2, but every /api answer takes five times as long.

After each /api request the worker sleeps four times what the request took, so the
answers stay correct and /health stays fast: no error counter sees it, only a judge
comparing latency (per route, against the old release) can catch it.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

SLOWER = 5


def install(app: Flask) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def slow_down(response: Response) -> Response:
        if request.path.startswith("/api/"):
            time.sleep((SLOWER - 1) * (time.perf_counter() - g.started))
        return response
