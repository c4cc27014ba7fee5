"""Decide an instant rollback: which release to go back to, and whether it is still warm.

A pure function of the environment's history, its containers and HAProxy's view of the
servers, used by the greenlight_rollback module and tested without Docker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PARTS = (("backend", "api"), ("frontend", "web"))


@dataclass(frozen=True)
class Container:
    name: str
    state: str
    image: str
    image_id: str
    labels: dict = field(default_factory=dict)

    @property
    def commit(self) -> str:
        return self.labels.get("greenlight.commit", "")

    @property
    def version(self) -> str:
        return self.labels.get("greenlight.version", "")


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
    """No instant rollback; mode says why: "nothing" to go back to, "ambiguous", or "redeploy"."""

    def __init__(self, message: str, mode: str, to_version: str = "", to_commit: str = "",
                 from_version: str = "") -> None:
        super().__init__(message)
        self.mode = mode
        self.to_version = to_version
        self.to_commit = to_commit
        self.from_version = from_version


def plan_rollback(env: str, prefix: str, colors: list[str], history: list[dict],
                  containers: dict[str, Container], servers: dict, live: str) -> Plan:
    """The instant rollback to the previous release, or NoRollback saying why not."""
    newest = next((record for record in reversed(history)
                   if record.get("kind") in ("deploy", "rollback") and record.get("outcome") == "success"), {})
    to_commit, to_version = newest.get("previous_commit", ""), newest.get("previous_version", "")
    if not to_commit:
        raise NoRollback(f"nothing to roll back to in {env}: its history has no successful deploy or rollback "
                         "that replaced another release", "nothing")

    live_backend = containers.get(f"{prefix}-backend-{live}")
    from_commit = live_backend.commit if live_backend else ""
    from_version = live_backend.version if live_backend else ""
    if from_commit != newest.get("commit", ""):
        raise NoRollback(
            f"cannot tell which release to roll {env} back to: the live color {live or 'none'} runs "
            f"{from_version or 'nothing'} ({from_commit[:12]}), but the history last put live "
            f"{newest.get('commit', '')[:12]}. Deploy the release you want with deploy.yml -e app_version=VERSION",
            "ambiguous")

    target = next(color for color in colors if color != live)
    faults = []
    for part, pool in PARTS:
        container = containers.get(f"{prefix}-{part}-{target}")
        health = servers.get(pool, {}).get(target, {}).get("status", "unknown")
        if container is None:
            faults.append(f"its {part} container is missing")
        elif container.state != "running":
            faults.append(f"its {part} container is {container.state}")
        elif container.commit != to_commit:
            faults.append(f"its {part} runs {container.version or 'another release'} ({container.commit[:12]})")
        elif health != "UP":
            faults.append(f"HAProxy reports {pool}/{target} {health}")
    if faults:
        # The greenlight command reads the release to redeploy from "redeploy VERSION" in this message.
        raise NoRollback(
            f"cannot roll {env} back instantly: the old color {target} is not warm with the previous release "
            f"{to_version} ({to_commit[:12]}): {'; '.join(faults)}. Traffic stays on {from_version} ({live}); "
            f"redeploy {to_version} instead: ansible-playbook playbooks/deploy.yml -i INVENTORY "
            f"-e app_version={to_version}",
            "redeploy", to_version, to_commit, from_version)

    idle = {part: containers[f"{prefix}-{part}-{target}"] for part, _ in PARTS}
    return Plan(from_version=from_version, from_commit=from_commit, to_version=to_version,
                to_commit=to_commit, live_color=live, color=target,
                images={part: container.image for part, container in idle.items()},
                digests={part: container.image_id for part, container in idle.items()})
