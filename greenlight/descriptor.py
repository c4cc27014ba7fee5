"""How greenlight reaches an environment without a playbook, as the last playbook reported it.

A playbook costs seconds before its first task (Ansible's start, the inventory, the vault).
`greenlight status`, `history`, `rollback` and cron's no-op `promote --latest` need none of
it on an environment of this machine: the settings they need, resolved by Ansible (the
command never reads or templates an inventory), come from the last playbook that ran there
(set_stats greenlight_environment, roles/greenlight/tasks/environment.yml), kept here with a
fingerprint of every file that could change them (the environment's inventory, greenlight's
roles, playbooks and modules, ansible.cfg) and of the variables that could (the vault file,
the base image). A changed file, another greenlight, `-e` on the command line, or an
environment on another host: the playbook runs, as before, and reports anew.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import COLLECTION_PATH, __version__

# What, besides the environment's inventory, could change the settings a playbook resolves:
# ansible.cfg and the collection's content (greenlight/__init__.py: COLLECTION_PATH), below the project.
COLLECTION_PARTS = ("roles", "playbooks", "plugins")
PROJECT_PARTS = ("ansible.cfg", *(str(COLLECTION_PATH / part) for part in COLLECTION_PARTS))
VARIABLES = ("ANSIBLE_VAULT_PASSWORD_FILE", "ANSIBLE_CONFIG", "GREENLIGHT_BASE_IMAGE")


def _files(top: Path) -> list[Path]:
    if top.is_file():
        return [top]
    found = []
    for folder, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found.extend(Path(folder, name) for name in sorted(names))
    return found


def fingerprint(inventory_dir: Path, env: str, project_dir: Path) -> str:
    """Every file that could change what a playbook resolves for the environment (path, size, time)."""
    digest = hashlib.sha256(__version__.encode())
    for top in [inventory_dir / env, inventory_dir / ".vault-password", *(project_dir / part for part in PROJECT_PARTS)]:
        for path in _files(top) if top.exists() else []:
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    for name in VARIABLES:
        digest.update(f"{name}={os.environ.get(name, '')}\n".encode())
    return digest.hexdigest()


def _path(state_dir: Path, inventory_dir: Path, env: str) -> Path:
    where = hashlib.sha256(str(inventory_dir.resolve()).encode()).hexdigest()[:16]
    return state_dir / "environments" / f"{where}-{env}.json"


def save(state_dir: Path, inventory_dir: Path, env: str, project_dir: Path, described: dict) -> None:
    path = _path(state_dir, inventory_dir, env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump({"fingerprint": fingerprint(inventory_dir, env, project_dir), "environment": described}, stream)
    os.replace(temporary, path)


def load(state_dir: Path, inventory_dir: Path, env: str, project_dir: Path) -> dict | None:
    """The environment as the last playbook reported it, when nothing changed since and it is on
    this machine; else None (run the playbook)."""
    try:
        saved = json.loads(_path(state_dir, inventory_dir, env).read_text())
    except (OSError, ValueError):
        return None
    described = saved.get("environment") if isinstance(saved, dict) else None
    if not isinstance(described, dict) or not described.get("local"):
        return None
    if saved.get("fingerprint") != fingerprint(inventory_dir, env, project_dir):
        return None
    return described


def parts(state_dir: Path, inventory_dir: Path, env: str) -> list[str]:
    """The app's part names the environment's last playbook reported (both environments' when
    env is ""), for shell completion only: a suggestion, so a stale descriptor is good enough."""
    # The settings check's own rule for a part's name.
    from ansible_collections.greenlight.deploy.plugins.module_utils.settings import NAME  # noqa: PLC0415

    names: list[str] = []
    for one in ([env] if env else ["staging", "production"]):
        try:
            described = json.loads(_path(state_dir, inventory_dir, one).read_text()).get("environment", {})
        except (OSError, ValueError, AttributeError):
            continue
        found = described.get("parts") if isinstance(described, dict) else None
        # Only names the settings check allows reach the shell: no control character, no space.
        names.extend(name for name in (found if isinstance(found, list) else [])
                     if isinstance(name, str) and NAME.fullmatch(name) and name not in names)
    return names
