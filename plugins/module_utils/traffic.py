"""Where the users' traffic goes: the one implementation of a switch.

The proxy (roles/proxy) has, for each pool of users' traffic (api, web), one server per
color slot, and beside each a preview pool that shows one color on a loopback port. A
Traffic is a wanted state of all of it: each color's weight in the users' pools, the
color the preview shows, and whether canary stickiness is on.

`switch()` sends a whole Traffic in one runtime-API connection, so HAProxy applies it with
no gap between the pools. A *stable* Traffic (every serving color at full weight, no
stickiness) may also be persisted: HAProxy's server state, the live-color file and
haproxy.cfg are rewritten so that a restarted proxy comes back the same way. Only the
states a record in the history describes are persisted: a canary step or a rolling
drain never is, so a proxy restarted in the middle of a deploy serves the recorded
release, never a split.

Every module that moves traffic (greenlight.deploy.traffic, greenlight.deploy.canary,
greenlight.deploy.recover, greenlight.deploy.rollback) goes through this file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, parse_map, read_servers, save_state, send

# The proxy's switches, keys of one map file (roles/proxy's template): "canary" turns cookie
# stickiness on while a canary step runs; "maintenance" answers every user with the
# maintenance page (503, Retry-After) while a restore replaces the database.
STICKY_KEY = "canary"
MAINTENANCE_KEY = "maintenance"


@dataclass(frozen=True)
class Pool:
    """One pool of users' traffic: its HAProxy backend, its preview backend, the app's part serving it."""

    name: str
    preview: str
    part: str
    container_prefix: str

    def container(self, color: str) -> str:
        return f"{self.container_prefix}-{color}"


@dataclass(frozen=True)
class Proxy:
    """How to drive one environment's proxy (the proxy role's `describe` entry point sets it)."""

    socket: str
    colors: tuple[str, ...]
    pools: tuple[Pool, ...]
    sticky_map: str
    map_file: str
    state_file: str
    live_color_file: str
    config_file: str

    @classmethod
    def from_params(cls, params: dict) -> Proxy:
        return cls(socket=params["socket"], colors=tuple(params["colors"]),
                   pools=tuple(Pool(p["name"], p["preview"], p["part"], p["container_prefix"]) for p in params["pools"]),
                   sticky_map=params["sticky_map"], map_file=params["map_file"], state_file=params["state_file"],
                   live_color_file=params["live_color_file"], config_file=params["config_file"])


# The module argument spec of a Proxy, shared by every module that takes one.
PROXY_SPEC = {
    "type": "dict", "required": True,
    "options": {
        "socket": {"type": "path", "required": True},
        "colors": {"type": "list", "elements": "str", "required": True},
        "pools": {"type": "list", "elements": "dict", "required": True, "options": {
            "name": {"type": "str", "required": True},
            "preview": {"type": "str", "required": True},
            "part": {"type": "str", "required": True},
            "container_prefix": {"type": "str", "required": True},
        }},
        "sticky_map": {"type": "str", "required": True},
        "map_file": {"type": "path", "required": True},
        "state_file": {"type": "path", "required": True},
        "live_color_file": {"type": "path", "required": True},
        "config_file": {"type": "path", "required": True},
    },
}

# haproxy.cfg rendered for each stable state: [{live, serving, text}] (the proxy role's `describe`).
CONFIGS_SPEC = {"type": "list", "elements": "dict", "default": [], "no_log": False}


@dataclass(frozen=True)
class Traffic:
    """A wanted state of the proxy."""

    live: str
    weights: dict = field(default_factory=dict)  # color -> weight in every users' pool
    preview: str = ""
    sticky: bool = False

    @property
    def serving(self) -> list[str]:
        """The colors taking traffic, the live one first."""
        others = sorted((c for c, w in self.weights.items() if w > 0 and c != self.live),
                        key=lambda c: -self.weights[c])
        return ([self.live] if self.weights.get(self.live, 0) > 0 else []) + others

    @property
    def is_stable(self) -> bool:
        """No split and no stickiness: every serving color takes a full share."""
        return not self.sticky and all(w in (0, 100) for w in self.weights.values()) and bool(self.serving)


def stable(colors: tuple[str, ...] | list[str], live: str, serving: list[str] | tuple[str, ...] = ()) -> Traffic:
    """Everybody on `live` (and the other `serving` colors: both after a rolling deploy).

    The preview shows the first color that is not live: the idle one, where the next
    release starts.
    """
    if live not in colors:
        raise ValueError(f"unknown color {live!r}; the colors are {', '.join(colors)}")
    serving_set = {live, *serving}
    unknown = serving_set - set(colors)
    if unknown:
        raise ValueError(f"unknown color {sorted(unknown)[0]!r}; the colors are {', '.join(colors)}")
    idle = next((c for c in colors if c != live), live)
    return Traffic(live, {c: 100 if c in serving_set else 0 for c in colors}, idle, False)


def canary(colors: tuple[str, ...] | list[str], new: str, old: str, share: int) -> Traffic:
    """`share` percent on `new`, the rest on `old`, users sticking to the color they got."""
    if not 0 <= share <= 100:
        raise ValueError(f"a canary share is a percentage from 0 to 100, not {share}")
    weights = {c: 0 for c in colors}
    weights.update({old: 100 - share, new: share})
    live = new if share > 50 else old
    return Traffic(live, weights, new, 0 < share < 100)


def wanted_weights(proxy: Proxy, traffic: Traffic) -> dict[str, dict[str, int]]:
    """backend -> server -> weight, for the users' pools and the preview pools."""
    wanted: dict[str, dict[str, int]] = {}
    for pool in proxy.pools:
        wanted[pool.name] = {c: int(traffic.weights.get(c, 0)) for c in proxy.colors}
        wanted[pool.preview] = {c: 100 if c == traffic.preview else 0 for c in proxy.colors}
    return wanted


