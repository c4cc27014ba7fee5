"""A color's health before it takes traffic, in one call: HAProxy's own checks of its servers
UP in every pool (asked every 0.1 s, not once a task), then the smoke checks through the
preview port. One module run instead of one per retry and one per request."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, read_servers


class Unhealthy(Exception):
    """The color did not get healthy, or a smoke check failed; the message says how."""


def wait_up(socket: str, pools: list[str], color: str, timeout: float, clock=time.monotonic, sleep=time.sleep) -> dict:
    """Every pool's server of `color` UP in HAProxy within `timeout` seconds; its states."""
    deadline, states, error = clock() + timeout, {}, ""
    while True:
        try:
            servers = read_servers(socket)
            states = {pool: (servers.get(pool) or {}).get(color) or {} for pool in pools}
            error = ""
        except HAProxyError as exc:
            error = str(exc)
        if states and all(state.get("status") == "UP" for state in states.values()):
            return states
        if clock() >= deadline:
            break
        sleep(0.1)
    described = "; ".join(
        f"{pool}/{color} {state.get('status', 'unknown')} ({state.get('check_status', '')} {state.get('check_code', '')} "
        f"{state.get('check_desc') or state.get('last_chk', '') or error})".replace("  ", " ")
        for pool, state in (states or {pool: {} for pool in pools}).items())
    raise Unhealthy(f"the new release failed its health check: after {timeout:g} s of checks HAProxy reports {described}")


def smoke(base_url: str, checks: list[dict], timeout: float = 10.0) -> list[dict]:
    """GET each path; the answer must have its status (default 200)."""
    answered = []
    for check in checks:
        wanted = int(check.get("status", 200))
        try:
            with urllib.request.urlopen(base_url + check["path"], timeout=timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, urllib.error.URLError) as exc:
            raise Unhealthy(f"the smoke check GET {check['path']} through the preview port failed: {exc}") from exc
        if status != wanted:
            raise Unhealthy(f"the smoke check GET {check['path']} through the preview port answered {status}, "
                            f"not {wanted}")
        answered.append({"path": check["path"], "status": status})
    return answered
