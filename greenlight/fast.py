"""The commands that need no playbook on an environment of this machine: `status`, `history`,
`rollback` to the warm color, and cron's no-op `promote --latest`.

They run the very module_utils the playbooks' modules run (status, rollback, deploy_lock,
history), here in the command's own process, with the environment's settings as its last
playbook resolved them (greenlight/descriptor.py), under the same host lock (the command's)
and deploy lock (deploy_lock.take, as the modules' action plugins take it), writing the same
history. Anything they cannot decide alone (a rollback that must redeploy, an app with
workers to move, a ref to fetch) goes the playbook's way, as before.
"""

from __future__ import annotations

import os
import subprocess

from ansible_collections.greenlight.deploy.plugins.module_utils import deploy_lock, history, rollback, status
from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import DockerError, inspect_container
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, live_color, read_servers
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import Proxy, saved_colors


def proxy(described: dict) -> Proxy:
    return Proxy.from_params(described["proxy"])


def report(described: dict, limit: int) -> dict:
    """What status.yml reports (plugins/module_utils/status.py), the lock judged here (this machine's)."""
    return status.report(described["app"], described["env"], proxy(described), described["history"],
                         described["lock"], described["docker_socket"], described["prometheus"], limit)


def roll_back(described: dict, actor: str, version: str, wait: float, run: str) -> dict:
    """What greenlight.deploy.rollback answers (plugins/module_utils/rollback.py), the lock taken as its action plugin takes it."""
    holder = deploy_lock.identity(os.getpid(), actor, run)
    lock = {"path": described["lock"], "purpose": {"kind": "rollback", "env": described["env"]}, "holder": holder}

    def execute(takeover: str) -> dict:
        return rollback.roll_back(described["env"], proxy(described), described["configs"], described["history"],
                                  described["labels"], described["docker_socket"], {**lock, "takeover": takeover},
                                  actor, version, described["restore_pending"])

    return deploy_lock.take(execute, wait, described["lock"])


def resolve_ref(described: dict, ref: str) -> str:
    """The commit a branch or tag of the app's repository names, asked of the repository itself
    (git ls-remote, its credentials from their file); "" when that cannot decide it alone (a
    commit, a name that is both, none): the playbook's way then says."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if os.path.exists(described["repo_credentials"]):
        env["GIT_CONFIG_GLOBAL"] = described["repo_credentials"]
    try:
        listed = subprocess.run(["git", "ls-remote", "--", described["repo"], f"refs/heads/{ref}", f"refs/tags/{ref}",
                                 f"refs/tags/{ref}^{{}}"], capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    refs = dict(reversed(line.split("\t", 1)) for line in listed.stdout.splitlines() if "\t" in line)
    if listed.returncode != 0 or (f"refs/heads/{ref}" in refs and f"refs/tags/{ref}" in refs):
        return ""
    return refs.get(f"refs/tags/{ref}^{{}}") or refs.get(f"refs/tags/{ref}") or refs.get(f"refs/heads/{ref}", "")


def live_commit(described: dict) -> str:
    """The commit the live color runs (its first part's container's label), "" when none."""
    found = proxy(described)
    try:
        servers = read_servers(found.socket)
    except HAProxyError:
        servers = {}
    color = live_color(servers, saved_colors(found), found.pools[0].name) if servers else next(iter(saved_colors(found)), "")
    if not color:
        return ""
    try:
        container = inspect_container(described["docker_socket"], found.pools[0].container(color)) or {}
    except DockerError:
        return ""
    return ((container.get("Config") or {}).get("Labels") or {}).get("greenlight.commit", "")


def promotions(described: dict, commit: str) -> list[dict]:
    return [record for record in history.read(described["history"]).records
            if record.get("kind") == "promote" and record.get("commit") == commit]
