"""One connection per use, from the app's own variables."""

from __future__ import annotations

import os

import pymysql
from pymysql.cursors import DictCursor


def connect() -> pymysql.connections.Connection:
    return pymysql.connect(host=os.environ["APP_DB_HOST"], port=int(os.environ["APP_DB_PORT"]),
                           user=os.environ["APP_DB_USER"], password=os.environ["MYSQL_PASSWORD"],
                           database=os.environ["APP_DB_NAME"], charset="utf8mb4", cursorclass=DictCursor,
                           autocommit=True, connect_timeout=2)
