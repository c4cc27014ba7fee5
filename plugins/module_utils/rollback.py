"""An instant rollback, in one call: under the deploy lock, recover first, then decide, switch
back to the warm old color and record it. One implementation for the greenlight.deploy.rollback
module and for `greenlight rollback` on this machine without a playbook (greenlight/fast.py).

`roll_back()` answers as the module does: {held_by} when another run holds the lock (the
caller waits, takes a gone holder's lock over, or refuses: deploy_lock.take), else the
rollback's result ({changed, mode, from_version, to_version, to_commit, color, switch_ms,
recovered}), or a failure ({failed, msg, greenlight_error, greenlight_data, ...}).
"""

from __future__ import annotations

from ansible_collections.greenlight.deploy.plugins.module_utils.deploy_lock import LockError, acquire, release
from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import DockerError, list_containers
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, live_color
from ansible_collections.greenlight.deploy.plugins.module_utils.history import append, now, read, recorded_live
from ansible_collections.greenlight.deploy.plugins.module_utils.recovery import recover
from ansible_collections.greenlight.deploy.plugins.module_utils.rollback_plan import NoRollback, plan_rollback
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import Proxy, observe, saved_colors, stable, switch

MODES = {"nothing_to_roll_back": "nothing", "not_warm": "redeploy", "failed": "ambiguous"}


def roll_back(env: str, proxy: Proxy, configs: list[dict], history: str, labels: dict, docker_socket: str,
              lock: dict, actor: str = "unknown", version: str = "", restore_pending: str = "") -> dict:
    started = now()
    try:
        taken, previous = acquire(lock["path"], lock.get("holder") or {}, lock.get("purpose") or {},
                                  lock.get("takeover", ""))
    except (LockError, OSError) as exc:
        return {"failed": True, "msg": f"cannot use the deploy lock {lock['path']}: {exc}"}
    if not taken:
        return {"changed": False, "held_by": previous}
    try:
        return _locked(env, proxy, configs, history, labels, docker_socket, actor, version, restore_pending, started,
                       previous if lock.get("takeover") else None)
    finally:
        release(lock["path"], taken["token"])


def _locked(env: str, proxy: Proxy, configs: list[dict], history: str, labels: dict, docker_socket: str,
            actor: str, version: str, restore_pending: str, started: str, interrupted: dict | None) -> dict:
    try:
        recovery = recover(proxy, configs, history, docker_socket, labels, interrupted, restore_pending=restore_pending)
        if recovery["restore"]:
            # Loading a backup is Ansible's work (roles/backup/tasks/load.yml), not this one's.
            return {"failed": True, "recovered": recovery["notes"],
                    "msg": f"a restore of {recovery['restore'].get('file', '?')} to {env} was interrupted while it "
                           f"replaced the database, and the maintenance page is on: any run that takes the lock "
                           f"finishes it first (greenlight backup {env}, for one); a rollback moves releases, never data"}
        undone = recovery["record"]
        # An interrupted deploy that users saw (the traffic had to come back): undoing it was the rollback.
        if undone.get("kind") == "deploy" and undone.get("outcome") == "interrupted" and recovery["moved_traffic"]:
            live = recovery["live"]
            return {"changed": True, "mode": "recovered", "from_version": undone.get("version", ""),
                    "to_version": live.get("version", ""), "to_commit": live.get("commit", ""),
                    "color": live.get("color", ""), "switch_ms": 0.0, "recovered": recovery["notes"]}
        records = read(history).records
        live = recorded_live(records, proxy.colors)
        observed = observe(proxy)
        containers = list_containers(docker_socket, labels)
        current = live_color(observed.servers, saved_colors(proxy), proxy.pools[0].name)
        plan = plan_rollback(env, proxy, records, live, containers, observed, current, version)

        target = stable(proxy.colors, plan.color)
        switch_ms = switch(proxy, target, configs)
        append(history, {
            "kind": "rollback", "env": env, "version": plan.to_version, "commit": plan.to_commit,
            "images": plan.images, "digests": plan.digests, "color": plan.color, "strategy": "instant",
            "switch_ms": switch_ms, "rollback_ms": switch_ms,
            "previous_version": plan.from_version, "previous_commit": plan.from_commit,
            "live": {"version": plan.to_version, "commit": plan.to_commit, "color": plan.color,
                     "serving": target.serving,
                     "warm": {"color": plan.live_color, "version": plan.from_version, "commit": plan.from_commit}},
            "recovered": recovery["notes"] + recovery["problems"],
            "actor": actor, "started": started, "outcome": "success",
        })
    except NoRollback as exc:
        found = {"mode": MODES.get(exc.code, exc.code), "from_version": exc.from_version,
                 "to_version": exc.to_version, "to_commit": exc.to_commit}
        return {"failed": True, "msg": str(exc), "greenlight_error": exc.code, "greenlight_data": found, **found}
    except (HAProxyError, DockerError, OSError, ValueError) as exc:
        return {"failed": True, "msg": f"rollback of {env} failed: {exc}", "mode": "error"}
    return {"changed": True, "mode": "instant", "from_version": plan.from_version, "to_version": plan.to_version,
            "to_commit": plan.to_commit, "color": plan.color, "switch_ms": switch_ms,
            "recovered": recovery["notes"] + recovery["problems"]}
