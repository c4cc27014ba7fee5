"""Recovery: put an environment back on the release its history says serves.

A pure function of the history's recorded live release, what the proxy does now and which
containers run, used by the greenlight.deploy.recover and greenlight.deploy.rollback modules (and so by
every deploy and rollback before it changes anything, and by a failed deploy's rescue).

The rules:
1. Traffic goes back, in one switch, to the recorded serving colors that still run the
   recorded release and that HAProxy does not find down; a split, stickiness left on, or
   traffic on a color no record put live is undone. When none of them is fit to take the
   traffic, the traffic is left as it is and the problem is reported: moving users to a
   color that cannot answer would be worse.
2. The containers of every color that takes no traffic afterwards are removed, except the
   recorded warm color while it runs the recorded warm release: whatever else is there
   was started by a run that did not finish.
3. One-off containers (migrations, test data) left by a run are removed, once finished.
4. A restore that was interrupted while it replaced the database (its pending file names the
   backup) is reported, and the maintenance page stays on: the caller loads that backup
   again before anything else (roles/backup/tasks/load.yml). Without one, a maintenance
   page left on (by a restore killed before it touched the database, or after loading and before
   turning the page off) goes off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import Container
from ansible_collections.greenlight.deploy.plugins.module_utils.history import Live
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import Observed, Proxy, Traffic, matches, stable

ONE_OFF_PARTS = ("migrate", "seed")
# Containers a run makes and removes itself, under the deploy lock (a backup's verification
# database): one recovery sees was left by a run that is gone, running or not.
THROWAWAY_PARTS = ("backup-verify", "anonymize", "import")
UNFIT_STATES = ("DOWN", "MAINT", "NOLB", "no check", "unknown")


@dataclass
class Plan:
    traffic: Traffic | None = None          # the state to switch to (and persist); None: leave it
    switch: bool = False                    # the running proxy differs from `traffic`
    remove: list[str] = field(default_factory=list)
    wait_for: list[str] = field(default_factory=list)  # one-off containers still running
    notes: list[str] = field(default_factory=list)     # what recovery does, for the record
    problems: list[str] = field(default_factory=list)  # what it cannot fix
    live: Live | None = None                # what serves afterwards
    restore: dict = field(default_factory=dict)  # an interrupted restore to finish: {file, sha256, started}
    maintenance_off: bool = False           # turn off a maintenance page no restore needs


def fit(proxy: Proxy, color: str, commit: str, containers: dict[str, Container],
        observed: Observed | None) -> list[str]:
    """Why `color` cannot take the traffic for `commit` ([] when it can)."""
    faults = []
    for pool in proxy.pools:
        container = containers.get(pool.container(color))
        if container is None:
            faults.append(f"{pool.container(color)} is missing")
        elif container.state != "running":
            faults.append(f"{pool.container(color)} is {container.state}")
        elif container.commit != commit:
            faults.append(f"{pool.container(color)} runs {container.version or 'another release'} ({container.commit[:12]})")
        elif observed is not None:
            status = str(observed.servers.get(pool.name, {}).get(color, {}).get("status", "unknown"))
            if status.startswith(UNFIT_STATES):
                faults.append(f"HAProxy finds {pool.name}/{color} {status}")
    return faults


def describe_traffic(proxy: Proxy, observed: Observed) -> str:
    first = proxy.pools[0].name
    weights = ", ".join(f"{color} {weight}" for color, weight in observed.weights(first).items())
    return f"{weights}{', stickiness on' if observed.sticky else ''}"


def plan(proxy: Proxy, live: Live | None, observed: Observed | None,
         containers: dict[str, Container], restore: dict | None = None, adopted: str = "") -> Plan:
    """`adopted`: the color an adopted compose app's containers answer for (greenlight adopt),
    the live one while no record says otherwise."""
    result = Plan()
    if restore:
        result.restore = restore
        result.notes.append(f"a restore of {restore.get('file', '?')} was interrupted while it replaced the database: "
                            f"it is loaded again, behind the maintenance page")
    elif observed is not None and observed.maintenance:
        result.maintenance_off = True
        result.notes.append("the maintenance page went off (a restore was interrupted before it touched the "
                            "database, or after it loaded its backup)")
    for container in containers.values():
        if container.part in ONE_OFF_PARTS:
            (result.wait_for if container.state == "running" else result.remove).append(container.name)
        elif container.part in THROWAWAY_PARTS:
            result.remove.append(container.name)

    if live is None and adopted and observed is not None:
        # Nothing recorded serves but the compose containers: traffic back on them alone.
        faults = [f"HAProxy finds {pool.name}/{adopted} {status}" for pool in proxy.pools
                  for status in [str(observed.servers.get(pool.name, {}).get(adopted, {}).get("status", "unknown"))]
                  if status.startswith(UNFIT_STATES)]
        if faults:
            result.problems.append(f"cannot put the traffic back on the compose containers ({adopted}): "
                                   f"{'; '.join(faults)}; the traffic is left as it is")
            return result
        result.traffic = stable(proxy.colors, adopted, [adopted])
        if not matches(proxy, result.traffic, observed):
            result.switch = True
            result.notes.append(f"traffic back on the compose containers ({adopted}); it was "
                                f"{describe_traffic(proxy, observed)}")
        _remove_colors(proxy, [c for c in proxy.colors if c != adopted], containers, None, result)
        return result
    if live is None:
        # Nothing recorded serves: keep whatever takes traffic, remove what does not.
        serving = [] if observed is None else [
            color for color in proxy.colors if any(observed.weights(p.name).get(color, 0) > 0 for p in proxy.pools)]
        _remove_colors(proxy, [c for c in proxy.colors if c not in serving], containers, None, result)
        return result

    usable = []
    for color in live.serving:
        faults = fit(proxy, color, live.commit, containers, observed)
        if faults:
            result.problems.append(f"{color} cannot take the traffic for {live.version}: {'; '.join(faults)}")
        else:
            usable.append(color)
    if not usable:
        result.problems.insert(0, f"cannot put the traffic back on {live.version} ({live.commit[:12]}), "
                                  f"which the history says serves; the traffic is left as it is")
        return result

    target_live = live.color if live.color in usable else usable[0]
    result.traffic = stable(proxy.colors, target_live, usable)
    if observed is not None and not matches(proxy, result.traffic, observed):
        result.switch = True
        result.notes.append(f"traffic back on {live.version} ({', '.join(result.traffic.serving)}); "
                            f"it was {describe_traffic(proxy, observed)}")
    idle = [c for c in proxy.colors if c not in result.traffic.serving]
    _remove_colors(proxy, idle, containers, live, result)
    warm_kept = (live.warm_color in idle and not fit(proxy, live.warm_color, live.warm_commit, containers, None))
    result.live = Live(live.version, live.commit, target_live, tuple(result.traffic.serving),
                       live.warm_color if warm_kept else "", live.warm_version if warm_kept else "",
                       live.warm_commit if warm_kept else "")
    return result


def _remove_colors(proxy: Proxy, colors: list[str], containers: dict[str, Container], live: Live | None,
                   result: Plan) -> None:
    for color in colors:
        names = [pool.container(color) for pool in proxy.pools if pool.container(color) in containers]
        if not names:
            continue
        if live is not None and color == live.warm_color and not fit(proxy, color, live.warm_commit, containers, None):
            continue  # the warm old release: an instant rollback needs it
        versions = sorted({containers[name].version or containers[name].commit[:12] or "?" for name in names})
        result.remove.extend(names)
        result.notes.append(f"removed {', '.join(names)} ({', '.join(versions)}: no record says it serves or is warm)")


# -- carrying a plan out (the modules' shared half) ---------------------------------------

def pending_restore(path: str) -> dict:
    """What a restore's pending file names ({} when there is none; an unreadable one names no
    file, and recovery then refuses to go on rather than guess)."""
    import json

    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: a restore was interrupted, but its file cannot be read ({exc}); "
                         f"restore a backup with greenlight restore, then remove the file") from exc
    if not isinstance(data, dict) or not data.get("file"):
        raise ValueError(f"{path}: a restore was interrupted, but its file names no backup; "
                         f"restore a backup with greenlight restore, then remove the file")
    return data


def recover(proxy: Proxy, configs: list[dict], history_path: str, docker_socket: str, labels: dict[str, str],
            interrupted: dict | None = None, record: dict | None = None, one_off_timeout: float = 600.0,
            reason: str = "", restore_pending: str = "", adopted: str = "") -> dict:
    """Gather, plan, act, and record; returns {changed, notes, problems, live, record, containers, moved_traffic}.

    `interrupted`: the lock of a run found gone (its purpose names what it did): recorded as
    interrupted. `record`: the fields of a run that failed (its rescue calls this): recorded
    with outcome failed. Otherwise a record is added only when recovery changed something.
    """
    from ansible_collections.greenlight.deploy.plugins.module_utils import history
    from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import list_containers, remove_container, wait_container
    from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically
    from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError
    from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import config_for, observe, persist, persisted_matches, set_maintenance, switch

    records = history.read(history_path).records
    live = history.recorded_live(records, proxy.colors)
    try:
        observed = observe(proxy)
    except HAProxyError:
        observed = None  # no running proxy: it will start from the files written below
    containers = list_containers(docker_socket, labels)
    result = plan(proxy, live, observed, containers, pending_restore(restore_pending) if restore_pending else None,
                  adopted)

    changed = False
    if result.maintenance_off:
        set_maintenance(proxy, False)
        changed = True
    if result.traffic is not None:
        config = config_for(configs, result.traffic)
        if observed is None:
            if not persisted_matches(proxy, result.traffic, config):
                write_atomically(proxy.live_color_file, " ".join(result.traffic.serving) + "\n")
                write_atomically(proxy.config_file, config)
                changed = True
        elif result.switch:
            switch(proxy, result.traffic, configs)
            changed = True
        elif not persisted_matches(proxy, result.traffic, config):
            persist(proxy, result.traffic, config)
            changed = True
    for name in result.wait_for:
        wait_container(docker_socket, name, one_off_timeout)
        result.notes.append(f"waited for {name} (left running by the interrupted run) to finish")
        result.remove.append(name)
    for name in result.remove:
        remove_container(docker_socket, name)
        changed = True

    live_after = result.live.as_dict() if result.live else {}
    recovered = result.notes + result.problems
    added = None
    if interrupted and finished(records, interrupted):
        interrupted = None  # it had recorded its outcome: it stopped after its work, while letting go
    if interrupted:
        purpose = interrupted.get("purpose") or {}
        holder = interrupted.get("holder") or {}
        since = interrupted.get("since") or 0
        added = history.append(history_path, {
            # A lock of the first round names no kind: it was a deploy's. A kind the history has
            # no record of (a verification, an anonymization) is recorded as a recovery.
            "kind": next(k for k in (purpose.get("kind") or "deploy", "recovery") if k in history.KINDS),
            "env": purpose.get("env", ""), "version": str(purpose.get("version", "")),
            "actor": holder.get("user") or "unknown",
            "started": purpose.get("started") or _iso(since), "outcome": "interrupted", "live": live_after, "recovered": recovered,
            "previous_version": live.version if live else "", "previous_commit": live.commit if live else "",
            "error": (f"interrupted: the run (pid {holder.get('pid', '?')} on {holder.get('host', '?')}) "
                      f"{reason or 'ended without finishing'}; its lock was taken over"
                      + (f"; {'; '.join(recovered)}" if recovered else "")),
        })
    elif record is not None:
        added = history.append(history_path, {"outcome": "failed", **record, "live": live_after,
                                              "recovered": recovered})
    elif changed:
        added = history.append(history_path, {"kind": "recovery", "live": live_after, "recovered": recovered,
                                              "version": live.version if live else "",
                                              "commit": live.commit if live else ""})
    remaining = {name: {"state": c.state, "image": c.image, "part": c.part, "version": c.version, "commit": c.commit}
                 for name, c in containers.items() if name not in result.remove}
    return {"changed": changed or added is not None, "notes": result.notes, "problems": result.problems,
            "live": live_after, "record": added or {}, "containers": remaining,
            "moved_traffic": result.switch and observed is not None, "restore": result.restore}


def finished(records: list[dict], lock: dict) -> bool:
    """Whether the run of `lock` recorded its own outcome (it was stopped while letting go).

    Its purpose names its kind, version and start, as its final record does; records it
    wrote along the way (what its own recovery did) do not count.
    """
    purpose = lock.get("purpose") or {}
    if not purpose.get("started"):
        return False
    return any(record.get("kind") == purpose.get("kind") and record.get("started") == purpose["started"]
               and str(record.get("version")) == str(purpose.get("version")) and record.get("outcome") in ("success", "failed")
               for record in records)


def _iso(epoch: float) -> str:
    import datetime

    if not epoch:
        return ""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
