"""Database access, configured only through the environment so one image fits every stage."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import DictCursor

# Short enough that /health answers within the 2 s healthcheck budget when the DB is gone.
CONNECT_TIMEOUT_SECONDS = 2


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class DbConfig:
    host: str
    port: int
    name: str
    user: str
    password: str


@cache
def config() -> DbConfig:
    missing = [key for key in ("DB_HOST", "DB_NAME", "DB_USER") if key not in os.environ]
    if "DB_PASSWORD_FILE" not in os.environ and "DB_PASSWORD" not in os.environ:
        missing.append("DB_PASSWORD_FILE")
    if missing:
        raise ConfigError(f"missing environment variables: {', '.join(missing)}")
    try:
        port = int(os.environ.get("DB_PORT", "3306"))
    except ValueError as exc:
        raise ConfigError(f"DB_PORT is not a number: {os.environ['DB_PORT']!r}") from exc
    return DbConfig(
        host=os.environ["DB_HOST"],
        port=port,
        name=os.environ["DB_NAME"],
        user=os.environ["DB_USER"],
        password=password(),
    )


def password() -> str:
    """The password from the file DB_PASSWORD_FILE names (greenlight mounts it; `docker inspect`
    shows the path, not the secret), or from DB_PASSWORD where no file is given."""
    path = os.environ.get("DB_PASSWORD_FILE")
    if not path:
        return os.environ["DB_PASSWORD"]
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().rstrip("\n")
    except OSError as exc:
        raise ConfigError(f"cannot read DB_PASSWORD_FILE {path}: {exc.strerror}") from exc


# The database's address as last resolved (see address()).
_last_address: dict[str, str] = {}


def address(host: str) -> str:
    """The database's address: resolved on every connection (a recreated database container
    gets a new one), and the last one that resolved while the name does not resolve. Docker's
    DNS stops answering, then answers NXDOMAIN, for seconds while the daemon restarts (a
    docker.io update), and the database is still there at its address all along."""
    try:
        _last_address[host] = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except OSError:
        if host not in _last_address:
            raise
    return _last_address[host]


def connect(autocommit: bool = True) -> Connection:
    cfg = config()
    return pymysql.connect(
        host=address(cfg.host),
        port=cfg.port,
        user=cfg.user,
        password=cfg.password,
        database=cfg.name,
        charset="utf8mb4",
        cursorclass=DictCursor,
        autocommit=autocommit,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )


@contextmanager
def connection(autocommit: bool = True) -> Iterator[Connection]:
    """One connection per request: simple, and nothing stale survives a DB restart."""
    conn = connect(autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()
