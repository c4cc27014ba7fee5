"""Just enough of the Docker Engine API (over its unix socket) for greenlight's modules.

The community.docker modules cover the playbooks; a module of ours that must do its whole
job in one call (recovery, an instant rollback) lists and removes containers itself,
without a Docker SDK.
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass, field
from urllib.parse import quote


class DockerError(Exception):
    """Docker could not be reached or answered an error."""


@dataclass(frozen=True)
class Container:
    name: str
    state: str
    image: str = ""
    image_id: str = ""
    labels: dict = field(default_factory=dict)

    @property
    def commit(self) -> str:
        return self.labels.get("greenlight.commit", "")

    @property
    def version(self) -> str:
        return self.labels.get("greenlight.version", "")

    @property
    def part(self) -> str:
        return self.labels.get("greenlight.part", "")

    @classmethod
    def from_api(cls, entry: dict) -> Container:
        return cls(entry["Names"][0].lstrip("/"), entry.get("State", ""), entry.get("Image", ""),
                   entry.get("ImageID", ""), entry.get("Labels") or {})


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class DockerTimeout(DockerError):
    """Docker did not answer within the time given (a container still running, for a wait)."""


def _request(socket_path: str, method: str, path: str, timeout: float, ok: tuple[int, ...] = (200,),
             payload: dict | None = None) -> tuple[int, bytes]:
    connection = _UnixConnection(socket_path, timeout)
    try:
        if payload is None:
            connection.request(method, path)
        else:
            connection.request(method, path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
    except socket.timeout as exc:
        raise DockerTimeout(f"Docker did not answer {method} {path.split('?')[0]} within {timeout:g} s") from exc
    except OSError as exc:
        raise DockerError(f"cannot reach Docker at {socket_path}: {exc}") from exc
    finally:
        connection.close()
    if response.status not in ok:
        raise DockerError(f"Docker answered {response.status} to {method} {path.split('?')[0]}: {body[:200]!r}")
    return response.status, body


def _call(socket_path: str, method: str, path: str, timeout: float, ok: tuple[int, ...] = (200,),
          payload: dict | None = None) -> bytes:
    return _request(socket_path, method, path, timeout, ok, payload)[1]


def list_containers(socket_path: str, labels: dict[str, str], timeout: float = 10.0) -> dict[str, Container]:
    """Every container (running or not) carrying all the given labels, by name."""
    query = quote(json.dumps({"label": [f"{key}={value}" for key, value in labels.items()]}))
    entries = json.loads(_call(socket_path, "GET", f"/containers/json?all=1&filters={query}", timeout))
    return {container.name: container for container in map(Container.from_api, entries)}


def wait_container(socket_path: str, name: str, timeout: float) -> None:
    """Block until the container stops (DockerError after `timeout` seconds)."""
    _call(socket_path, "POST", f"/containers/{quote(name)}/wait", timeout)


def remove_container(socket_path: str, name: str, timeout: float = 60.0) -> None:
    """Stop (gracefully, with the container's own stop timeout) and remove a container."""
    stop_container(socket_path, name, timeout)
    _call(socket_path, "DELETE", f"/containers/{quote(name)}?force=1", timeout, ok=(204, 404))


def create_container(socket_path: str, name: str, spec: dict, timeout: float = 60.0) -> str:
    """Create a container from an Engine API spec ({Image, Cmd, HostConfig, ...}); its ID."""
    return json.loads(_call(socket_path, "POST", f"/containers/create?name={quote(name)}", timeout, ok=(201,),
                            payload=spec))["Id"]


def start_container(socket_path: str, name: str, timeout: float = 60.0) -> None:
    _call(socket_path, "POST", f"/containers/{quote(name)}/start", timeout, ok=(204, 304))


def wait_exit(socket_path: str, name: str, timeout: float) -> int:
    """The container's exit code once it stops (DockerTimeout after `timeout` seconds)."""
    return int(json.loads(_call(socket_path, "POST", f"/containers/{quote(name)}/wait", timeout)).get("StatusCode", -1))


def kill_container(socket_path: str, name: str, timeout: float = 30.0, signal: str = "") -> None:
    """Send a signal (default: SIGKILL); nothing when the container is gone or stopped."""
    query = f"?signal={quote(signal)}" if signal else ""
    _call(socket_path, "POST", f"/containers/{quote(name)}/kill{query}", timeout, ok=(204, 404, 409))


def update_container(socket_path: str, name: str, settings: dict, timeout: float = 30.0) -> None:
    """Change a container's resources or restart policy (`docker update`)."""
    _call(socket_path, "POST", f"/containers/{quote(name)}/update", timeout, payload=settings)


def stop_container(socket_path: str, name: str, timeout: float = 60.0) -> None:
    """Stop a container gracefully (its own stop signal and timeout); nothing when it is stopped or gone."""
    _call(socket_path, "POST", f"/containers/{quote(name)}/stop", timeout, ok=(204, 304, 404))


def connect_network(socket_path: str, network: str, name: str, aliases: list[str], timeout: float = 30.0) -> None:
    """Attach a running container to a network, answering there to `aliases` too."""
    _call(socket_path, "POST", f"/networks/{quote(network)}/connect", timeout,
          payload={"Container": name, "EndpointConfig": {"Aliases": aliases}})


def disconnect_network(socket_path: str, network: str, name: str, timeout: float = 30.0) -> None:
    """Detach an attached container from a network (the caller checks that it is); nothing when it is gone."""
    _call(socket_path, "POST", f"/networks/{quote(network)}/disconnect", timeout, ok=(200, 404),
          payload={"Container": name, "Force": True})


def delete_container(socket_path: str, name: str, timeout: float = 60.0) -> None:
    """Remove a container at once (killed if it runs); nothing when there is none."""
    _call(socket_path, "DELETE", f"/containers/{quote(name)}?force=1", timeout, ok=(204, 404))


def container_logs(socket_path: str, name: str, tail: int = 200, timeout: float = 60.0) -> str:
    """The last `tail` lines a container (without a terminal) printed, stdout and stderr as they came."""
    raw = _call(socket_path, "GET", f"/containers/{quote(name)}/logs?stdout=1&stderr=1&tail={tail}", timeout)
    # Docker multiplexes the two streams: frames of an 8-byte header (stream, 0, 0, 0, size) and data.
    text, offset = [], 0
    while offset + 8 <= len(raw):
        size = int.from_bytes(raw[offset + 4:offset + 8], "big")
        text.append(raw[offset + 8:offset + 8 + size])
        offset += 8 + size
    return b"".join(text).decode(errors="replace")


def inspect_container(socket_path: str, name: str, timeout: float = 10.0) -> dict | None:
    """`docker inspect` of a container (None when there is none)."""
    status, body = _request(socket_path, "GET", f"/containers/{quote(name)}/json", timeout, ok=(200, 404))
    return json.loads(body) if status == 200 else None


def image_config(socket_path: str, reference: str, timeout: float = 10.0) -> dict:
    """An image's Config (Entrypoint, Cmd, Env, ...) as `docker image inspect` shows it."""
    return json.loads(_call(socket_path, "GET", f"/images/{quote(reference, safe='')}/json", timeout)).get("Config") or {}


def restart_count(socket_path: str, name: str, timeout: float = 10.0) -> int:
    """How many times Docker restarted the container (its restart policy) since it was created."""
    return int(json.loads(_call(socket_path, "GET", f"/containers/{quote(name)}/json", timeout)).get("RestartCount", 0))


def list_all_containers(socket_path: str, timeout: float = 10.0) -> list[Container]:
    """Every container on the host, of any app, running or not."""
    return [Container.from_api(entry) for entry in json.loads(_call(socket_path, "GET", "/containers/json?all=1", timeout))]


def list_images(socket_path: str, timeout: float = 30.0) -> list[dict]:
    """Every tagged image on the host: {Id, RepoTags, Created, Size} as the engine says."""
    return json.loads(_call(socket_path, "GET", "/images/json", timeout))


def remove_image(socket_path: str, reference: str, timeout: float = 120.0) -> bool:
    """Untag `reference` (the image goes with its last tag); False when a container uses it."""
    status, _ = _request(socket_path, "DELETE", f"/images/{quote(reference, safe='')}", timeout, ok=(200, 404, 409))
    return status != 409


def published_ports(socket_path: str, labels: dict[str, str], timeout: float = 10.0) -> set[int]:
    """The host ports the running containers carrying all the given labels publish."""
    query = quote(json.dumps({"label": [f"{key}={value}" for key, value in labels.items()]}))
    entries = json.loads(_call(socket_path, "GET", f"/containers/json?filters={query}", timeout))
    return {int(port["PublicPort"]) for entry in entries for port in entry.get("Ports") or [] if port.get("PublicPort")}


def inspect_network(socket_path: str, name: str, timeout: float = 10.0) -> dict | None:
    """`docker network inspect` of a network (None when there is none)."""
    status, body = _request(socket_path, "GET", f"/networks/{quote(name)}", timeout, ok=(200, 404))
    return json.loads(body) if status == 200 else None


def port_holders(socket_path: str, timeout: float = 10.0) -> dict[int, Container]:
    """The running container that publishes each host port, of any app."""
    entries = json.loads(_call(socket_path, "GET", "/containers/json", timeout))
    return {int(port["PublicPort"]): Container.from_api(entry) for entry in entries
            for port in entry.get("Ports") or [] if port.get("PublicPort")}


def info(socket_path: str, timeout: float = 10.0) -> dict:
    """The engine's own description (GET /info): its root folder, version, storage driver."""
    return json.loads(_call(socket_path, "GET", "/info", timeout))
