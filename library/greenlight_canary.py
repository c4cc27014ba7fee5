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
    connection (weights, preview and stickiness together, module_utils/traffic.py) and
    reports how long that took after the decision, then fails with the verdict's reason and
    numbers. Neither a step nor its rollback is persisted: the files a restarted proxy reads
    keep the recorded release until the deploy records the new one.
options:
  proxy:
    description: How to drive the proxy (the proxy role's C(proxy_runtime)).
    type: dict
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
  weight:
    description: Percent of the traffic for the new colors during this step; omit to keep the weights (a watch window).
    type: int
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
  lock:
    description: "The run's deploy lock ({path, token}): the window stops, touching nothing, when another run took it over."
    type: dict
    default: {}
author: greenlight
"""

EXAMPLES = r"""
- name: "Canary step 5%: judge green against blue for 20 s"
  greenlight_canary:
    proxy: "{{ proxy_runtime }}"
    new_colors: [green]
    old_colors: [blue]
    weight: 5
    hold: 20
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
import urllib.request
from dataclasses import replace
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.canary_judge import FAIL, INCONCLUSIVE, Sample, Thresholds, judge
from ansible.module_utils.deploy_lock import holds
from ansible.module_utils.haproxy_runtime import HAProxyError, color_totals, read_servers
from ansible.module_utils.traffic import PROXY_SPEC, Proxy, canary, stable, switch

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SYNTHETIC_TIMEOUT_S = 5.0
EARLY_STOP_STRICTNESS = 20


class LostLock(Exception):
    """Another run took the environment's lock over: this one must not touch anything."""


class Window:
    """Counters of the new and old colors since the window opened."""

    def __init__(self, proxy: Proxy, params: dict) -> None:
        self.proxy = proxy
        self.params = params
        self.users = [pool.name for pool in proxy.pools]
        self.counted = self.users + [pool.preview for pool in proxy.pools]
        self.start = read_servers(proxy.socket)

    def sample(self, colors: list[str], servers: dict) -> Sample:
        before = color_totals(self.start, colors, self.counted)
        now = color_totals(servers, colors, self.counted)
        live = [servers.get(backend, {}).get(color, {}) for backend in self.users for color in colors]
        # HAProxy's rtime: mean response time of the server's last 1024 requests.
        times = [server.get("rtime", 0) for server in live if isinstance(server.get("rtime"), int)]
        healthy = bool(live) and all(server.get("status") in ("UP", "DRAIN") for server in live)
        return Sample(requests=now["requests"] - before["requests"],
                      errors=now["errors"] - before["errors"],
                      response_ms=float(max(times, default=0)),
                      healthy=healthy)

    def verdict(self, thresholds: Thresholds):
        lock = self.params["lock"]
        if lock and not holds(lock["path"], lock["token"]):
            raise LostLock(f"another run took the deploy lock {lock['path']} over; this window stops and touches nothing")
        servers = read_servers(self.proxy.socket)
        canary_sample = self.sample(self.params["new_colors"], servers)
        baseline = self.sample(self.params["old_colors"], servers) if self.params["old_colors"] else Sample(0, 0, 0.0)
        return judge(canary_sample, baseline, thresholds)


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
            "proxy": PROXY_SPEC,
            "new_colors": {"type": "list", "elements": "str", "required": True},
            "old_colors": {"type": "list", "elements": "str", "default": []},
            "weight": {"type": "int", "required": False},
            "hold": {"type": "float", "default": 20},
            "synthetic_url": {"type": "str", "required": True},
            "synthetic_paths": {"type": "list", "elements": "str", "default": ["/api/items", "/api/version", "/health"]},
            "min_requests": {"type": "int", "default": 50},
            "error_margin": {"type": "float", "default": 0.01},
            "significance": {"type": "float", "default": 0.05},
            "latency_ratio": {"type": "float", "default": 2.0},
            "latency_floor_ms": {"type": "float", "default": 100},
            "rollback": {"type": "bool", "default": True},
            "lock": {"type": "dict", "default": {}},
        },
        supports_check_mode=False,
    )
    params = module.params
    proxy = Proxy.from_params(params["proxy"])
    if params["weight"] is not None and not (len(params["new_colors"]) == 1 and len(params["old_colors"]) == 1):
        module.fail_json(msg="a canary step moves traffic from one old color to one new color")
    if urlsplit(params["synthetic_url"]).hostname not in LOOPBACK_HOSTS:
        module.fail_json(msg=f"synthetic requests go to loopback only, not {params['synthetic_url']}")
    thresholds = Thresholds(min_requests=params["min_requests"], error_margin=params["error_margin"],
                            significance=params["significance"], latency_ratio=params["latency_ratio"],
                            latency_floor_ms=params["latency_floor_ms"])
    result = {"changed": False, "rolled_back": False, "switch_ms": 0.0, "synthetic_requests": 0}
    opened = time.monotonic()
    try:
        window = Window(proxy, params)
        if params["weight"] is not None:
            step = canary(proxy.colors, params["new_colors"][0], params["old_colors"][0], params["weight"])
            result["switch_ms"] = switch(proxy, step)
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
                switch(proxy, stable(proxy.colors, params["old_colors"][0], params["old_colors"]))
                result["rollback_ms"] = round((time.monotonic() - decided) * 1000, 2)
                result["rolled_back"] = result["changed"] = True
            action = (f"all traffic is back on {', '.join(params['old_colors'])} "
                      f"({result['rollback_ms']} ms after the decision)" if result["rolled_back"]
                      else "traffic was not moved")
            module.fail_json(msg=f"the new release is worse: {verdict.reason}; {action}", **result)
    except LostLock as exc:
        module.fail_json(msg=str(exc), greenlight_error="locked", **result)
    except (HAProxyError, ValueError) as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
