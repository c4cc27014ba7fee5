"""Deliberately, subtly broken release: v2, but one /api request in fifty fails.

Every fiftieth /api request of each worker process answers 500 (2%); /health stays 200
and the smoke checks pass. The judge must see 2% against a clean baseline: that takes a
few hundred requests, which is why its holds adapt to the traffic.
"""

from __future__ import annotations

import itertools

from flask import Flask, Response, jsonify, request

FAILURE_EVERY = 50


def install(app: Flask) -> None:
    api_requests = itertools.count(1)

    @app.before_request
    def fail_sometimes() -> tuple[Response, int] | None:
        if request.path.startswith("/api/") and next(api_requests) % FAILURE_EVERY == 0:
            return jsonify(error="injected failure (flaky2 release)"), 500
        return None
