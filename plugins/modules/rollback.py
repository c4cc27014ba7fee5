#!/usr/bin/python
"""Instant rollback in one call: decide, switch back to the warm old color, record it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rollback
short_description: Move all traffic back to the warm old color in one call, and record it
description:
  - >-
      First puts the environment back on its recorded release (plugins/module_utils/recovery.py, as
      every deploy does). When that moved the traffic of an interrupted deploy back, the
      environment is back on the release that was live before it: that is the rollback
      (C(mode) recovered).
  - >-
      Otherwise reads the history, the containers (Docker API) and HAProxy's servers, and
      decides with plugins/module_utils/rollback_plan.py whether the old color is warm with the
      previous release. When it is, moves all traffic there in one runtime-API connection and
      persists it (plugins/module_utils/traffic.py), and records the rollback (plugins/module_utils/history.py).
  - >-
      When it is not, changes nothing more and fails with C(greenlight_error) not_warm (and
      the release to redeploy), nothing_to_roll_back, or failed.
  - >-
      It is one module, not a play of many tasks, so that C(greenlight rollback) returns in
      seconds: every Ansible task costs a round trip to the host. So it takes and releases the
      environment's deploy lock itself; its action plugin (on the controller) names the holder
      and takes a gone holder's lock over, as greenlight.deploy.lock's does.
options:
  env: {description: "The environment's name (for messages and the record).", type: str, required: true}
  proxy: {description: "How to drive the proxy (the proxy role's C(proxy_runtime)).", type: dict, required: true}
  configs: {description: "haproxy.cfg rendered for each stable state (the proxy role's C(proxy_configs)).", type: list, elements: dict, required: true}
  history: {description: "The environment's history file.", type: path, required: true}
  labels: {description: "Labels every container of the environment carries (greenlight_labels).", type: dict, required: true}
  docker_socket: {description: "The Docker engine's socket on the host.", type: path, default: /var/run/docker.sock}
  lock: {description: "The deploy lock: path, purpose (the action plugin adds holder and takeover).", type: dict, required: true}
  wait: {description: "Seconds to wait for another run's lock (handled by the action plugin).", type: float, default: 0}
  actor: {description: "Who asked for the rollback.", type: str, default: unknown}
  version: {description: "The release to go back to (a version as deployed, or a commit); empty: the previous one.", type: str, default: ""}
  restore_pending:
    description: The file of a restore under way (greenlight_restore_pending_file); when recovery finds one, the rollback stops and says so.
    type: path
    default: ""
author: greenlight
"""

EXAMPLES = r"""
- name: Roll production back to its previous release
  greenlight.deploy.rollback:
    env: production
    proxy: "{{ proxy_runtime }}"
    configs: "{{ proxy_configs }}"
    history: /var/lib/greenlight/shop-production/history.jsonl
    labels: {greenlight.app: shop, greenlight.env: production}
"""

RETURN = r"""
mode: {description: "instant after a switch, recovered when undoing an interrupted deploy was the rollback; otherwise redeploy, nothing or ambiguous.", returned: always, type: str}
from_version: {description: "The release that was live (or being deployed, when recovered).", returned: always, type: str}
to_version: {description: "The release rolled back to (or to redeploy).", returned: always, type: str}
to_commit: {description: "Its commit.", returned: always, type: str}
color: {description: "The color now live.", returned: when mode is instant or recovered, type: str}
switch_ms: {description: "Milliseconds HAProxy took to move the traffic.", returned: when mode is instant, type: float}
recovered: {description: "What recovery did first, one line each.", returned: always, type: list}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.rollback import roll_back
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import CONFIGS_SPEC, PROXY_SPEC, Proxy


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "env": {"type": "str", "required": True},
            "proxy": PROXY_SPEC,
            "configs": {**CONFIGS_SPEC, "required": True, "default": None},
            "history": {"type": "path", "required": True},
            "labels": {"type": "dict", "required": True},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
            "lock": {"type": "dict", "required": True},
            "actor": {"type": "str", "default": "unknown"},
            "version": {"type": "str", "default": ""},
            "restore_pending": {"type": "path", "default": ""},
        },
        supports_check_mode=False,
    )
    p = module.params
    result = roll_back(p["env"], Proxy.from_params(p["proxy"]), p["configs"], p["history"], p["labels"],
                       p["docker_socket"], p["lock"], p["actor"], p["version"], p["restore_pending"])
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
