#!/usr/bin/python
"""A color healthy in HAProxy and passing its smoke checks, in one call (plugins/module_utils/health.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: health
short_description: Wait until HAProxy finds a color healthy, then smoke-test it through the preview port
description:
  - >-
      Asks HAProxy every 0.1 s until every pool's server of O(color) is UP (at most O(timeout)
      seconds), then sends each of O(checks) to O(preview_url). Fails saying what HAProxy
      reported, or which check answered what. Changes nothing.
options:
  socket: {description: "HAProxy's admin socket.", type: path, required: true}
  pools: {description: "The pools whose server of the color must be UP.", type: list, elements: str, required: true}
  color: {description: "The color.", type: str, required: true}
  timeout: {description: "Seconds the color has to get healthy.", type: float, default: 60}
  preview_url: {description: "The preview port's URL (http://127.0.0.1:PORT).", type: str, required: true}
  checks: {description: "Requests to send: path, status (default 200).", type: list, elements: dict, default: []}
author: greenlight
"""

EXAMPLES = r"""
- name: Check the new release's health
  greenlight.deploy.health:
    socket: /var/lib/greenlight/shop-production/proxy/run/admin.sock
    pools: [api, web]
    color: green
    preview_url: http://127.0.0.1:9080
    checks: [{path: /up}]
"""

RETURN = r"""
servers: {description: "HAProxy's state of the color's server in each pool.", returned: success, type: dict}
checks: {description: "Each smoke check and its status.", returned: success, type: list}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.health import Unhealthy, smoke, wait_up


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path", "required": True},
            "pools": {"type": "list", "elements": "str", "required": True},
            "color": {"type": "str", "required": True},
            "timeout": {"type": "float", "default": 60},
            "preview_url": {"type": "str", "required": True},
            "checks": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        servers = wait_up(p["socket"], p["pools"], p["color"], p["timeout"])
        checks = smoke(p["preview_url"], p["checks"])
    except Unhealthy as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, servers=servers, checks=checks)


if __name__ == "__main__":
    main()
