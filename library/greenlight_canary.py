#!/usr/bin/python
"""One canary step or watch window: move traffic, watch the colors, judge, roll back if worse."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: greenlight_canary
short_description: Judge a new release against the old one from HAProxy's counters, and roll back when it is worse
description:
  - Optionally sets the new color's share of the traffic (O(weight) percent; the old color
    gets the rest) and turns cookie stickiness on while both colors take traffic.
  - Watches both colors for O(hold) seconds, reading HAProxy's per-server counters (requests,
    5xx and broken responses, response time, health) every second.
  - Judges the new color against the old with the canary judge (module_utils/canary_judge.py):
    unhealthy, or a 5xx rate or response time worse than the old color's, fails the step;
    a failure seen during the hold ends it at once.
  - When the new color has answered too few requests to be judged, sends synthetic GET
    requests to it (O(synthetic_url), loopback only) until it has, then judges again.
  - On failure with O(rollback), moves all traffic back to the old color in one runtime API
    connection (weights and stickiness together) and reports how long that took after the
    decision, then fails with the verdict's reason and numbers.
options:
  socket:
    description: Path of HAProxy's admin socket on the host.
    type: path
    required: true
  new_colors:
    description: Colors that run the new release.
    type: list
    elements: str
    required: true
  old_colors:
    description: Colors that run the old release (the baseline, and the rollback target); may be empty.
    type: list
    elements: str
    default: []
  backends:
    description: Pools whose weights carry the users' traffic.
    type: list
    elements: str
    default: [api, web]
  preview_backends:
    description: Pools of the preview port; a rollback points them at the new colors again (the preview shows the idle color).
    type: list
    elements: str
    default: [preview_api, preview_web]
  weight:
    description: Percent of the traffic for the new colors during this step; omit to keep the weights (a watch window).
    type: int
  sticky_map:
    description: Map file (path inside the proxy) whose key C(canary) turns cookie stickiness on or off.
    type: str
    required: true
  state_file:
    description: After moving traffic, save HAProxy's server state here (on the host), for the proxy's next start.
    type: path
    required: false
  hold:
    description: Seconds to watch.
    type: float
    default: 20
  synthetic_url:
    description: Base URL on 127.0.0.1 that reaches the new colors, for synthetic requests.
    type: str
    required: true
  synthetic_paths:
    description: Paths requested by synthetic GETs, in turn.
    type: list
    elements: str
    default: [/api/items, /api/version, /health]
  min_requests:
    description: Requests the new colors must have answered before they can be judged.
    type: int
    default: 50
  error_margin:
    description: How much higher than the old colors' the new colors' error rate may be (0.01 is one percentage point).
    type: float
    default: 0.01
  significance:
    description: A higher error rate fails only when it is this unlikely to be chance (one-sided binomial test).
    type: float
    default: 0.05
  latency_ratio:
    description: The new colors fail when their mean response time exceeds the old colors' times this...
    type: float
    default: 2.0
  latency_floor_ms:
    description: ...and exceeds it by more than this many milliseconds.
    type: float
    default: 100
  rollback:
    description: Move all traffic back to O(old_colors) when the verdict is a failure.
    type: bool
    default: true
author: greenlight
"""

EXAMPLES = r"""
- name: "Canary step 5%: judge green against blue for 20 s"
  greenlight_canary:
    socket: /var/lib/greenlight/warehouse-production/proxy/run/admin.sock
    new_colors: [green]
    old_colors: [blue]
    weight: 5
    hold: 20
    sticky_map: /usr/local/etc/haproxy/sticky.map
    synthetic_url: http://127.0.0.1:9080
"""

