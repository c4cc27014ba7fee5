#!/usr/bin/python
"""Record the live release's profile (errors, latency per route) before any traffic moves."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: baseline
short_description: Record what the live release does for users, for the canary judge to compare the new one with
description:
  - >-
      Reads the requests of the last O(seconds) that HAProxy's C(judge) ring buffer still holds
      (plugins/module_utils/request_log.py) and keeps those the colors now serving users answered, but
      none from before the newest record of O(history); a rolling deploy reuses the slots' names,
      and a release rolled back minutes ago must not be part of the baseline it is judged by.
  - >-
      For each of O(synthetic_paths) with fewer than O(per_route) answers among them, sends
      synthetic GETs to O(synthetic_url) (the live release, loopback only) until it has them,
      so the routes the judge's synthetic requests use later have a baseline too.
  - >-
      Returns the profile (plugins/module_utils/canary_judge.py Sample, compact) for greenlight.deploy.canary's
      C(baseline): after the switch the old release answers nothing, and the watch window
      compares the new release with this.
  - >-
      Changes nothing; a first deploy (nothing serving) returns an empty profile.
options:
  proxy: {description: "How to drive the proxy (the proxy role's C(proxy_runtime)).", type: dict, required: true}
  seconds: {description: "How far back live requests count.", type: float, default: 300}
  history: {description: "The environment's history; live requests count only from its newest record's end.", type: str, required: false}
  synthetic_url: {description: "Base URL on 127.0.0.1 that reaches the live release.", type: str, required: true}
  synthetic_paths: {description: "Paths the judge's synthetic GETs use (deploy_judge_synthetic_paths).", type: list, elements: str, required: true}
  per_route: {description: "Answers wanted for each synthetic path.", type: int, default: 30}
author: greenlight
"""

EXAMPLES = r"""
- name: Record the live release's profile
  greenlight.deploy.baseline:
    proxy: "{{ proxy_runtime }}"
    synthetic_url: http://127.0.0.1:5000
  register: deploy_baseline
"""

RETURN = r"""
baseline: {description: "The profile: requests, errors, client_errors, latencies per route (ms, sorted).", returned: always, type: dict}
summary: {description: "requests, errors, p50/p95/p99 in ms.", returned: always, type: dict}
colors: {description: "The colors that served users.", returned: always, type: list}
synthetic_requests: {description: "Synthetic GETs sent.", returned: always, type: int}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.canary_judge import Sample
from ansible_collections.greenlight.deploy.plugins.module_utils.history import epoch
from ansible_collections.greenlight.deploy.plugins.module_utils.history import read as read_history
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, read_servers, serving_colors
from ansible_collections.greenlight.deploy.plugins.module_utils.request_log import Stream, recent, route
from ansible_collections.greenlight.deploy.plugins.module_utils.synthetic import Probe
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import PROXY_SPEC, Proxy


def last_change(history_path: str) -> float:
    """When the newest record of the history ended (epoch seconds; 0 when none): what serves now served since."""
    records = read_history(history_path, limit=1).records
    return epoch(records[-1].get("ended") or records[-1].get("started") or "") if records else 0.0


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "proxy": PROXY_SPEC,
            "seconds": {"type": "float", "default": 300},
            "history": {"type": "str", "required": False},
            "synthetic_url": {"type": "str", "required": True},
            "synthetic_paths": {"type": "list", "elements": "str", "required": True},
            "per_route": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        probe = Probe(params["synthetic_url"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    proxy = Proxy.from_params(params["proxy"])
    users = {pool.name for pool in proxy.pools}
    try:
        servers = read_servers(proxy.socket)
        colors = set(serving_colors(servers, proxy.pools[0].name))
        if not colors:
            module.exit_json(changed=False, baseline=Sample().as_data(), summary=Sample().summary(),
                             colors=[], synthetic_requests=0)
        stream = Stream(proxy.socket)
        since = last_change(params["history"]) if params["history"] else 0.0
        requests = [r for r in recent(proxy.socket, params["seconds"])
                    if r.server in colors and r.backend in users and r.at >= since]
        have = Sample.of(requests).latencies
        for path in params["synthetic_paths"]:
            for _ in range(max(0, params["per_route"] - len(have.get(route("GET", path), [])))):
                probe.get(path)  # HAProxy logs the answer; it counts like any other
        probe.close()
        sent = probe.sent
        if sent:  # HAProxy logs a request as it ends: the last answers are logged within moments
            requests += [r for r in stream.read(0.5) if r.server in colors and r.backend in users]
        stream.close()
    except HAProxyError as exc:
        module.fail_json(msg=str(exc))
    sample = Sample.of(requests)
    module.exit_json(changed=False, baseline=sample.as_data(), summary=sample.summary(),
                     colors=sorted(colors), synthetic_requests=sent)


if __name__ == "__main__":
    main()
