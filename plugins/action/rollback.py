"""The controller's half of greenlight_rollback: the holder of the deploy lock the module takes.

The module takes the environment's deploy lock itself (one round trip for the whole
rollback); like the greenlight.deploy.lock action, this names the holder (the greenlight command,
else the ansible-playbook process) and takes a gone holder's lock over (plugins/module_utils/deploy_lock.py).
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.greenlight.deploy.plugins.module_utils.deploy_lock import run_holder, take


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        wait = float(args.pop("wait", 0) or 0)
        lock = {**args.pop("lock"), "holder": run_holder(str(args.get("actor", "")))}

        def execute(takeover: str) -> dict:
            return self._execute_module("greenlight.deploy.rollback", task_vars=task_vars,
                                        module_args={**args, "lock": {**lock, "takeover": takeover}})

        return {**result, **take(execute, wait, lock["path"])}
