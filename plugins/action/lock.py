"""The controller's half of the deploy lock: who holds it, and whether a holder is gone.

The lock file lives on the environment's host (plugins/modules/lock.py); its holder is
the greenlight command that started the playbook, else the ansible-playbook process on the
controller, the parent of the worker running this plugin (deploy_lock.run_holder). Whether a holder is gone can only be told where it ran, so it is decided here
(plugins/module_utils/deploy_lock.py) and the module is asked to take a gone holder's lock over.
The greenlight.deploy.rollback action does the same for the rollback module, which takes the lock
itself to save a round trip.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.greenlight.deploy.plugins.module_utils.deploy_lock import alive, describe, run_holder, take


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("path", "state", "purpose", "token", "user", "wait", "force"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        user = str(args.pop("user", "") or "")
        wait = float(args.pop("wait", 0) or 0)
        force = bool(args.pop("force", False))
        state = args.get("state", "acquired")

        def execute(module_args: dict) -> dict:
            return self._execute_module("greenlight.deploy.lock", module_args=module_args, task_vars=task_vars)

        if state == "acquired":
            args["holder"] = run_holder(user)
            return {**result, **take(lambda takeover: execute({**args, "takeover": takeover}), wait, args["path"])}
        if state == "released" and not args.get("token"):
            return {**result, **self._release_gone(execute, args, force)}
        answer = execute(args)
        if state == "read" and answer.get("lock"):
            answer["alive"] = alive(answer["lock"].get("holder") or {})
            answer["description"] = describe(answer["lock"])
        return {**result, **answer}

    @staticmethod
    def _release_gone(execute, args: dict, force: bool) -> dict:
        """Release somebody's lock, on a person's request: only when its holder is gone.

        With `force`, also a lock of a holder on another machine (a controller that is gone
        for good); never one whose holder is seen running.
        """
        found = execute({**args, "state": "read"})
        lock = found.get("lock") or {}
        if found.get("failed") or not lock:
            return {**found, "released": False}
        holder_alive = alive(lock.get("holder") or {})
        if holder_alive or (holder_alive is None and not force):
            reason = ("it still runs" if holder_alive else "it runs on another machine, so greenlight cannot tell "
                      "whether it still runs (--force releases it anyway)")
            return {"failed": True, "released": False, "greenlight_error": "locked", "held_by": lock,
                    "msg": f"refusing to release {args['path']}: it is held by {describe(lock)} and {reason}"}
        answer = execute({**args, "token": lock.get("token", "")})
        return {**answer, "held_by": lock}
