#!/usr/bin/python
"""Whether a part of an environment is already as a run would leave it (plugins/module_utils/converged.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: converged
short_description: Skip converging a part of an environment whose inputs, stamp and containers say it is done
description:
  - >-
      With O(state=checked), answers C(current) true when the stamp on the host holds the hash
      of O(inputs), is younger than O(max_age), and each of O(containers) runs, healthy, on
      its image and networks; else false with the C(reason), and removes the stamp (the full
      run that follows writes it again when it finishes).
  - >-
      With O(state=marked), writes the stamp (the role then finished), with the ID of each of
      O(containers) as it runs now; a container that cannot be read leaves no stamp.
options:
  stamp: {description: "The stamp file on the host.", type: path, required: true}
  inputs: {description: "What the part is made from (settings, hashes of files and secrets): never a secret itself.", type: raw, required: true}
  containers:
    description: "The part's containers: name, and optionally tag (its image must be the one O(pins_file) pins for it) and networks."
    type: list
    elements: dict
    default: []
  pins_file: {description: "The environment's image pins (greenlight.deploy.image_pin).", type: path, default: ""}
  files: {description: "Files on the host the part reads (a certificate): their content counts as an input.", type: list, elements: path, default: []}
  max_age: {description: "Seconds after which the part runs in full anyway.", type: float, default: 86400}
  state: {description: "checked or marked.", type: str, choices: [checked, marked], default: checked}
  probe:
    description: >-
      With O(state=checked): only look, keeping an out-of-date stamp (a deploy deciding whether
      the live color's parts changed, before anything runs).
    type: bool
    default: false
  docker_socket: {description: "The Docker engine's socket.", type: path, default: /var/run/docker.sock}
author: greenlight
"""

EXAMPLES = r"""
- name: Find whether the proxy is as this run would leave it
  greenlight.deploy.converged:
    stamp: /var/lib/greenlight/shop-production/converged/proxy
    inputs: {settings: 3f2a..., image: greenlight/haproxy:c72489616b07}
    containers: [{name: shop-production-proxy}]
  register: proxy_converged
"""

RETURN = r"""
current: {description: "Whether the part may be skipped.", returned: state checked, type: bool}
reason: {description: "Why it may not (\"\" when it may).", returned: state checked, type: str}
inputs_changed:
  description: >-
    Whether the stamp holds other inputs or files than this run's (a setting changed since the
    part was made; not merely its age or a container), or there is none (what made the part is
    unknown).
  returned: state checked
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.converged import forget, inputs_changed, mark, stale
from ansible_collections.greenlight.deploy.plugins.module_utils.image_pins import load


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "stamp": {"type": "path", "required": True},
            "inputs": {"type": "raw", "required": True},
            "containers": {"type": "list", "elements": "dict", "default": []},
            "pins_file": {"type": "path", "default": ""},
            "files": {"type": "list", "elements": "path", "default": []},
            "max_age": {"type": "float", "default": 86400},
            "state": {"type": "str", "choices": ["checked", "marked"], "default": "checked"},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
            "probe": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "marked":
        if not module.check_mode:
            mark(p["stamp"], p["inputs"], files=p["files"], containers=[c["name"] for c in p["containers"]],
                 docker_socket=p["docker_socket"])
        module.exit_json(changed=False)
    try:
        pins = load(p["pins_file"]) if p["pins_file"] else {}
    except ValueError:
        pins = {}
    reason = stale(p["stamp"], p["inputs"], p["containers"], p["docker_socket"], p["max_age"], pins=pins,
                   files=p["files"])
    changed_inputs = bool(reason) and inputs_changed(p["stamp"], p["inputs"], files=p["files"])
    if reason and not module.check_mode and not p["probe"]:
        forget(p["stamp"])
    module.exit_json(changed=False, current=not reason, reason=reason, inputs_changed=changed_inputs)


if __name__ == "__main__":
    main()