RETURN = r"""
verdict:
  description: outcome (pass or fail), reason, and the numbers of both sides (requests, errors, response_ms, healthy).
  returned: always
  type: dict
rolled_back:
  description: Whether traffic was moved back to the old colors.
  returned: always
  type: bool
rollback_ms:
  description: Milliseconds from the failing verdict to HAProxy acknowledging the rollback.
  returned: when rolled_back
  type: float
switch_ms:
  description: Milliseconds HAProxy took to apply this step's weights.
  returned: always
  type: float
synthetic_requests:
  description: Synthetic requests sent to reach min_requests.
  returned: always
  type: int
seconds:
  description: How long the window lasted.
  returned: always
  type: float
"""

import time
import urllib.error
from dataclasses import replace
import urllib.request
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.canary_judge import FAIL, INCONCLUSIVE, Sample, Thresholds, judge
from ansible.module_utils.haproxy_runtime import HAProxyError, color_totals, read_servers, save_state, send

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SYNTHETIC_TIMEOUT_S = 5.0
EARLY_STOP_STRICTNESS = 20


class Window:
    """Counters of the new and old colors since the window opened."""

    def __init__(self, params: dict) -> None:
        self.params = params
        self.socket = params["socket"]
        self.counted = params["backends"] + params["preview_backends"]
        self.start = read_servers(self.socket)

    def sample(self, colors: list[str], servers: dict) -> Sample:
        before = color_totals(self.start, colors, self.counted)
        now = color_totals(servers, colors, self.counted)
        live = [servers.get(backend, {}).get(color, {}) for backend in self.params["backends"] for color in colors]
        # HAProxy's rtime: mean response time of the server's last 1024 requests.
        times = [server.get("rtime", 0) for server in live if isinstance(server.get("rtime"), int)]
        healthy = bool(live) and all(server.get("status") in ("UP", "DRAIN") for server in live)
        return Sample(requests=now["requests"] - before["requests"],
                      errors=now["errors"] - before["errors"],
                      response_ms=float(max(times, default=0)),
                      healthy=healthy)

    def verdict(self, thresholds: Thresholds):
        servers = read_servers(self.socket)
        canary = self.sample(self.params["new_colors"], servers)
        baseline = self.sample(self.params["old_colors"], servers) if self.params["old_colors"] else Sample(0, 0, 0.0)
        return judge(canary, baseline, thresholds)


def weight_commands(params: dict, new_share: int) -> list[str]:
    commands = []
    for backend in params["backends"]:
        commands += [f"set weight {backend}/{color} {new_share}" for color in params["new_colors"]]
        commands += [f"set weight {backend}/{color} {100 - new_share}" for color in params["old_colors"]]
    sticky = "on" if 0 < new_share < 100 else "off"
    commands.append(f"set map {params['sticky_map']} canary {sticky}")
    return commands


def rollback_commands(params: dict) -> list[str]:
    commands = weight_commands(params, 0)
    for backend in params["preview_backends"]:
        commands += [f"set weight {backend}/{color} 100" for color in params["new_colors"]]
        commands += [f"set weight {backend}/{color} 0" for color in params["old_colors"]]
    return commands


def apply(socket_path: str, commands: list[str], state_file: str | None) -> float:
    started = time.monotonic()
    answer = send(socket_path, commands).strip()
    elapsed_ms = round((time.monotonic() - started) * 1000, 2)
    if answer:
        raise HAProxyError(f"HAProxy refused {commands}: {answer}")
    if state_file:
        save_state(socket_path, state_file)
    return elapsed_ms


