"""Deliberately broken release: reports unhealthy no matter what, so the deploy must roll back."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> tuple[Response, int]:
    return jsonify(status="unavailable", version=current_app.config["APP_VERSION"]), 503
