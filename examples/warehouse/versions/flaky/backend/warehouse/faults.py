"""Deliberately broken release: about one /api request in five fails.

/health stays green, so only error-rate monitoring after the switch can catch this one.
"""

from __future__ import annotations

import random

from flask import Flask, Response, jsonify, request

FAILURE_RATE = 0.2


def install(app: Flask) -> None:
    @app.before_request
    def fail_sometimes() -> tuple[Response, int] | None:
        if request.path.startswith("/api/") and random.random() < FAILURE_RATE:
            return jsonify(error="injected failure (flaky release)"), 500
        return None