def commands(proxy: Proxy, traffic: Traffic) -> list[str]:
    """Every runtime command of the state, all of them, in one batch. HAProxy runs them one after
    the other while its other threads serve requests, so the weights a state gives are set before
    the zeros it takes away: between two commands no pool has every server at weight 0 (a request
    there would get 503 "no server"; seen once in CI on a switch from blue to green)."""
    weights = [(backend, server, weight)
               for backend, servers in wanted_weights(proxy, traffic).items() for server, weight in servers.items()]
    out = [f"set weight {backend}/{server} {weight}"
           for backend, server, weight in sorted(weights, key=lambda item: item[2] == 0)]
    out.append(f"set map {proxy.sticky_map} {STICKY_KEY} {'on' if traffic.sticky else 'off'}")
    return out


@dataclass
class Observed:
    """What the running proxy does now."""

    servers: dict
    sticky: bool
    maintenance: bool = False

    def weights(self, backend: str) -> dict[str, int]:
        return {name: info.get("weight", 0) for name, info in self.servers.get(backend, {}).items()}


def map_text(maintenance: bool) -> str:
    """The switches' map file a (re)started proxy reads: stickiness off (a canary step is never
    persisted), the maintenance page as given."""
    return f"{STICKY_KEY} off\n{MAINTENANCE_KEY} {'on' if maintenance else 'off'}\n"


def in_flight(proxy: Proxy) -> int:
    """Requests the app's servers are answering now (HAProxy's current sessions of every pool)."""
    servers = read_servers(proxy.socket)
    return sum(int(info.get("scur") or 0) for pool in proxy.pools for name in (pool.name, pool.preview)
               for info in servers.get(name, {}).values())


def drain(proxy: Proxy, seconds: float, clock=time.monotonic, sleep=time.sleep) -> int:
    """Wait until no request is in flight to the app (at most `seconds`); how many still are."""
    deadline = clock() + seconds
    while True:
        left = in_flight(proxy)
        if not left or clock() >= deadline:
            return left
        sleep(0.05)


