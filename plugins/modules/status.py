#!/usr/bin/python
"""The state of one environment in one call, changing nothing (plugins/module_utils/status.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: status
short_description: Report an environment's live and idle colors, health, containers, history and alerts
description:
  - >-
      Reads the proxy (HAProxy's runtime API), the colors' containers (Docker's API), the
      history and the host's Prometheus; changes nothing (safe in check mode).
  - >-
      The deploy lock is read by the caller where its holder can be judged (M(greenlight.deploy.lock),
      on the controller); with O(lock) set, here.
options:
  app: {description: "The app.", type: str, required: true}
  env: {description: "The environment.", type: str, required: true}
  proxy: {description: "How to drive the proxy (the proxy role's C(proxy_runtime)).", type: dict, required: true}
  history: {description: "The environment's history file.", type: path, required: true}
  lock: {description: "The deploy lock, judged here; empty: not read.", type: path, default: ""}
  docker_socket: {description: "The Docker engine's socket.", type: path, default: /var/run/docker.sock}
  prometheus_url: {description: "The host's Prometheus.", type: str, default: "http://127.0.0.1:9090"}
  limit: {description: "Newest history records reported (0: all).", type: int, default: 20}
author: greenlight
"""

EXAMPLES = r"""
- name: Report the environment's state
  greenlight.deploy.status:
    app: shop
    env: production
    proxy: "{{ proxy_runtime }}"
    history: /var/lib/greenlight/shop-production/history.jsonl
"""

RETURN = r"""
status: {description: "The report (plugins/module_utils/status.py says its shape).", returned: always, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.status import report
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import PROXY_SPEC, Proxy


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "env": {"type": "str", "required": True},
            "proxy": PROXY_SPEC,
            "history": {"type": "path", "required": True},
            "lock": {"type": "path", "default": ""},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
            "prometheus_url": {"type": "str", "default": "http://127.0.0.1:9090"},
            "limit": {"type": "int", "default": 20},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        found = report(p["app"], p["env"], Proxy.from_params(p["proxy"]), p["history"], p["lock"], p["docker_socket"],
                       p["prometheus_url"], p["limit"])
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot read the state of {p['env']}: {exc}")
    module.exit_json(changed=False, status=found)


if __name__ == "__main__":
    main()
