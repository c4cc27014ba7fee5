"""Decide an instant rollback: which release to go back to, and whether it is still warm.

A pure function of the environment's history, its containers and HAProxy's view of the
servers, used by the greenlight.deploy.rollback module (after recovery) and tested without Docker.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import Container
from ansible_collections.greenlight.deploy.plugins.module_utils.history import Live
from ansible_collections.greenlight.deploy.plugins.module_utils.recovery import fit
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import Observed, Proxy


@dataclass(frozen=True)
class Plan:
    from_version: str
    from_commit: str
    to_version: str
    to_commit: str
    live_color: str
    color: str
    images: dict
    digests: dict


class NoRollback(Exception):
    """No instant rollback; `code` says why: nothing_to_roll_back, not_warm (redeploy), or failed."""

    def __init__(self, message: str, code: str, to_version: str = "", to_commit: str = "",
                 from_version: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.to_version = to_version
        self.to_commit = to_commit
        self.from_version = from_version


def previous_release(records: list[dict], live: Live) -> tuple[str, str]:
    """(version, commit) of the release that served before the live one went live."""
    for record in reversed(records):
        if (record.get("kind") in ("deploy", "rollback") and record.get("outcome") == "success"
                and record.get("commit") == live.commit):
            return record.get("previous_version", ""), record.get("previous_commit", "")
    return "", ""


def named_release(records: list[dict], wanted: str) -> tuple[str, str]:
    """(version, commit) of the newest release the environment served successfully that is
    named `wanted`: its version as deployed, or its commit (7 characters or more)."""
    for record in reversed(records):
        commit = record.get("commit") or ""
        version = record.get("version") or (record.get("live") or {}).get("version", "")
        if (record.get("kind") in ("deploy", "rollback") and record.get("outcome") == "success" and commit
                and (version == wanted or (len(wanted) >= 7 and commit.startswith(wanted)))):
            return version, commit
    return "", ""


def plan_rollback(env: str, proxy: Proxy, records: list[dict], live: Live | None,
                  containers: dict[str, Container], observed: Observed, live_color: str, wanted: str = "") -> Plan:
    """The instant rollback to the previous release (or the one named `wanted`), or NoRollback saying why not."""
    if wanted:
        to_version, to_commit = named_release(records, wanted)
        if not to_commit:
            raise NoRollback(f"{wanted} never served {env}: a rollback goes back to a release its history records "
                             f"as live (greenlight history {env}); deploy it instead", "nothing_to_roll_back")
        if live is not None and to_commit == live.commit:
            raise NoRollback(f"{wanted} ({to_commit[:12]}) already serves {env}", "nothing_to_roll_back")
    else:
        to_version, to_commit = previous_release(records, live) if live else ("", "")
    if live is None or not to_commit:
        raise NoRollback(f"nothing to roll back to in {env}: its history has no successful deploy or rollback "
                         "that replaced another release", "nothing_to_roll_back")

    if live_color != live.color or fit(proxy, live.color, live.commit, containers, None):
        serving = containers.get(proxy.pools[0].container(live_color)) if live_color else None
        raise NoRollback(
            f"cannot tell which release to roll {env} back to: the history says {live.version} "
            f"({live.commit[:12]}) serves on {live.color}, but the proxy sends the traffic to "
            f"{live_color or 'no color'}, which runs {(serving.version if serving else '') or 'nothing'}. "
            "Deploy the release you want instead", "failed")

    target = live.warm_color or next((c for c in proxy.colors if c not in live.serving), "")
    faults = (fit(proxy, target, to_commit, containers, observed) if target
              else [f"both colors serve {live.version} (a rolling deploy keeps no warm color)"])
    if faults:
        raise NoRollback(
            f"cannot roll {env} back instantly: no color is warm with the previous release "
            f"{to_version} ({to_commit[:12]}): {'; '.join(faults)}. Traffic stays on {live.version}; "
            f"redeploy {to_version} instead", "not_warm", to_version, to_commit, live.version)

    idle = {pool.part: containers[pool.container(target)] for pool in proxy.pools}
    return Plan(from_version=live.version, from_commit=live.commit, to_version=to_version,
                to_commit=to_commit, live_color=live.color, color=target,
                images={name: container.image for name, container in idle.items()},
                digests={name: container.image_id for name, container in idle.items()})
