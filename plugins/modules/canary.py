#!/usr/bin/python
"""One canary step or watch window: move traffic, watch the releases, judge, roll back if worse."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: canary
short_description: Judge a new release against the old one from each request HAProxy logged, and roll back when it is worse
description:
  - >-
      Optionally sets the new color's share of the traffic (O(weight) percent; the old color
      gets the rest) and turns cookie stickiness on while both colors take traffic.
  - >-
      Reads every request of the window from HAProxy's C(judge) ring buffer as it is logged
      (plugins/module_utils/request_log.py), and the servers' health every second.
  - >-
      Judges the new release with the canary judge (plugins/module_utils/canary_judge.py) against the
      old color over the same window where it answered enough requests (live ones, and the
      control GETs below), else against O(baseline), the old release's profile recorded
      before any traffic moved.
      Errors (5xx, broken connections), p95 latency per route and health are judged; a
      failure seen during the hold ends it at once.
  - >-
      The hold adapts to traffic: it lasts at least O(hold) seconds and is extended, up to
      O(max_hold), until the window holds enough requests to catch a release failing
      C(detect_rate) more requests with probability C(power) (both in O(thresholds)). When live traffic is too thin
      to get there in time, synthetic GETs go to O(synthetic_url) (the new release alone,
      loopback only), paced to reach that count by the end of the hold. With O(control_url)
      and an old color, each is followed by the same GET to the old color (named with the
      X-Greenlight-Color header), so the routes the synthetic GETs test are compared at the
      same moment, not with a baseline taken before (a host busier now than then would make
      a good release look slow).
  - >-
      On failure with O(rollback), moves all traffic back to the old color in one runtime API
      connection (weights, preview and stickiness together, plugins/module_utils/traffic.py) and
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
    description: Colors that run the old release (compared over the same window, and the rollback target); may be empty.
    type: list
    elements: str
    default: []
  baseline:
    description: The old release's profile recorded before traffic moved (greenlight.deploy.baseline's C(baseline)); may be empty.
    type: dict
    default: {}
  weight:
    description: Percent of the traffic for the new colors during this step; omit to keep the weights (a watch window).
    type: int
  hold:
    description: Seconds to watch, at least.
    type: float
    default: 20
  max_hold:
    description: Seconds the hold may be extended to, waiting for enough requests; below O(hold) means O(hold).
    type: float
    default: 0
  synthetic_url:
    description: Base URL on 127.0.0.1 that reaches the new colors, for synthetic requests.
    type: str
    required: true
  control_url:
    description: Where the control GETs go (the preview port, which honours X-Greenlight-Color); empty for none.
    type: str
    default: ""
  synthetic_paths:
    description: Paths requested by synthetic GETs, in turn (deploy_judge_synthetic_paths).
    type: list
    elements: str
    required: true
  thresholds:
    description: The judge's settings (plugins/module_utils/canary_judge.py Thresholds; docs/strategies.md); unset ones keep their defaults.
    type: dict
    default: {}
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
  greenlight.deploy.canary:
    proxy: "{{ proxy_runtime }}"
    new_colors: [green]
    old_colors: [blue]
    baseline: "{{ deploy_baseline.baseline }}"
    weight: 5
    hold: 20
    max_hold: 120
    synthetic_url: http://127.0.0.1:9080
"""

RETURN = r"""
verdict:
  description: outcome (pass or fail), reason, evidence (requests, needed, power) and both sides' numbers.
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
  description: Synthetic requests sent to the new release because live traffic was thin.
  returned: always
  type: int
control_requests:
  description: The same requests sent to the old color at the same moment.
  returned: always
  type: int
seconds:
  description: How long the window lasted.
  returned: always
  type: float
"""

import threading
import time
from dataclasses import fields, replace

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.canary_judge import FAIL, INCONCLUSIVE, Sample, Thresholds, Verdict, evidence, is_up, judge
from ansible_collections.greenlight.deploy.plugins.module_utils.deploy_lock import holds
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, read_servers
from ansible_collections.greenlight.deploy.plugins.module_utils.request_log import Stream
from ansible_collections.greenlight.deploy.plugins.module_utils.synthetic import Probe
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import PROXY_SPEC, Proxy, Traffic, canary, matches, observe, stable, switch

EARLY_STOP_STRICTNESS = 20
TICK_S = 0.5
# How long the proxy may be away (restarting) before the window gives up.
PROXY_AWAY_S = 30.0


class LostLock(Exception):
    """Another run took the environment's lock over: this one must not touch anything."""


