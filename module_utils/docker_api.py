"""Just enough of the Docker Engine API (over its unix socket) for greenlight's modules.

The community.docker modules cover the playbooks; a module of ours that must do its whole
job in one call (an instant rollback) lists containers itself, without a Docker SDK.
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import quote


class DockerError(Exception):
    """Docker could not be reached or answered an error."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def list_containers(socket_path: str, labels: list[str], timeout: float = 10.0) -> list[dict]:
    """Every container (running or not) carrying all the given labels ("key=value")."""
    query = quote(json.dumps({"label": labels}))
    connection = _UnixConnection(socket_path, timeout)
    try:
        connection.request("GET", f"/containers/json?all=1&filters={query}")
        response = connection.getresponse()
        body = response.read()
    except OSError as exc:
        raise DockerError(f"cannot reach Docker at {socket_path}: {exc}") from exc
    finally:
        connection.close()
    if response.status != 200:
        raise DockerError(f"Docker answered {response.status}: {body[:200]!r}")
    return json.loads(body)
