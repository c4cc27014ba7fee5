#!/usr/bin/python
"""Put an environment back on the release its history says serves (plugins/module_utils/recovery.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: recover
short_description: Put an environment back on its recorded release, and record what was interrupted or failed
description:
  - >-
      Reads the environment's history (what serves), the running proxy and the environment's
      containers (Docker API), and decides with plugins/module_utils/recovery.py.
  - >-
      Moves the traffic back to the recorded serving colors in one runtime-API connection
      (undoing a split, stickiness left on, or traffic on a release no record put live) and
      writes what a restarted proxy reads; removes the containers of colors no record says
      serve or are warm, and one-off containers a run left (after they finish).
  - >-
      With O(interrupted) (the lock of a run found gone), records that run as interrupted;
      with O(record) (a failed run's fields, from its rescue), records it as failed; otherwise
      adds a record only when something had to change.
  - >-
      Run before a deploy or a restore changes anything, and by a deploy's rescue.
options:
  proxy: {description: "How to drive the proxy (the proxy role's C(proxy_runtime)).", type: dict, required: true}
  configs: {description: "haproxy.cfg rendered for each stable state (the proxy role's C(proxy_configs)).", type: list, elements: dict, required: true}
  history: {description: "The environment's history file.", type: path, required: true}
  labels: {description: "Labels every container of the environment carries (greenlight_labels).", type: dict, required: true}
  docker_socket: {description: "The Docker engine's socket on the host.", type: path, default: /var/run/docker.sock}
  interrupted: {description: "The lock of a run found gone (greenlight.deploy.lock's took_over).", type: dict, default: {}}
  reason: {description: "Why that run stopped, when the caller knows (for example the signal); recorded.", type: str, default: ""}
  record: {description: "The fields of a failed run to record (its outcome defaults to failed).", type: dict}
  one_off_timeout: {description: "Seconds to wait for a one-off container (a migration) still running.", type: float, default: 600}
  restore_pending:
    description: >-
      The file a restore writes while it replaces the database (greenlight_restore_pending_file).
      When it exists, the restore was interrupted: recovery returns it (C(restore)) and leaves
      the maintenance page on, for the caller to load that backup again. When it does not,
      a maintenance page left on goes off.
    type: path
    default: ""
  adopted:
    description: >-
      The color an adopted compose app's containers answer for (greenlight adopt, the adoption state's color):
      while no record says what serves, the traffic goes back to it alone.
    type: str
    default: ""
author: greenlight
"""

EXAMPLES = r"""
- name: Put the environment back on its recorded release
  greenlight.deploy.recover:
    proxy: "{{ proxy_runtime }}"
    configs: "{{ proxy_configs }}"
    history: /var/lib/greenlight/shop-production/history.jsonl
    labels: {greenlight.app: shop, greenlight.env: production}
    interrupted: "{{ deploy_lock.took_over }}"
"""

RETURN = r"""
notes: {description: "What recovery did, one line each.", returned: always, type: list}
problems: {description: "What it could not put right, one line each.", returned: always, type: list}
live: {description: "What serves afterwards: version, commit, color, serving, warm ({} when nothing).", returned: always, type: dict}
record: {description: "The record added to the history ({} when none).", returned: always, type: dict}
moved_traffic: {description: "Whether the traffic had to be moved back.", returned: always, type: bool}
restore: {description: "An interrupted restore to finish: file, sha256, started ({} when none).", returned: always, type: dict}
containers: {description: "The environment's containers afterwards, by name: state, image, part, version, commit.", returned: always, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import DockerError
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError
from ansible_collections.greenlight.deploy.plugins.module_utils.recovery import recover
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import CONFIGS_SPEC, PROXY_SPEC, Proxy


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "proxy": PROXY_SPEC,
            "configs": {**CONFIGS_SPEC, "required": True, "default": None},
            "history": {"type": "path", "required": True},
            "labels": {"type": "dict", "required": True},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
            "interrupted": {"type": "dict", "default": {}},
            "reason": {"type": "str", "default": ""},
            "record": {"type": "dict"},
            "one_off_timeout": {"type": "float", "default": 600},
            "restore_pending": {"type": "path", "default": ""},
            "adopted": {"type": "str", "default": ""},
        },
        supports_check_mode=False,
    )
    params = module.params
    try:
        outcome = recover(Proxy.from_params(params["proxy"]), params["configs"], params["history"],
                          params["docker_socket"], params["labels"], params["interrupted"] or None,
                          params["record"], params["one_off_timeout"], params["reason"], params["restore_pending"], params["adopted"])
    except (HAProxyError, DockerError, OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot put the environment back on its recorded release: {exc}")
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