def synthetic_requests(base_url: str, paths: list[str], count: int, deadline: float) -> int:
    sent = 0
    while sent < count and time.monotonic() < deadline:
        url = base_url.rstrip("/") + paths[sent % len(paths)]
        try:
            with urllib.request.urlopen(url, timeout=SYNTHETIC_TIMEOUT_S) as response:
                response.read()
        except (urllib.error.URLError, OSError):
            pass  # HAProxy counts the answer (or the broken connection); the judge reads it there.
        sent += 1
    return sent


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path", "required": True},
            "new_colors": {"type": "list", "elements": "str", "required": True},
            "old_colors": {"type": "list", "elements": "str", "default": []},
            "backends": {"type": "list", "elements": "str", "default": ["api", "web"]},
            "preview_backends": {"type": "list", "elements": "str", "default": ["preview_api", "preview_web"]},
            "weight": {"type": "int", "required": False},
            "sticky_map": {"type": "str", "required": True},
            "hold": {"type": "float", "default": 20},
            "state_file": {"type": "path", "required": False},
            "synthetic_url": {"type": "str", "required": True},
            "synthetic_paths": {"type": "list", "elements": "str", "default": ["/api/items", "/api/version", "/health"]},
            "min_requests": {"type": "int", "default": 50},
            "error_margin": {"type": "float", "default": 0.01},
            "significance": {"type": "float", "default": 0.05},
            "latency_ratio": {"type": "float", "default": 2.0},
            "latency_floor_ms": {"type": "float", "default": 100},
            "rollback": {"type": "bool", "default": True},
        },
        supports_check_mode=False,
    )
    params = module.params
    if params["weight"] is not None and not 0 <= params["weight"] <= 100:
        module.fail_json(msg=f"weight must be a percentage from 0 to 100, not {params['weight']}")
    if urlsplit(params["synthetic_url"]).hostname not in LOOPBACK_HOSTS:
        module.fail_json(msg=f"synthetic requests go to loopback only, not {params['synthetic_url']}")
    thresholds = Thresholds(min_requests=params["min_requests"], error_margin=params["error_margin"],
                            significance=params["significance"], latency_ratio=params["latency_ratio"],
                            latency_floor_ms=params["latency_floor_ms"])
    result = {"changed": False, "rolled_back": False, "switch_ms": 0.0, "synthetic_requests": 0}
    opened = time.monotonic()
    try:
        window = Window(params)
        if params["weight"] is not None:
            result["switch_ms"] = apply(params["socket"], weight_commands(params, params["weight"]), params["state_file"])
            result["changed"] = True

        # Watch; a clear failure ends the window early, a pass needs the whole hold. The
        # early check looks every second, so it asks for much stronger evidence.
        early = replace(thresholds, significance=thresholds.significance / EARLY_STOP_STRICTNESS)
        verdict = window.verdict(early)
        while verdict.outcome != FAIL and time.monotonic() - opened < params["hold"]:
            time.sleep(min(1.0, max(0.0, params["hold"] - (time.monotonic() - opened))))
            verdict = window.verdict(early)
        if verdict.outcome != FAIL:
            verdict = window.verdict(thresholds)

        if verdict.outcome == INCONCLUSIVE:
            missing = params["min_requests"] - verdict.canary.requests
            # Twice what is missing: a share of them may still go to the old colors.
            result["synthetic_requests"] = synthetic_requests(
                params["synthetic_url"], params["synthetic_paths"], 2 * missing,
                deadline=time.monotonic() + max(10.0, params["hold"]))
            verdict = window.verdict(thresholds)
            if verdict.outcome == INCONCLUSIVE:
                verdict = type(verdict)(FAIL, verdict.reason + " (even after synthetic requests)",
                                        verdict.canary, verdict.baseline)

        result["verdict"] = verdict.as_dict()
        result["seconds"] = round(time.monotonic() - opened, 1)
        if verdict.outcome == FAIL:
            if params["rollback"] and params["old_colors"]:
                decided = time.monotonic()
                apply(params["socket"], rollback_commands(params), params["state_file"])
                result["rollback_ms"] = round((time.monotonic() - decided) * 1000, 2)
                result["rolled_back"] = result["changed"] = True
            action = (f"all traffic is back on {', '.join(params['old_colors'])} "
                      f"({result['rollback_ms']} ms after the decision)" if result["rolled_back"]
                      else "traffic was not moved")
            module.fail_json(msg=f"the new release is worse: {verdict.reason}; {action}", **result)
    except HAProxyError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