def set_maintenance(proxy: Proxy, on: bool, drain_seconds: float = 0.0) -> bool:
    """Turn the maintenance page on or off, in the running proxy and in the map a restarted one
    reads (written first when turning it on: a restart never lets users at a database being
    replaced). Turned on with `drain_seconds`, it returns once the requests already in flight
    are answered, so a write acknowledged before the page is in the database and in a backup
    taken after it; HAProxyError when some still are after that long. Returns whether
    anything changed."""
    entries = parse_map(send(proxy.socket, [f"show map {proxy.sticky_map}"]))
    value = "on" if on else "off"
    changed = entries.get(MAINTENANCE_KEY) != value
    if on:
        write_atomically(proxy.map_file, map_text(True))
    if changed:
        # A proxy started from a map of before the key has no entry to set yet.
        verb = "set" if MAINTENANCE_KEY in entries else "add"
        answer = send(proxy.socket, [f"{verb} map {proxy.sticky_map} {MAINTENANCE_KEY} {value}"]).strip()
        if answer:
            raise HAProxyError(f"HAProxy refused to turn the maintenance page {value}: {answer}")
    if on and drain_seconds:
        left = drain(proxy, drain_seconds)
        if left:
            raise HAProxyError(f"{left} requests to the app were still in flight {drain_seconds:g} s after the "
                               f"maintenance page went on")
    if not on:
        write_atomically(proxy.map_file, map_text(False))
    return changed


def observe(proxy: Proxy) -> Observed:
    servers = read_servers(proxy.socket)
    entries = parse_map(send(proxy.socket, [f"show map {proxy.sticky_map}"]))
    return Observed(servers, entries.get(STICKY_KEY, "off") == "on", entries.get(MAINTENANCE_KEY, "off") == "on")


def matches(proxy: Proxy, traffic: Traffic, observed: Observed) -> bool:
    """Whether the running proxy already does exactly what `traffic` asks."""
    wanted = wanted_weights(proxy, traffic)
    return observed.sticky == traffic.sticky and all(
        observed.weights(backend) == servers for backend, servers in wanted.items())


def saved_colors(proxy: Proxy) -> list[str]:
    """The serving colors the last persisted switch wrote, live first ([] when none)."""
    try:
        with open(proxy.live_color_file) as stream:
            return [c for c in stream.read().split() if c in proxy.colors]
    except FileNotFoundError:
        return []


def switch(proxy: Proxy, traffic: Traffic, configs: list[dict] | None = None) -> float:
    """Send the whole state in one connection; with `configs`, persist it too. Returns HAProxy's milliseconds."""
    import time

    config = None
    if configs is not None:
        config = config_for(configs, traffic)
    started = time.monotonic()
    wanted = commands(proxy, traffic)
    answer = send(proxy.socket, wanted).strip()
    elapsed_ms = round((time.monotonic() - started) * 1000, 2)
    if answer:
        raise HAProxyError(f"HAProxy refused {wanted}: {answer}")
    if config is not None:
        persist(proxy, traffic, config)
    return elapsed_ms


def config_for(configs: list[dict], traffic: Traffic) -> str:
    """The haproxy.cfg text rendered for this stable state."""
    if not traffic.is_stable:
        raise ValueError(f"only a stable state is persisted, not {traffic}")
    for config in configs:
        if config.get("live") == traffic.live and set(config.get("serving", [])) == set(traffic.serving):
            return config["text"]
    raise ValueError(f"no proxy configuration was rendered for {traffic.live} live with {traffic.serving} serving")


def persist(proxy: Proxy, traffic: Traffic, config: str) -> None:
    """What a restarted proxy reads: its server state, the live-color file, haproxy.cfg."""
    save_state(proxy.socket, proxy.state_file)
    write_atomically(proxy.live_color_file, " ".join(traffic.serving) + "\n")
    write_atomically(proxy.config_file, config)


def persisted_matches(proxy: Proxy, traffic: Traffic, config: str) -> bool:
    """Whether the files a restarted proxy reads already say `traffic`."""
    try:
        with open(proxy.config_file) as stream:
            current = stream.read()
    except FileNotFoundError:
        return False
    return current == config and saved_colors(proxy) == traffic.serving and os.path.exists(proxy.state_file)
