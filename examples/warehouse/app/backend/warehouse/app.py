"""Flask application factory; gunicorn loads it as `warehouse.app:create_app()`."""

from __future__ import annotations

import logging
from pathlib import Path

import pymysql
from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from . import db, faults, health, items

VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"
log = logging.getLogger(__name__)


def read_version() -> str:
    return VERSION_FILE.read_text(encoding="utf-8").strip()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["APP_VERSION"] = read_version()
    # Fail at boot, not on the first request, when the environment is incomplete.
    db.config()

    faults.install(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(items.bp)

    @app.get("/api/version")
    def version() -> Response:
        return jsonify(version=app.config["APP_VERSION"])

    # Clients of a JSON API should never have to parse an HTML error page.
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify(error=exc.description), exc.code or 500

    @app.errorhandler(pymysql.OperationalError)
    def db_unavailable(exc: pymysql.OperationalError) -> tuple[Response, int]:
        log.error("database error: %s", exc)
        return jsonify(error="database unavailable"), 503

    return app
