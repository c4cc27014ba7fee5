#!/usr/bin/python
"""What `greenlight check` asks of the host, in one call, changing nothing."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_check
short_description: Check the host an environment runs on, changing nothing; every problem found
description:
  - >-
      Docker answers on its socket; each of the environment's ports is free or published by one
      of its own containers; the folders greenlight writes to have room; the app's repository
      can be read.
  - >-
      Never fails for a problem: returns them all in C(problems), one line each.
options:
  ports: {description: "The environment's published ports, by setting name.", type: dict, default: {}}
  labels: {description: "Labels every container of the environment carries (greenlight_labels).", type: dict, required: true}
  paths: {description: "Folders whose filesystem needs room (the state folder, Docker's).", type: list, elements: path, default: []}
  min_free_mb: {description: "Free space each of them needs.", type: int, default: 2048}
  repo: {description: "The app's git repository as the host sees it, without credentials.", type: str, default: ""}
  repo_auth: {description: "The git configuration that sends the repository URL's credentials (filter greenlight.deploy.git_auth_config).", type: str, default: ""}
  docker_socket: {description: "The Docker engine's socket on the host.", type: path, default: /var/run/docker.sock}
  live_restore:
    description: >-
      Report an engine running without live-restore: restarting it (a docker.io update) would
      stop every container, production's included (docs/security.md).
    type: bool
    default: false
author: greenlight
"""

EXAMPLES = r"""
- name: Check the host
  greenlight.deploy.host_check:
    ports: {proxy_http_port: 80, mysql_port: 3307}
    labels: {greenlight.app: shop, greenlight.env: production}
    paths: [/var/lib/greenlight]
    repo: https://github.com/example/shop.git
"""

RETURN = r"""
problems: {description: "Every problem found, one line each.", returned: always, type: list}
docker_answers: {description: "Whether Docker answered.", returned: always, type: bool}
"""

import errno
import os
import socket
import subprocess

from ansible_collections.greenlight.deploy.plugins.module_utils import docker_api, git_auth
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.adopt import COMPOSE_PROJECT, PROJECT_NAME
from ansible_collections.greenlight.deploy.plugins.module_utils.settings import shown


def port_taken(port: int) -> bool:
    """Whether something listens on the port, on any address: binding it is refused. With
    SO_REUSEADDR, so a closed connection's TIME_WAIT on the port does not count, only a listener."""
    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            probe = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
        finally:
            probe.close()
    return False


def existing_parent(path: str) -> str:
    while path and not os.path.exists(path):
        path = os.path.dirname(path.rstrip("/")) or "/"
    return path or "/"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "ports": {"type": "dict", "default": {}},
            "labels": {"type": "dict", "required": True},
            "paths": {"type": "list", "elements": "path", "default": []},
            "min_free_mb": {"type": "int", "default": 2048},
            "repo": {"type": "str", "default": ""},
            "repo_auth": {"type": "str", "default": "", "no_log": True},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
            "live_restore": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    # Docker's own variable wins, as it does for the docker CLI and the community.docker modules.
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host.startswith("unix://"):
        p["docker_socket"] = docker_host[len("unix://"):]
    found: list[str] = []
    ours: set[int] = set()
    holders: dict[int, docker_api.Container] = {}
    answers = True
    try:
        ours = docker_api.published_ports(p["docker_socket"], p["labels"])
        holders = docker_api.port_holders(p["docker_socket"])
        info = docker_api.info(p["docker_socket"])
        if info.get("DockerRootDir"):
            p["paths"].append(info["DockerRootDir"])
        if p["live_restore"] and not info.get("LiveRestoreEnabled"):
            found.append("Docker on the host runs without live-restore: restarting it (a docker.io update) stops "
                         "every container; set \"live-restore\": true in /etc/docker/daemon.json and restart Docker "
                         "once (scripts/ensure-docker.sh writes the setting)")
    except docker_api.DockerError as exc:
        answers = False
        found.append(f"cannot reach Docker on the host ({exc}); start it (systemctl start docker, or "
                     f"scripts/ensure-docker.sh) and run again")
    for name, value in sorted(p["ports"].items()):
        try:
            port = int(value)
        except (TypeError, ValueError):
            continue  # the settings check says what is wrong with it
        if not 0 < port < 65536:
            continue  # likewise
        if port in ours or not port_taken(port):
            continue
        project = holders[port].labels.get(COMPOSE_PROJECT, "") if port in holders else ""
        # Docker's labels are data: a project name compose would not make is quoted, cut short.
        project = project if not project or PROJECT_NAME.fullmatch(project) else shown(project)
        if project and name == "mysql_port":
            found.append(f"port {port} ({name}) is published by {holders[port].name} of compose project "
                         f"{project}: to use that database where it is, set mysql_external_container: "
                         f"{holders[port].name} (docs/your-app.md#the-database-where-it-is); or choose another port")
        elif project:
            found.append(f"port {port} ({name}) is published by {holders[port].name} of compose project "
                         f"{project}: greenlight adopt ENV --project {project} takes it over with no "
                         f"request refused (docs/your-app.md#adopt-without-downtime); or choose another port")
        else:
            found.append(f"port {port} is already in use by another program on the host ({name}); free it, or "
                         f"choose another port in the inventory")
    filesystems = {}
    for path in p["paths"]:
        where = existing_parent(path)
        filesystems.setdefault(os.stat(where).st_dev, where)  # one line per filesystem
    for where in filesystems.values():
        stats = os.statvfs(where)
        free_mb = stats.f_bavail * stats.f_frsize // (1024 * 1024)
        if free_mb < p["min_free_mb"]:
            found.append(f"only {free_mb} MiB free under {where}; a deploy and its backup need {p['min_free_mb']} MiB "
                         f"(preflight_min_free_mb; greenlight prune removes what no environment needs)")
    if p["repo"]:
        # The URL's credentials go to git in its environment, never in its argv (plugins/module_utils/git_auth.py).
        url = p["repo"]
        try:
            listed = subprocess.run(["git", "ls-remote", "--exit-code", url, "HEAD"], capture_output=True, text=True,
                                    timeout=60, env={**os.environ, "GIT_TERMINAL_PROMPT": "0",
                                                     **git_auth.header_environment(p["repo_auth"])})
            if listed.returncode not in (0, 2):
                # git's "fatal:" line says why (its last line is the generic "and the repository exists.").
                lines = listed.stderr.strip().splitlines() or ["?"]
                reason = next((line for line in lines if line.startswith("fatal:")), lines[0])
                found.append(f"app_repo {url} cannot be read from the host: {reason}")
        except FileNotFoundError:
            found.append("git is not installed on the host (apt-get install git)")
        except subprocess.TimeoutExpired:
            found.append(f"app_repo {url} did not answer within 60 s")
    module.exit_json(changed=False, problems=found, docker_answers=answers)


if __name__ == "__main__":
    main()
