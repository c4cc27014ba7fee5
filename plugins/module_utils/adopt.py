"""Adopting a running compose app (greenlight adopt, docs/your-app.md#adopt-without-downtime).

The pure half of plugins/modules/adopt.py: the environment's adoption state (a JSON file in
its folder, written by greenlight, read back as data and checked), the compose containers that
become the live color, and the nftables table that carries the public ports to greenlight's
proxy while Docker still gives them to the compose containers.

The state file:
    {"project": "shop",                       the compose project (label com.docker.compose.project)
     "containers": {"frontend": "shop-frontend-1", "backend": "shop-backend-1"},
     "color": "blue",                          the color they answer for; "" once a release took it
     "stage": "serving" | "finishing"}         finishing: the handover of the ports has begun
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys

STAGES = ("serving", "finishing")
# Docker's own rule for container names (daemon/names.go), and compose's project names.
CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
PART_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_ONEOFF = "com.docker.compose.oneoff"
# Ahead of Docker's own nat chains (priority -100, dstnat), so Docker neither sees nor rewrites
# what this table sends on; the first nat rule that matches a new connection decides.
PRIORITY = -110


class AdoptError(Exception):
    """The state, the compose containers or the redirect cannot be used as they are."""


def read_state(path: str, text: str, colors: list[str]) -> dict:
    """The adoption state in `text` ({} for an empty file), checked; AdoptError says what is wrong."""
    if not text.strip():
        return {}
    fix = f"{path} is damaged: greenlight adopt wrote it; remove it only once no compose container serves"
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise AdoptError(f"{fix} ({exc})") from exc
    if not isinstance(state, dict) or set(state) != {"project", "containers", "color", "stage"}:
        raise AdoptError(f"{fix} (it must hold project, containers, color and stage)")
    containers = state["containers"]
    good = (isinstance(state["project"], str) and PROJECT_NAME.fullmatch(state["project"])
            and isinstance(containers, dict) and containers
            and all(isinstance(p, str) and PART_NAME.fullmatch(p) and isinstance(n, str) and CONTAINER_NAME.fullmatch(n)
                    for p, n in containers.items())
            and state["color"] in [*colors, ""] and state["stage"] in STAGES)
    if not good:
        raise AdoptError(f"{fix} (a value is not a project, container, color or stage)")
    return state


def compose_containers(project: str, parts: list[str], services: dict[str, str], listed: list) -> dict[str, str]:
    """Each web part's running compose container, of the host's containers (docker_api.Container).

    A part is the compose service of its own name, or the one `services` names for it. Not a
    one-off container (`docker compose run`), nor one of greenlight's (an image's labels reach
    its containers: a label of compose's is no proof). AdoptError when a part has none running,
    or several (a scaled service: greenlight's color is one container per part).
    """
    if not PROJECT_NAME.fullmatch(project):
        raise AdoptError(f"compose project {project!r}: lowercase letters, digits, - and _ (as compose names it)")
    unknown = sorted(set(services) - set(parts))
    if unknown:
        raise AdoptError(f"--service {unknown[0]}=...: no web part of that name (the parts: {', '.join(parts)})")
    found: dict[str, str] = {}
    problems = []
    for part in parts:
        service = services.get(part, part)
        running = sorted(c.name for c in listed
                         if c.labels.get(COMPOSE_PROJECT) == project and c.labels.get(COMPOSE_SERVICE) == service
                         and c.labels.get(COMPOSE_ONEOFF, "False") != "True"
                         and not any(label.startswith("greenlight.") for label in c.labels)
                         and c.state == "running" and CONTAINER_NAME.fullmatch(c.name))
        if len(running) != 1:
            problems.append(f"part {part}: compose project {project} has {len(running) or 'no'} running container"
                            f"{'s' if len(running) != 1 else ''} of service {service}"
                            + (f" ({', '.join(running)}): greenlight takes over one per part" if running else
                               f" (name another with --service {part}=SERVICE)"))
        else:
            found[part] = running[0]
    if problems:
        raise AdoptError("; ".join(problems))
    return found


TCP_ESTABLISHED = "01"


def _address(hex_address: str, byteorder: str = sys.byteorder) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6} (hex, in the kernel's 32-bit words of host order)."""
    raw = bytes.fromhex(hex_address)
    words = raw if byteorder == "big" else b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address


def direct_connections(tables: list[str], ports: list[int], networks: list[str], gateways: list[str]) -> int:
    """Connections a container holds through its published ports, from its /proc/net/tcp and
    tcp6 (`tables`): established on one of its published `ports` (the container's side), from
    an address outside its own `networks` (greenlight's proxy and the compose app's other
    services are on them) or from one of their `gateways` (where Docker's NAT puts this
    machine's own clients of a published port). They reached it before the public ports moved,
    and last as long as their clients keep them alive."""
    inside = [ipaddress.ip_network(network, strict=False) for network in networks]
    nat = {ipaddress.ip_address(gateway) for gateway in gateways}
    rows = [line.split() for table in tables for line in table.splitlines()[1:] if line.strip()]
    published = {f"{port:04X}" for port in ports}
    count = 0
    for row in rows:
        if len(row) <= 3 or row[3] != TCP_ESTABLISHED or row[1].rsplit(":", 1)[1] not in published:
            continue
        remote = _address(row[2].rsplit(":", 1)[0])
        if remote in nat or not any(remote in network for network in inside if network.version == remote.version):
            count += 1
    return count


def table_name(prefix: str) -> str:
    """The environment's own nftables table (the prefix's - become _)."""
    return "greenlight_adopt_" + re.sub(r"[^a-z0-9]", "_", prefix.lower())


def loopback(bind: str) -> bool:
    return ipaddress.IPv4Address(bind or "0.0.0.0").is_loopback


def render_table(name: str, address: str, public: dict[int, int], local: dict[int, int], bind: str = "0.0.0.0") -> str:
    """An `nft -f` script that replaces table `name` in one transaction.

    public: host port -> proxy container port, for connections to `bind` (the proxy's bind
    address; 0.0.0.0: any local address) from anywhere (the prerouting hook: users) and from
    this machine (the output hook); with a loopback `bind`, from this machine only. local: the
    same, to 127.0.0.1 from this machine only (the port greenlight publishes there). `fib daddr
    type local` keeps every connection to another machine, the proxy's own to the compose
    containers among them, out of it.
    """
    ip = ipaddress.IPv4Address(address)
    bound = ipaddress.IPv4Address(bind or "0.0.0.0")
    to = "fib daddr type local" if bound == ipaddress.IPv4Address("0.0.0.0") else f"ip daddr {bound}"
    if not re.fullmatch(r"greenlight_adopt_[a-z0-9_]{1,80}", name):
        raise AdoptError(f"nftables table {name!r}: not one of greenlight's")
    for port in [*public, *public.values(), *local, *local.values()]:
        if not isinstance(port, int) or not 0 < port < 65536:
            raise AdoptError(f"port {port!r}: not a TCP port")

    def rules(ports: dict[int, int], match: str) -> list[str]:
        return [f"        {match} tcp dport {host} dnat to {ip}:{inner}" for host, inner in sorted(ports.items())]

    return "\n".join([
        f"table ip {name}",
        f"delete table ip {name}",
        f"table ip {name} {{",
        "    chain prerouting {",
        f"        type nat hook prerouting priority {PRIORITY}; policy accept;",
        *([] if bound.is_loopback else rules(public, to)),
        "    }",
        "    chain output {",
        f"        type nat hook output priority {PRIORITY}; policy accept;",
        *rules(public, to),
        *rules(local, "ip daddr 127.0.0.1"),
        "    }",
        "}",
        "",
    ])
