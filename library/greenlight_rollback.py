#!/usr/bin/python
"""Instant rollback in one call: decide, switch back to the warm old color, record it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: greenlight_rollback
short_description: Move all traffic back to the warm old color in one call, and record it
description:
  - Takes the environment's deploy lock, reads its history, its containers (Docker API) and
    HAProxy's servers, and decides with module_utils/rollback_plan.py whether the old color
    is warm with the previous release.
  - When it is, moves all traffic there in one runtime API connection (weights, preview,
    canary stickiness off), saves HAProxy's server state and the live-color file, and
    appends a rollback record to the history (the fields of playbooks/tasks/record.yml).
    It also writes haproxy.cfg with the new live color, from the texts the caller rendered
    for each color (the proxy role's render tasks, on the controller).
  - When it is not, changes nothing and fails with C(mode) redeploy (and the release to
    redeploy), nothing or ambiguous.
  - It is one module, not a play of many tasks, so that C(greenlight rollback) returns in
    seconds: every Ansible task costs a round trip to the host.
options:
  app: {description: The app's name (label greenlight.app)., type: str, required: true}
  env: {description: The environment (label greenlight.env)., type: str, required: true}
  prefix: {description: Containers are <prefix>-<part>-<color>., type: str, required: true}
  colors: {description: The two color slots., type: list, elements: str, default: [blue, green]}
  socket: {description: HAProxy's admin socket on the host., type: path, required: true}
  state_file: {description: Where HAProxy's server state is saved on the host (read by HAProxy at start)., type: path, required: true}
  live_color_file: {description: "The file naming the serving colors, live first (as the proxy role's switch writes it).", type: path, required: true}
  sticky_map: {description: Canary stickiness map (path inside the proxy)., type: str, required: true}
  history: {description: The environment's history (JSON lines)., type: path, required: true}
  config_file: {description: "haproxy.cfg on the host, rewritten with the new live color so a restart keeps it.", type: path, required: true}
  configs: {description: "haproxy.cfg's text for each color as the live one (the proxy role's render tasks).", type: dict, required: true}
  lock: {description: The environment's deploy lock folder., type: path, required: true}
  actor: {description: Who asked for the rollback., type: str, default: unknown}
  docker_socket: {description: The Docker engine's socket., type: path, default: /var/run/docker.sock}
author: greenlight
"""

EXAMPLES = r"""
- name: Roll production back to its previous release
  greenlight_rollback:
    app: warehouse
    env: production
    prefix: warehouse-production
    socket: /var/lib/greenlight/warehouse-production/proxy/run/admin.sock
    state_file: /var/lib/greenlight/warehouse-production/proxy/run/servers.state
    live_color_file: /var/lib/greenlight/warehouse-production/proxy/live-color
    sticky_map: /usr/local/etc/haproxy/sticky.map
    history: /var/lib/greenlight/warehouse-production/history.jsonl
    lock: /var/lib/greenlight/locks/warehouse-production
    config_file: /var/lib/greenlight/warehouse-production/proxy/conf/haproxy.cfg
    configs: "{{ proxy_configs }}"
"""

RETURN = r"""
mode: {description: "instant after a switch; otherwise redeploy, nothing or ambiguous.", returned: always, type: str}
from_version: {description: The release that was live., returned: always, type: str}
to_version: {description: The release rolled back to (or to redeploy)., returned: always, type: str}
to_commit: {description: Its commit., returned: always, type: str}
color: {description: The color now live., returned: when mode is instant, type: str}
switch_ms: {description: Milliseconds HAProxy took to move the traffic., returned: when mode is instant, type: float}
"""

import datetime
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.docker_api import DockerError, list_containers
from ansible.module_utils.haproxy_runtime import (HAProxyError, live_color, read_servers, save_state, send,
                                                   write_atomically)
from ansible.module_utils.rollback_plan import Container, NoRollback, plan_rollback


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_lines(path: str) -> list[str]:
    try:
        with open(path) as stream:
            return stream.read().splitlines()
    except FileNotFoundError:
        return []


