"""Deliberately broken release: one /api request in five fails.

Every fifth /api request of each worker process answers 500, so the first requests (the
smoke checks) pass and /health stays green: only error-rate analysis of real traffic
(a canary step or the watch window after the switch) can catch this one.
"""

from __future__ import annotations

import itertools

from flask import Flask, Response, jsonify, request

FAILURE_EVERY = 5


def install(app: Flask) -> None:
    api_requests = itertools.count(1)

    @app.before_request
    def fail_sometimes() -> tuple[Response, int] | None:
        if request.path.startswith("/api/") and next(api_requests) % FAILURE_EVERY == 0:
            return jsonify(error="injected failure (flaky release)"), 500
        return None
