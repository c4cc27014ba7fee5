#!/usr/bin/python
"""Pin greenlight's own images by ID, and refuse a tag that names another image (plugins/module_utils/image_pins.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_pin
short_description: Pin the images greenlight builds for itself by ID, and refuse a re-tagged one
description:
  - >-
      Records the ID each of O(images) names in the environment's pins file, the first time
      it is seen or when this run built it (O(built)); fails, changing nothing, when a tag
      names another image than the one pinned (docs/security.md).
  - >-
      Returns the IDs, which the containers are then created from (never the tag).
options:
  path: {description: "The environment's pins file (JSON).", type: path, required: true}
  images: {description: "Each tag, and the ID it names now (C(docker_image_info)'s Id).", type: dict, required: true}
  built: {description: "The tags this run built.", type: list, elements: str, default: []}
author: greenlight
"""

EXAMPLES = r"""
- name: Pin the proxy image
  greenlight.deploy.image_pin:
    path: /var/lib/greenlight/shop-production/image-pins.json
    images: {"greenlight/haproxy:c72489616b07": "sha256:ff78..."}
"""

RETURN = r"""
ids: {description: "The pinned ID of each tag.", returned: success, type: dict}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.image_pins import decide, load, save


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "images": {"type": "dict", "required": True},
            "built": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    found = {str(tag): str(image_id or "") for tag, image_id in params["images"].items()}
    try:
        pinned = load(params["path"])
    except ValueError as exc:
        module.fail_json(msg=str(exc), greenlight_error="usage")
    pins, problems = decide(pinned, found, params["built"])
    if problems:
        module.fail_json(msg="; ".join(problems), greenlight_error="usage")
    changed = pins != pinned
    if changed and not module.check_mode:
        os.makedirs(os.path.dirname(params["path"]), mode=0o700, exist_ok=True)
        save(params["path"], pins)
    module.exit_json(changed=changed, ids={tag: pins[tag] for tag in found})


if __name__ == "__main__":
    main()
