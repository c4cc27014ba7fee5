"""One connection per use, configured from the environment."""

from __future__ import annotations

import os

import pymysql
from pymysql.cursors import DictCursor


def password() -> str:
    path = os.environ.get("DB_PASSWORD_FILE")
    if path:
        with open(path, encoding="utf-8") as file:
            return file.read().rstrip("\n")
    return os.environ["DB_PASSWORD"]


def connect(autocommit: bool = True) -> pymysql.connections.Connection:
    return pymysql.connect(host=os.environ["DB_HOST"], port=int(os.environ.get("DB_PORT", "3306")),
                           user=os.environ["DB_USER"], password=password(), database=os.environ["DB_NAME"],
                           charset="utf8mb4", cursorclass=DictCursor, autocommit=autocommit, connect_timeout=2)
