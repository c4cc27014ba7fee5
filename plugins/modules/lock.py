#!/usr/bin/python
"""The environment's deploy lock on its host (the greenlight.deploy.lock action plugin drives it)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lock
short_description: Take, release or read an environment's deploy lock
description:
  - >-
      A JSON file on the environment's host names the run that holds the environment
      (plugins/module_utils/deploy_lock.py). Use it through the action plugin of the same name, which
      runs on the controller; it names the holder (the ansible-playbook process), decides
      whether a holder found in the file is gone, and then takes its lock over.
  - >-
      With O(state=acquired), takes the lock for O(holder), or returns the lock that holds it;
      with O(takeover) equal to that lock's token, replaces it.
  - >-
      With O(state=released), removes the lock whose token is O(token).
  - >-
      With O(state=read), returns the lock, if any.
options:
  path: {description: "The lock file.", type: path, required: true}
  state: {description: "What to do.", type: str, choices: [acquired, released, read], default: acquired}
  holder: {description: "Who takes it: pid, host, boot_id, pid_start, user (the action plugin fills it).", type: dict, default: {}}
  purpose: {description: "What the holder does, for the message a blocked run prints and for recovery: kind, version.", type: dict, default: {}}
  token: {description: "The token of the lock to release.", type: str, default: ""}
  takeover: {description: "The token of a gone holder's lock to replace.", type: str, default: ""}
author: greenlight
"""

EXAMPLES = r"""
- name: Take the environment's deploy lock
  greenlight.deploy.lock:
    path: /var/lib/greenlight/locks/shop-production.json
    purpose: {kind: deploy, version: v2}
"""

RETURN = r"""
acquired: {description: "Whether the lock is now ours.", returned: state is acquired, type: bool}
lock: {description: "Our lock (state acquired), or the lock found (state read).", returned: always, type: dict}
held_by: {description: "The lock of the run that holds the environment.", returned: when not acquired, type: dict}
took_over: {description: "The gone holder's lock that ours replaced.", returned: when taken over, type: dict}
released: {description: "Whether a lock was removed.", returned: state is released, type: bool}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.deploy_lock import LockError, acquire, read, release


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["acquired", "released", "read"], "default": "acquired"},
            "holder": {"type": "dict", "default": {}},
            "purpose": {"type": "dict", "default": {}},
            "token": {"type": "str", "default": "", "no_log": False},
            "takeover": {"type": "str", "default": "", "no_log": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params["state"] == "read" or module.check_mode:
            module.exit_json(changed=False, lock=read(params["path"]) or {}, acquired=False)
        if params["state"] == "released":
            released = release(params["path"], params["token"])
            module.exit_json(changed=False, released=released, lock={})  # the lock is not the environment
        lock, previous = acquire(params["path"], params["holder"], params["purpose"], params["takeover"])
    except (LockError, OSError) as exc:
        module.fail_json(msg=f"cannot use the deploy lock {params['path']}: {exc}", greenlight_error="failed")
    if not lock:
        module.exit_json(changed=False, acquired=False, lock={}, held_by=previous)
    # Taking the lock changes nothing in the environment.
    module.exit_json(changed=False, acquired=True, lock=lock, took_over=previous or {})


if __name__ == "__main__":
    main()
