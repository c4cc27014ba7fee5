"""The state of one environment, changing nothing: one implementation for the greenlight.deploy.status
module (playbooks/status.yml) and for `greenlight status` on this machine without a playbook.

    {app, env, proxy: {running, live_color_from}, live: COLOR, idle: COLOR, lock: {...},
     recorded_live: {...}, history: [...], history_skipped: N, monitoring: bool, alerts: [...],
     certificate: {names, not_after, days_left, issuer, self_signed} (what the proxy serves)}

COLOR is {color, version, commit, healthy, warm, haproxy: {pool: status}, containers: {part:
{name, exists, running, state, restart_count, version, commit, image}}}. The live color is the
running proxy's (the larger share mid-canary), else the one last persisted; a color is
healthy (and warm, for the idle one) when HAProxy finds every one of its servers UP and its
containers run. A lock's holder is judged where it ran (deploy_lock.alive: None from here
when it is another machine's).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ansible_collections.greenlight.deploy.plugins.module_utils import deploy_lock, history
from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import DockerError, inspect_container
from ansible_collections.greenlight.deploy.plugins.module_utils.certificate import served_summary
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, live_color, read_servers, serving_colors
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import Proxy, saved_colors

NONE = {"color": "", "version": "", "commit": "", "haproxy": {}, "containers": {}, "healthy": False, "warm": False}


def _container(docker_socket: str, name: str) -> dict:
    try:
        found = inspect_container(docker_socket, name)
    except DockerError:
        found = None
    if not found:
        return {"name": name, "exists": False, "running": False, "state": "absent", "restart_count": 0,
                "version": "", "commit": "", "image": ""}
    labels = (found.get("Config") or {}).get("Labels") or {}
    return {"name": name, "exists": True, "running": bool((found.get("State") or {}).get("Running")),
            "state": (found.get("State") or {}).get("Status", ""), "restart_count": found.get("RestartCount", 0),
            "version": labels.get("greenlight.version", ""), "commit": labels.get("greenlight.commit", ""),
            "image": (found.get("Config") or {}).get("Image", "")}


def alerts(prometheus_url: str, app: str, env: str, timeout: float = 5.0) -> tuple[bool, list[dict]]:
    """(whether a monitoring stack answered, the environment's firing alerts)."""
    try:
        with urllib.request.urlopen(f"{prometheus_url}/api/v1/alerts", timeout=timeout) as answer:
            found = json.loads(answer.read()).get("data", {}).get("alerts", [])
    except (OSError, ValueError, urllib.error.URLError):
        return False, []
    return True, [{"name": a["labels"].get("alertname", ""), "severity": a["labels"].get("severity", ""),
                   "summary": (a.get("annotations") or {}).get("summary", ""), "since": a.get("activeAt", "")}
                  for a in found if a.get("state") == "firing" and (a.get("labels") or {}).get("app") == app
                  and a["labels"].get("env") == env]


def read_lock(path: str) -> dict:
    """The deploy lock with whether its holder lives (judged here: run this where the holder ran)."""
    try:
        lock = deploy_lock.read(path) or {}
    except deploy_lock.LockError:
        return {}
    return {**lock, "alive": deploy_lock.alive(lock.get("holder") or {}), "description": deploy_lock.describe(lock)} \
        if lock else {}


def report(app: str, env: str, proxy: Proxy, history_path: str, lock_path: str, docker_socket: str,
           prometheus_url: str, limit: int = 20) -> dict:
    try:
        servers = read_servers(proxy.socket)
    except HAProxyError:
        servers = {}
    first = proxy.pools[0].name
    saved = saved_colors(proxy)
    live = live_color(servers, saved, first) if servers else (saved[0] if saved else "")
    colors = {}
    for color in proxy.colors:
        parts = {pool.part: _container(docker_socket, pool.container(color)) for pool in proxy.pools}
        pools = {pool.name: ((servers.get(pool.name) or {}).get(color) or {}).get("status", "unknown")
                 for pool in proxy.pools}
        up = set(pools.values()) == {"UP"} and all(part["running"] for part in parts.values())
        main = parts[proxy.pools[0].part]
        colors[color] = {"color": color, "version": main["version"], "commit": main["commit"], "haproxy": pools,
                         "containers": parts, "healthy": up, "warm": up}
    idle = next((color for color in proxy.colors if color != live), "")
    reading = history.read(history_path)
    recorded = history.recorded_live(reading.records, list(proxy.colors))
    lock = read_lock(lock_path) if lock_path else {}
    reachable, firing = alerts(prometheus_url, app, env)
    return {
        "app": app, "env": env,
        "proxy": {"running": bool(servers), "live_color_from": "proxy" if servers else ("file" if live else "none")},
        "live": colors.get(live, NONE), "idle": colors.get(idle, NONE) if live else NONE,
        "serving": serving_colors(servers, first) if servers else saved,
        "lock": lock, "recorded_live": recorded.as_dict() if recorded else {},
        "history": reading.records[-limit:] if limit else reading.records, "history_skipped": reading.skipped,
        "monitoring": reachable, "alerts": firing,
        "certificate": served_summary(proxy.socket) if servers else {},
    }
