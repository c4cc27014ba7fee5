#!/usr/bin/python
"""Read and set HAProxy server weights (and map entries) through the runtime API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: greenlight_haproxy
short_description: Read and set HAProxy server weights and map entries through the runtime API
description:
  - Reads the state of every server (weight, health, counters) from HAProxy's admin socket.
  - When O(weights) or O(maps) is given, sends all needed C(set weight) and C(set map)
    commands in one connection, so traffic moves between colors in a single step, with no
    reload and no dropped connection.
  - The weights set at runtime are not written to the configuration; the proxy role
    renders the live color into haproxy.cfg so a restart keeps it.
options:
  socket:
    description: Path of HAProxy's admin socket on the host.
    type: path
    required: true
  weights:
    description: Wanted weight per backend and server, for example C({api: {blue: 0, green: 100}}).
    type: dict
    required: false
  saved_colors_file:
    description:
      - The file where the last switch saved the serving colors, live first; breaks a tie of
        weights (rolling: both colors serve) in RV(live_color).
    type: path
    required: false
  state_file:
    description: After a change, save HAProxy's server state here (on the host), for the proxy's next start.
    type: path
    required: false
  maps:
    description:
      - Wanted value per map file (its path inside the proxy) and key, for example
        C({/usr/local/etc/haproxy/sticky.map: {canary: "off"}}). Every key must exist in the map.
    type: dict
    required: false
author: greenlight
"""

EXAMPLES = r"""
- name: Move all traffic to green
  greenlight_haproxy:
    socket: /var/lib/greenlight/warehouse-production/proxy/run/admin.sock
    weights:
      api: {blue: 0, green: 100}
      web: {blue: 0, green: 100}
"""

RETURN = r"""
servers:
  description: Per backend and server, weight, admin_state, addr, status, check_status and counters, after the change.
  returned: always
  type: dict
commands:
  description: The runtime commands sent (or that would be sent in check mode).
  returned: always
  type: list
live_color:
  description: The color with the largest share of the traffic (on a tie, the saved live color); empty when none has any.
  returned: always
  type: str
serving_colors:
  description: The colors that take traffic, the largest share first.
  returned: always
  type: list
elapsed_ms:
  description: How long HAProxy took to apply the commands, in milliseconds (0 when none were sent).
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
import os
import time

from ansible.module_utils.haproxy_runtime import (HAProxyError, live_color, map_commands, read_servers, save_state,
                                                   send, serving_colors, weight_commands)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path", "required": True},
            "weights": {"type": "dict", "required": False},
            "maps": {"type": "dict", "required": False},
            "state_file": {"type": "path", "required": False},
            "saved_colors_file": {"type": "path", "required": False},
        },
        supports_check_mode=True,
    )
    socket_path = module.params["socket"]
    elapsed_ms = 0.0
    try:
        servers = read_servers(socket_path)
        commands = weight_commands(servers, module.params["weights"] or {})
        commands += map_commands(socket_path, module.params["maps"] or {})
        if commands and not module.check_mode:
            started = time.monotonic()
            answer = send(socket_path, commands).strip()
            elapsed_ms = round((time.monotonic() - started) * 1000, 2)
            if answer:
                module.fail_json(msg=f"HAProxy refused {commands}: {answer}", commands=commands)
            if module.params["state_file"]:
                save_state(socket_path, module.params["state_file"])
            servers = read_servers(socket_path)
    except HAProxyError as exc:
        module.fail_json(msg=str(exc))
    saved = []
    if module.params["saved_colors_file"] and os.path.exists(module.params["saved_colors_file"]):
        with open(module.params["saved_colors_file"]) as stream:
            saved = stream.read().split()
    module.exit_json(changed=bool(commands), servers=servers, commands=commands, elapsed_ms=elapsed_ms,
                     live_color=live_color(servers, saved), serving_colors=serving_colors(servers))


if __name__ == "__main__":
    main()
