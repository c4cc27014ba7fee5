"""A small client for HAProxy's runtime API (the admin socket).

Shared by greenlight's modules (plugins/module_utils/traffic.py moves the traffic with it) and the
tests. It sends commands over the unix socket and parses the answers greenlight reads:
`show servers state` (the weights that route traffic), `show stat` (health and per-server
counters) and `show map`.
"""

from __future__ import annotations

import csv
import io
import socket

from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically

STAT_FIELDS = (
    "status", "check_status", "check_code", "check_desc", "last_chk",
    "stot", "hrsp_2xx", "hrsp_5xx", "eresp", "econ", "rtime", "scur",
)


class HAProxyError(Exception):
    """The socket could not be reached or HAProxy refused a command."""


def send(socket_path: str, commands: list[str], timeout: float = 5.0) -> str:
    """Send commands in one connection; HAProxy runs them in order, with no gap between."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        sock.sendall(("; ".join(commands) + "\n").encode())
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as exc:
        raise HAProxyError(f"cannot talk to HAProxy at {socket_path}: {exc}") from exc
    finally:
        sock.close()
    return b"".join(chunks).decode()


def parse_servers_state(text: str) -> dict[str, dict[str, dict]]:
    """Parse `show servers state` into {backend: {server: {weight, admin_state, addr}}}."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = next((line for line in lines if line.startswith("# be_id")), None)
    if header is None:
        raise HAProxyError(f"unexpected answer to 'show servers state': {text[:200]!r}")
    names = header[2:].split()
    servers: dict[str, dict[str, dict]] = {}
    for line in lines:
        if line.startswith("#") or line == "1":
            continue
        row = dict(zip(names, line.split()))
        servers.setdefault(row["be_name"], {})[row["srv_name"]] = {
            "weight": int(row["srv_uweight"]),
            "admin_state": int(row["srv_admin_state"]),
            "addr": row["srv_addr"],
        }
    return servers


def parse_stat(text: str) -> dict[str, dict[str, dict]]:
    """Parse `show stat` CSV into {backend: {server: {status, check_status, counters...}}}."""
    reader = csv.DictReader(io.StringIO(text.lstrip("# ")))
    servers: dict[str, dict[str, dict]] = {}
    for row in reader:
        if row.get("svname") in (None, "FRONTEND", "BACKEND"):
            continue
        servers.setdefault(row["pxname"], {})[row["svname"]] = {
            field: _number(row.get(field, "")) for field in STAT_FIELDS
        }
    return servers


def _number(value: str) -> int | str:
    # "* L7OK": the asterisk only says a check is running right now.
    value = value.removeprefix("* ")
    return int(value) if value.isdigit() else value


def read_servers(socket_path: str) -> dict[str, dict[str, dict]]:
    """Weights and admin state merged with health and counters, per backend and server."""
    state = parse_servers_state(send(socket_path, ["show servers state"]))
    stat = parse_stat(send(socket_path, ["show stat"]))
    for backend, servers in state.items():
        for name, info in servers.items():
            info.update(stat.get(backend, {}).get(name, {}))
    return state


def parse_map(text: str) -> dict[str, str]:
    """Parse `show map <file>` ("<id> <key> <value>" per line) into {key: value}."""
    entries = {}
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].startswith("0x"):
            entries[parts[1]] = parts[2]
        elif line.strip():
            raise HAProxyError(f"unexpected answer to 'show map': {text[:200]!r}")
    return entries


def save_state(socket_path: str, state_file: str) -> None:
    """Write `show servers state` where HAProxy reads it at start (server-state-file).

    A restarted proxy then comes back with the weights (the live color) and the servers'
    addresses it had, instead of waiting for the DNS to find the containers again.
    """
    text = send(socket_path, ["show servers state"])
    parse_servers_state(text)  # refuse to save an error answer
    write_atomically(state_file, text.lstrip("\n"))


def live_color(servers: dict, saved: list[str], backend: str = "api") -> str:
    """The color with the largest share of the traffic; on a tie (rolling), the saved one."""
    weighted = sorted(((info.get("weight", 0), name) for name, info in servers.get(backend, {}).items()
                       if info.get("weight", 0) > 0), reverse=True)
    if not weighted:
        return saved[0] if saved else ""
    tie = len(weighted) > 1 and weighted[0][0] == weighted[1][0]
    if tie and saved and saved[0] in [name for _, name in weighted]:
        return saved[0]
    return weighted[0][1]


def serving_colors(servers: dict, backend: str = "api") -> list[str]:
    """The colors that take traffic, the largest share first."""
    weighted = sorted(((info.get("weight", 0), name) for name, info in servers.get(backend, {}).items()
                       if info.get("weight", 0) > 0), reverse=True)
    return [name for _, name in weighted]
