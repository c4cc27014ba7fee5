"""Liveness as seen by the load balancer and the deploy tool: healthy means the DB answers."""

from __future__ import annotations

import logging

import pymysql
from flask import Blueprint, Response, current_app, jsonify

from . import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/health")
def health() -> tuple[Response, int]:
    version = current_app.config["APP_VERSION"]
    try:
        with db.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    except pymysql.MySQLError as exc:
        log.warning("health check failed: %s", exc)
        return jsonify(status="unavailable", version=version, error="database unavailable"), 503
    return jsonify(status="ok", version=version), 200
