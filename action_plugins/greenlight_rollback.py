"""The controller's half of greenlight_rollback: the holder of the deploy lock the module takes.

The module takes the environment's deploy lock itself (one round trip for the whole
rollback); like the greenlight_lock action, this names the holder (the ansible-playbook
process) and takes a gone holder's lock over (module_utils/deploy_lock.py).
"""

from __future__ import annotations

import os
import sys

from ansible.plugins.action import ActionBase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "module_utils"))

from deploy_lock import identity, take  # noqa: E402


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        wait = float(args.pop("wait", 0) or 0)
        lock = {**args.pop("lock"), "holder": identity(os.getppid(), str(args.get("actor", "")))}

        def execute(takeover: str) -> dict:
            return self._execute_module("greenlight_rollback", task_vars=task_vars,
                                        module_args={**args, "lock": {**lock, "takeover": takeover}})

        return {**result, **take(execute, wait, lock["path"])}
