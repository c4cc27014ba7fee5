#!/usr/bin/python
"""Read and set HAProxy server weights through the runtime API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: greenlight_haproxy
short_description: Read and set HAProxy server weights through the runtime API
description:
  - Reads the state of every server (weight, health, counters) from HAProxy's admin socket.
  - When O(weights) is given, sends all needed C(set weight) commands in one connection,
    so traffic moves between colors in a single step, with no reload and no dropped
    connection.
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
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.haproxy_runtime import HAProxyError, read_servers, send, weight_commands


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path", "required": True},
            "weights": {"type": "dict", "required": False},
        },
        supports_check_mode=True,
    )
    socket_path = module.params["socket"]
    try:
        servers = read_servers(socket_path)
        commands = weight_commands(servers, module.params["weights"] or {})
        if commands and not module.check_mode:
            answer = send(socket_path, commands).strip()
            if answer:
                module.fail_json(msg=f"HAProxy refused {commands}: {answer}", commands=commands)
            servers = read_servers(socket_path)
    except HAProxyError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(commands), servers=servers, commands=commands)


if __name__ == "__main__":
    main()
