#!/usr/bin/python
"""Read where the proxy sends the users' traffic, or move it (plugins/module_utils/traffic.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: traffic
short_description: Read or move an environment's traffic between colors through HAProxy's runtime API
description:
  - >-
      Without O(live) or O(weights), reads every server's weight, health and counters, and
      which colors take traffic (safe in check mode).
  - >-
      With O(live), moves everybody to that color (and the other O(serving) colors, both after
      a rolling deploy) in one runtime-API connection, stickiness off, the preview on the idle
      color; with O(configs), also writes what a restarted proxy reads (server state,
      live-color file, haproxy.cfg): do that only for a state the history records.
  - >-
      With O(weights), sets each color's weight in the users' pools and the O(preview) color,
      at runtime only (a rolling deploy's drain); never persisted.
options:
  proxy:
    description: How to drive the proxy (the proxy role's C(proxy_runtime)).
    type: dict
    required: true
  configs:
    description: haproxy.cfg rendered for each stable state (the proxy role's C(proxy_configs)); given, the state is persisted.
    type: list
    elements: dict
    default: []
  live:
    description: The color everybody goes to.
    type: str
  serving:
    description: Other colors that keep a full share (rolling).
    type: list
    elements: str
    default: []
  weights:
    description: Weight per color in the users' pools (every color).
    type: dict
  preview:
    description: With O(weights), the color the preview port shows.
    type: str
  maintenance:
    description: >-
      Turn the maintenance page (503 with Retry-After, for every user) on or off, in the
      running proxy and in the map a restarted proxy reads; a restore turns it on while it
      replaces the database. Leaves the traffic between colors as it is.
    type: bool
  container:
    description: The proxy's container; given, a proxy that is not running is an answer, not an error.
    type: str
  docker_socket:
    description: The Docker engine's socket (with O(container)).
    type: path
    default: /var/run/docker.sock
  drain:
    description: >-
      With O(maintenance) true, wait at most this many seconds for the requests already in
      flight to be answered, and fail when some still are (0: do not wait).
    type: float
    default: 0
author: greenlight
"""

EXAMPLES = r"""
- name: Move all traffic to green, and persist it
  greenlight.deploy.traffic:
    proxy: "{{ proxy_runtime }}"
    configs: "{{ proxy_configs }}"
    live: green
"""

RETURN = r"""
running: {description: "Whether the proxy's container runs (true when O(container) is not given).", returned: always, type: bool}
servers: {description: "Per backend and server: weight, status, check_status and counters, after any change.", returned: when running, type: dict}
live_color: {description: "The color with the largest share (on a tie the saved live color); empty when none has any.", returned: when running, type: str}
serving_colors: {description: "The colors that take traffic, the largest share first.", returned: when running, type: list}
sticky: {description: "Whether canary stickiness is on.", returned: when running, type: bool}
maintenance: {description: "Whether the maintenance page is on.", returned: when running, type: bool}
elapsed_ms: {description: "HAProxy's time to apply the change (0 when nothing was sent).", returned: when running, type: float}
"""

from ansible_collections.greenlight.deploy.plugins.module_utils import docker_api
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, live_color, serving_colors
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import (CONFIGS_SPEC, PROXY_SPEC, Proxy, Traffic, config_for, matches,
                                          observe, persist, persisted_matches, saved_colors, set_maintenance, stable,
                                          switch)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "proxy": PROXY_SPEC,
            "configs": CONFIGS_SPEC,
            "live": {"type": "str"},
            "serving": {"type": "list", "elements": "str", "default": []},
            "weights": {"type": "dict"},
            "preview": {"type": "str"},
            "maintenance": {"type": "bool"},
            "drain": {"type": "float", "default": 0},
            "container": {"type": "str"},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
        },
        # A proxy that is not running answers only a read: a move must fail, never pass unnoticed.
        mutually_exclusive=[("live", "weights", "maintenance"), ("container", "live"), ("container", "weights"),
                            ("container", "maintenance")],
        required_by={"preview": "weights"},
        supports_check_mode=True,
    )
    params = module.params
    proxy = Proxy.from_params(params["proxy"])
    elapsed_ms, changed = 0.0, False
    if params["container"]:
        try:
            found = docker_api.inspect_container(params["docker_socket"], params["container"])
        except docker_api.DockerError as exc:
            module.fail_json(msg=f"cannot read the proxy's container {params['container']}: {exc}")
        if not ((found or {}).get("State") or {}).get("Running"):
            module.exit_json(changed=False, running=False)
    try:
        wanted = None
        if params["live"]:
            wanted = stable(proxy.colors, params["live"], params["serving"])
        elif params["weights"] is not None:
            weights = {color: int(weight) for color, weight in params["weights"].items()}
            if set(weights) != set(proxy.colors) or not all(0 <= w <= 256 for w in weights.values()):
                module.fail_json(msg=f"weights must give every color ({', '.join(proxy.colors)}) a weight from 0 to 256")
            wanted = Traffic(max(weights, key=weights.get), weights, params["preview"] or "", False)
        if params["maintenance"] is not None:
            if module.check_mode:
                changed = observe(proxy).maintenance != params["maintenance"]
            else:
                changed = set_maintenance(proxy, params["maintenance"], params["drain"])
        observed = observe(proxy)
        if wanted is not None:
            configs = params["configs"] or None
            config = config_for(configs, wanted) if configs else None
            if not matches(proxy, wanted, observed):
                changed = True
                if not module.check_mode:
                    elapsed_ms = switch(proxy, wanted, configs)
            elif config is not None and not persisted_matches(proxy, wanted, config):
                changed = True
                if not module.check_mode:
                    persist(proxy, wanted, config)
            if changed and not module.check_mode:
                observed = observe(proxy)
    except (HAProxyError, ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    servers = observed.servers
    first = proxy.pools[0].name
    module.exit_json(changed=changed, running=True, servers=servers, elapsed_ms=elapsed_ms, sticky=observed.sticky,
                     maintenance=observed.maintenance,
                     live_color=live_color(servers, saved_colors(proxy), first),
                     serving_colors=serving_colors(servers, first))


if __name__ == "__main__":
    main()