def reference(concurrent: Sample, baseline: Sample, thresholds: Thresholds) -> Sample:
    """What the new release is compared with: the old color over the same window where it
    answered enough (same moment, same load), the recorded baseline elsewhere (its routes
    marked `recorded_before`: judged across time, with the wider ratio)."""
    counts = concurrent if concurrent.requests >= thresholds.min_requests else baseline
    now = {route: times for route, times in concurrent.latencies.items()
           if len(times) >= thresholds.latency_min_requests}
    latencies = {**baseline.latencies, **now}
    return Sample(counts.requests, counts.errors, counts.client_errors, latencies,
                  recorded_before=frozenset(set(baseline.latencies) - set(now)))


class Window:
    """Every request of the new and old colors since the window opened, under `traffic`.

    A proxy that restarts in the middle comes back with the last persisted state (the old
    release's, until the deploy records the new one): the window puts its traffic back, or
    the new release would be judged on no users (or, after the switch, on the old color's
    answers to its synthetic requests).
    """

    def __init__(self, proxy: Proxy, params: dict, traffic: Traffic) -> None:
        self.proxy = proxy
        self.params = params
        self.traffic = traffic
        self.restored = 0
        self.checked = 0  # the stream's reconnects whose traffic was checked
        self.baseline = Sample.from_data(params["baseline"])
        self.users = {pool.name for pool in proxy.pools}
        self.counted = self.users | {pool.preview for pool in proxy.pools}
        self.stream = Stream(proxy.socket)
        self.requests: list = []
        self.last_health, self.health_read = "UP", time.monotonic()

    def collect(self, seconds: float) -> None:
        self.requests.extend(self.stream.read(seconds))
        if self.stream.reconnects != self.checked:
            try:
                if not matches(self.proxy, self.traffic, observe(self.proxy)):
                    switch(self.proxy, self.traffic)
                    self.restored += 1
                self.checked = self.stream.reconnects
            except HAProxyError:
                pass  # not up yet: next tick (health() gives up after PROXY_AWAY_S)

    def health(self) -> str:
        """HAProxy's state of the new colors' servers in the users' pools: the first not up, else "UP".

        While the proxy restarts its socket is gone for a moment: the last state read stands,
        for up to PROXY_AWAY_S, so a restart does not fail a good release.
        """
        try:
            servers = read_servers(self.proxy.socket)
        except HAProxyError:
            if time.monotonic() - self.health_read > PROXY_AWAY_S:
                raise
            return self.last_health
        states = [str(servers.get(backend, {}).get(color, {}).get("status", "missing"))
                  for backend in sorted(self.users) for color in self.params["new_colors"]]
        self.last_health = next((state for state in states if not is_up(state)), "UP")
        self.health_read = time.monotonic()
        return self.last_health

    def new_sample(self, health: str = "UP") -> Sample:
        colors = set(self.params["new_colors"])
        return Sample.of((r for r in self.requests if r.server in colors and r.backend in self.counted), health)

    def old_sample(self) -> Sample:
        """The old colors' requests of the window: live ones, and the control GETs through the preview."""
        old = set(self.params["old_colors"])
        return Sample.of(r for r in self.requests if r.server in old and r.backend in self.counted)

    def verdict(self, thresholds: Thresholds) -> Verdict:
        lock = self.params["lock"]
        if lock and not holds(lock["path"], lock["token"]):
            raise LostLock(f"another run took the deploy lock {lock['path']} over; this window stops and touches nothing")
        return judge(self.new_sample(self.health()), reference(self.old_sample(), self.baseline, thresholds), thresholds)


class Synthetic(threading.Thread):
    """Synthetic GETs to the new release (plugins/module_utils/synthetic.py), up to the count the watcher
    asks for, each followed by the same GET to the old color when there is a `control` probe."""

    def __init__(self, base_url: str, paths: list[str], control: Probe | None = None) -> None:
        super().__init__(daemon=True)
        self.probe = Probe(base_url)
        self.control = control
        self.paths = paths
        self.wanted = 0
        self.stopped = threading.Event()

    @property
    def sent(self) -> int:
        return self.probe.sent

    def run(self) -> None:
        while not self.stopped.is_set():
            if self.sent >= self.wanted:
                self.stopped.wait(TICK_S / 5)
                continue
            path = self.paths[self.sent % len(self.paths)]
            self.probe.get(path)
            if self.control is not None:
                self.control.get(path)
        self.probe.close()
        if self.control is not None:
            self.control.close()