def take_lock(path: str, holder: str) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.mkdir(path)  # atomic: of two deploys only one creates it
    except FileExistsError:
        held_by = " ".join(read_lines(os.path.join(path, "holder"))).strip() or "holder unknown"
        raise RuntimeError(f"another deploy of this environment holds the lock ({held_by}). "
                           f"If no deploy is running (a killed one left it), remove {path}") from None
    with open(os.path.join(path, "holder"), "w") as stream:
        stream.write(holder + "\n")


def switch_commands(plan, colors: list[str], sticky_map: str) -> list[str]:
    commands = []
    for color in colors:
        live = color == plan.color
        commands += [f"set weight {backend}/{color} {100 if live else 0}" for backend in ("api", "web")]
        commands += [f"set weight {backend}/{color} {0 if live else 100}" for backend in ("preview_api", "preview_web")]
    commands.append(f"set map {sticky_map} canary off")
    return commands


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True},
            "env": {"type": "str", "required": True},
            "prefix": {"type": "str", "required": True},
            "colors": {"type": "list", "elements": "str", "default": ["blue", "green"]},
            "socket": {"type": "path", "required": True},
            "state_file": {"type": "path", "required": True},
            "live_color_file": {"type": "path", "required": True},
            "sticky_map": {"type": "str", "required": True},
            "history": {"type": "path", "required": True},
            "config_file": {"type": "path", "required": True},
            "configs": {"type": "dict", "required": True},
            "lock": {"type": "path", "required": True},
            "actor": {"type": "str", "default": "unknown"},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
        },
        supports_check_mode=False,
    )
    params = module.params
    started = now()
    try:
        take_lock(params["lock"], f"{params['actor']} since {started} (rollback)")
    except (RuntimeError, OSError) as exc:
        module.fail_json(msg=str(exc), mode="locked")
    try:
        history = [json.loads(line) for line in read_lines(params["history"]) if line.strip()]
        listing = list_containers(params["docker_socket"],
                                  [f"greenlight.app={params['app']}", f"greenlight.env={params['env']}"])
        containers = {}
        for entry in listing:
            name = entry["Names"][0].lstrip("/")
            containers[name] = Container(name, entry.get("State", ""), entry.get("Image", ""),
                                         entry.get("ImageID", ""), entry.get("Labels") or {})
        servers = read_servers(params["socket"])
        saved = " ".join(read_lines(params["live_color_file"])).split()
        live = live_color(servers, saved)
        plan = plan_rollback(params["env"], params["prefix"], params["colors"], history, containers, servers, live)

        decided = time.monotonic()
        commands = switch_commands(plan, params["colors"], params["sticky_map"])
        answer = send(params["socket"], commands).strip()
        switch_ms = round((time.monotonic() - decided) * 1000, 2)
        if answer:
            raise HAProxyError(f"HAProxy refused the rollback {commands}: {answer}")

        save_state(params["socket"], params["state_file"])
        write_atomically(params["live_color_file"], plan.color + "\n")
        write_atomically(params["config_file"], params["configs"][plan.color])
        record = {
            "kind": "rollback", "env": params["env"], "version": plan.to_version, "commit": plan.to_commit,
            "images": plan.images, "digests": plan.digests, "color": plan.color, "strategy": "instant",
            "switch_ms": switch_ms, "rollback_ms": switch_ms, "analysis": [],
            "previous_version": plan.from_version, "previous_commit": plan.from_commit,
            "backup": "", "backup_sha256": "", "actor": params["actor"],
            "started": started, "ended": now(), "outcome": "success", "error": "",
        }
        with open(params["history"], "a") as stream:
            stream.write(json.dumps(record) + "\n")
    except NoRollback as exc:
        module.fail_json(msg=str(exc), mode=exc.mode, from_version=exc.from_version,
                         to_version=exc.to_version, to_commit=exc.to_commit)
    except (HAProxyError, DockerError, OSError, ValueError) as exc:
        module.fail_json(msg=f"rollback of {params['env']} failed: {exc}", mode="error")
    finally:
        shutil.rmtree(params["lock"], ignore_errors=True)
    module.exit_json(changed=True, mode="instant", from_version=plan.from_version, to_version=plan.to_version,
                     to_commit=plan.to_commit, color=plan.color, switch_ms=switch_ms)


if __name__ == "__main__":
    main()
