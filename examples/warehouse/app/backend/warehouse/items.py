"""The /api/items resource."""

from __future__ import annotations

from typing import Any

import pymysql
from flask import Blueprint, Response, jsonify, request

from . import db

bp = Blueprint("items", __name__, url_prefix="/api/items")

# Columns are listed explicitly so this release keeps working after later releases
# add columns (expand/contract migrations let old and new code share one schema).
COLUMNS = "id, sku, name, quantity, location, updated_at"
MAX_LENGTHS = {"sku": 64, "name": 255, "location": 64}
EDITABLE = ("name", "quantity", "location")
ER_DUP_ENTRY = 1062
DEFAULT_PAGE = 50
MAX_PAGE = 1000


class ValidationError(ValueError):
    pass


def _serialize(row: dict[str, Any]) -> dict[str, Any]:
    item = dict(row)
    item["updated_at"] = row["updated_at"].isoformat() if row["updated_at"] else None
    return item


def _validate(field: str, value: Any) -> Any:
    if field == "quantity":
        # bool is an int subclass; "true" is not a quantity.
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError("quantity must be an integer >= 0")
        return value
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string")
    value = value.strip()
    if field in ("sku", "name") and not value:
        raise ValidationError(f"{field} must not be empty")
    if len(value) > MAX_LENGTHS[field]:
        raise ValidationError(f"{field} must be at most {MAX_LENGTHS[field]} characters")
    return value


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("request body must be a JSON object")
    return body


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def _fetch(cur: Any, item_id: int) -> dict[str, Any] | None:
    cur.execute(f"SELECT {COLUMNS} FROM items WHERE id = %s", (item_id,))
    return cur.fetchone()


def _page() -> tuple[int, int]:
    """?limit= (1..MAX_PAGE, default DEFAULT_PAGE) and ?offset= (>= 0) of a list."""
    try:
        limit = int(request.args.get("limit", DEFAULT_PAGE))
        offset = int(request.args.get("offset", 0))
    except ValueError as exc:
        raise ValidationError("limit and offset must be integers") from exc
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValidationError(f"limit must be 1..{MAX_PAGE} and offset >= 0")
    return limit, offset


@bp.get("")
def list_items() -> Response | tuple[Response, int]:
    # One page, oldest first: the answer's size does not grow with the table.
    try:
        limit, offset = _page()
    except ValidationError as exc:
        return _error(str(exc), 400)
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM items ORDER BY id LIMIT %s OFFSET %s", (limit, offset))
        return jsonify([_serialize(row) for row in cur.fetchall()])


@bp.get("/<int:item_id>")
def get_item(item_id: int) -> tuple[Response, int]:
    with db.connection() as conn, conn.cursor() as cur:
        row = _fetch(cur, item_id)
    if row is None:
        return _error("item not found", 404)
    return jsonify(_serialize(row)), 200


@bp.post("")
def create_item() -> tuple[Response, int]:
    try:
        body = _json_body()
        missing = [f for f in ("sku", "name", "quantity", "location") if f not in body]
        if missing:
            raise ValidationError(f"missing fields: {', '.join(missing)}")
        values = {f: _validate(f, body[f]) for f in ("sku", "name", "quantity", "location")}
    except ValidationError as exc:
        return _error(str(exc), 400)

    with db.connection(autocommit=False) as conn, conn.cursor() as cur:
        try:
            cur.execute(
                "INSERT INTO items (sku, name, quantity, location) VALUES (%s, %s, %s, %s)",
                (values["sku"], values["name"], values["quantity"], values["location"]),
            )
        except pymysql.IntegrityError as exc:
            if exc.args[0] == ER_DUP_ENTRY:
                return _error(f"sku {values['sku']!r} already exists", 409)
            raise
        row = _fetch(cur, cur.lastrowid)
        conn.commit()
    return jsonify(_serialize(row)), 201


@bp.put("/<int:item_id>")
def update_item(item_id: int) -> tuple[Response, int]:
    try:
        body = _json_body()
        changes = {f: _validate(f, body[f]) for f in EDITABLE if f in body}
        if not changes:
            raise ValidationError(f"nothing to update; editable fields: {', '.join(EDITABLE)}")
    except ValidationError as exc:
        return _error(str(exc), 400)

    assignments = ", ".join(f"{field} = %s" for field in changes)
    with db.connection(autocommit=False) as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE items SET {assignments} WHERE id = %s", (*changes.values(), item_id))
        # rowcount is 0 for an unchanged row too, so existence is checked by reading it back.
        row = _fetch(cur, item_id)
        conn.commit()
    if row is None:
        return _error("item not found", 404)
    return jsonify(_serialize(row)), 200
