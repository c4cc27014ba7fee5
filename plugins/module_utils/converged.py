"""Whether a part of an environment (its database, its proxy) is already as a run would leave it.

A role that converges many things (a container, its folders, files, accounts) costs a dozen
module runs even when nothing changed. Its inputs (the settings it reads, its own files, what
it renders) are hashed; when the role finished, the hash is written to a stamp file on the
host. The next run finds the stamp equal to its own hash, and the role's containers running,
healthy, on their pinned images and networks, and skips the role. A changed setting, a new
greenlight, a container that stopped or was changed by hand, a stamp older than `max_age`
(a full run a day, which mends drift the checks cannot see), or a run killed before the role
finished run it in full: a stamp found out of date is removed before the full run, which
writes a new one only when it finishes. The stamp also holds each container's ID as the
full run left it: a container created again since (by hand, or by another path of greenlight
with other settings) is not the one the stamp speaks for, and runs the role in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible_collections.greenlight.deploy.plugins.module_utils import docker_api
from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically


def digest(inputs: object, files: list[str] | tuple = ()) -> str:
    """One hash of the inputs and of the content of files on the host ("missing" for one that is not there)."""
    found = {}
    for path in files:
        try:
            with open(path, "rb") as stream:
                found[path] = hashlib.sha256(stream.read()).hexdigest()
        except FileNotFoundError:
            found[path] = "missing"
    return hashlib.sha256(json.dumps([inputs, found], sort_keys=True, default=str).encode()).hexdigest()


def fingerprint(folder: str) -> str:
    """The content of every file under a folder (a role's tasks, templates, files), as one hash."""
    found = hashlib.sha256()
    for top, dirs, names in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(names):
            if name.endswith((".pyc", "~")) or "__pycache__" in top:
                continue
            path = os.path.join(top, name)
            found.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as stream:
                found.update(hashlib.sha256(stream.read()).digest())
    return found.hexdigest()


def stale(stamp: str, inputs: object, containers: list[dict], docker_socket: str, max_age: float,
          now: float | None = None, pins: dict | None = None, files: list[str] | tuple = ()) -> str:
    """"" when the part is as `inputs` would leave it; else why it must run in full. A
    container named with a `tag` must run the image its environment pinned for it (`pins`)."""
    try:
        with open(stamp, encoding="utf-8") as stream:
            recorded = json.load(stream)
    except FileNotFoundError:
        return "never converged here"
    except (OSError, ValueError):
        return "its stamp cannot be read"
    if not isinstance(recorded, dict) or recorded.get("digest") != digest(inputs, files):
        return "its settings or greenlight changed"
    try:
        age = (now if now is not None else time.time()) - float(recorded.get("at", 0))
    except (TypeError, ValueError):
        return "its stamp cannot be read"
    # A stamp from the future (the clock was set back) is as old as can be.
    if not 0 <= age <= max_age:
        return "its last full run is older than a day"
    ids = recorded.get("ids") if isinstance(recorded.get("ids"), dict) else {}
    for wanted in containers:
        if wanted.get("tag"):
            if not (pins or {}).get(wanted["tag"]):
                return f"{wanted['tag']} is not pinned"
            wanted = {**wanted, "image": pins[wanted["tag"]]}
        problem = _container_problem(docker_socket, wanted, ids.get(wanted["name"]))
        if problem:
            return problem
    return ""


def inputs_changed(stamp: str, inputs: object, files: list[str] | tuple = ()) -> bool:
    """Whether the stamp holds a digest of other inputs or files than these (a setting or a
    file the part reads changed since it was made), or there is no stamp that says (a run that
    made the part was cut short, or a check forgot it): what made the part is unknown."""
    try:
        with open(stamp, encoding="utf-8") as stream:
            recorded = json.load(stream)
    except (OSError, ValueError):
        return True
    return not isinstance(recorded, dict) or recorded.get("digest") != digest(inputs, files)


def _container_problem(docker_socket: str, wanted: dict, recorded_id: str | None) -> str:
    name = wanted["name"]
    try:
        found = docker_api.inspect_container(docker_socket, name)
    except docker_api.DockerError as exc:
        return f"{name} cannot be read ({exc})"
    if found is None:
        return f"{name} is missing"
    if not recorded_id or found.get("Id") != recorded_id:
        return f"{name} was created again since the last full run"
    state = found.get("State") or {}
    if not state.get("Running") or state.get("Restarting"):
        return f"{name} is not running"
    if (state.get("Health") or {}).get("Status", "healthy") != "healthy":
        return f"{name} is not healthy"
    if wanted.get("image") and found.get("Image") != wanted["image"]:
        return f"{name} runs another image"
    networks = (found.get("NetworkSettings") or {}).get("Networks") or {}
    missing = [network for network in wanted.get("networks") or [] if network not in networks]
    if missing:
        return f"{name} is not on {', '.join(missing)}"
    return ""


def forget(stamp: str) -> None:
    """Remove the stamp: a part found out of date has none until its full run finishes, so a
    run that fails half way (its settings reverted after) is never taken for the last full one."""
    try:
        os.unlink(stamp)
    except FileNotFoundError:
        pass


def mark(stamp: str, inputs: object, now: float | None = None, files: list[str] | tuple = (),
         containers: list[str] | tuple = (), docker_socket: str = "/var/run/docker.sock") -> None:
    """Write the stamp: the inputs' hash and the ID of each of `containers` (by name). A container
    that cannot be read leaves no stamp at all, so the next run is a full one."""
    ids = {}
    for name in containers:
        try:
            found = docker_api.inspect_container(docker_socket, name)
        except docker_api.DockerError:
            found = None
        if not found:
            forget(stamp)
            return
        ids[name] = found.get("Id")
    os.makedirs(os.path.dirname(stamp), mode=0o700, exist_ok=True)
    write_atomically(stamp, json.dumps({"digest": digest(inputs, files), "at": now if now is not None else time.time(),
                                        "ids": ids}), 0o600)