def watch(window: Window, synthetic: Synthetic, params: dict, thresholds: Thresholds, opened: float) -> Verdict:
    """Hold, extend while evidence is short, send synthetic requests while live traffic is thin."""
    hold = params["hold"]
    max_hold = max(hold, params["max_hold"])
    # Early stops look every tick, so they ask for much stronger evidence, and leave latency
    # to the end of the hold, when each route has its full sample.
    early = replace(thresholds, significance=thresholds.significance / EARLY_STOP_STRICTNESS,
                    latency_percentiles=())
    while True:
        window.collect(TICK_S)
        verdict = window.verdict(early)
        if verdict.outcome == FAIL:
            return verdict
        elapsed = time.monotonic() - opened
        # The count the real test (not the stricter early one) needs for its power.
        needed = max(thresholds.min_requests, evidence(verdict.canary, verdict.baseline, thresholds)["needed"])
        have = verdict.canary.requests
        if elapsed >= hold and (have >= needed or elapsed >= max_hold):
            break
        # Where the count should be by now to reach `needed` by the end of the hold, if live
        # traffic keeps its pace; synthetic requests make up the difference. A new batch is
        # asked for only once the last one was answered (and so logged): no double count.
        live = max(0, have - synthetic.sent)
        projected = have + live / max(elapsed, TICK_S) * max(0.0, hold - elapsed)
        if projected < needed and synthetic.sent >= synthetic.wanted:
            target = needed * min(1.0, (elapsed + TICK_S) / hold) if hold > 0 else needed
            synthetic.wanted = synthetic.sent + max(0, int(target) - have)
    synthetic.stopped.set()
    window.collect(TICK_S)  # the answers to the last synthetic requests
    return window.verdict(thresholds)


def thresholds_from(settings: dict) -> Thresholds:
    """The judge's settings from the module's parameters, each converted to its field's type."""
    defaults = Thresholds()
    names = {f.name for f in fields(Thresholds)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise ValueError(f"unknown judge settings: {', '.join(unknown)}; known: {', '.join(sorted(names))}")

    def convert(name: str, value):
        default = getattr(defaults, name)
        if isinstance(default, tuple):
            return tuple(float(each) for each in (value if isinstance(value, (list, tuple)) else [value]))
        return type(default)(value)

    return replace(defaults, **{name: convert(name, value) for name, value in settings.items()})


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "proxy": PROXY_SPEC,
            "new_colors": {"type": "list", "elements": "str", "required": True},
            "old_colors": {"type": "list", "elements": "str", "default": []},
            "baseline": {"type": "dict", "default": {}},
            "weight": {"type": "int", "required": False},
            "hold": {"type": "float", "default": 20},
            "max_hold": {"type": "float", "default": 0},
            "synthetic_url": {"type": "str", "required": True},
            "synthetic_paths": {"type": "list", "elements": "str", "required": True},
            "control_url": {"type": "str", "default": ""},
            "thresholds": {"type": "dict", "default": {}},
            "rollback": {"type": "bool", "default": True},
            "lock": {"type": "dict", "default": {}},
        },
        supports_check_mode=False,
    )
    params = module.params
    proxy = Proxy.from_params(params["proxy"])
    if params["weight"] is not None and not (len(params["new_colors"]) == 1 and len(params["old_colors"]) == 1):
        module.fail_json(msg="a canary step moves traffic from one old color to one new color")
    try:
        old_color = next(iter(params["old_colors"]), "")
        control = Probe(params["control_url"], color=old_color) if params["control_url"] and old_color else None
        synthetic = Synthetic(params["synthetic_url"], params["synthetic_paths"], control)
    except ValueError as exc:
        module.fail_json(msg=str(exc), greenlight_error="usage")
    try:
        thresholds = thresholds_from(params["thresholds"])
    except (TypeError, ValueError) as exc:
        module.fail_json(msg=f"bad judge settings: {exc}", greenlight_error="usage")
    result = {"changed": False, "rolled_back": False, "switch_ms": 0.0, "synthetic_requests": 0, "control_requests": 0}
    opened = time.monotonic()
    try:
        if params["weight"] is not None:
            traffic = canary(proxy.colors, params["new_colors"][0], params["old_colors"][0], params["weight"])
        else:  # the watch window: the state the switch before it set
            traffic = stable(proxy.colors, params["new_colors"][0], params["new_colors"])
        window = Window(proxy, params, traffic)
        if params["weight"] is not None:
            result["switch_ms"] = switch(proxy, traffic)
            result["changed"] = True
        synthetic.start()
        verdict = watch(window, synthetic, params, thresholds, opened)
        if verdict.outcome == INCONCLUSIVE:
            verdict = Verdict(FAIL, verdict.reason + " (even with synthetic requests)",
                              verdict.canary, verdict.baseline, verdict.evidence)
        result["synthetic_requests"] = synthetic.sent
        result["control_requests"] = control.sent if control is not None else 0
        result["verdict"] = verdict.as_dict(max(thresholds.latency_percentiles))
        result["verdict"]["evidence"]["reconnects"] = window.stream.reconnects
        result["verdict"]["evidence"]["traffic_restored"] = window.restored
        result["seconds"] = round(time.monotonic() - opened, 1)
        window.stream.close()
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
    finally:
        synthetic.stopped.set()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
