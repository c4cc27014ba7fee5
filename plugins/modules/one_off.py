#!/usr/bin/python
"""Run a one-off container to its end, hardened and within a time (plugins/module_utils/one_off.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: one_off
short_description: Run a one-off container (a migration) to its end, hardened, within a time limit
description:
  - >-
      Creates the container with no capability, no-new-privileges, a read-only root with
      C(/tmp) in memory, memory, CPU and process limits, the environment's CPU weight and a
      rotated log; starts it, waits for it to end, and removes it.
  - >-
      Fails when it exits non-zero, or runs longer than O(timeout) (it is then killed), with
      its last output in the message.
options:
  name: {description: "The container's name (a leftover of that name is removed first).", type: str, required: true}
  image: {description: "The image (reference or ID).", type: str, required: true}
  command: {description: "The command and its arguments (default the image's).", type: list, elements: str, default: []}
  network: {description: "The network it joins (default: none).", type: str, default: ""}
  env_file: {description: "A file of KEY=value lines on the host (settings that are not secrets).", type: path}
  env: {description: "More environment variables.", type: dict, default: {}}
  binds: {description: "Host paths mounted, host:container[:ro].", type: list, elements: str, default: []}
  labels: {description: "Labels of the container.", type: dict, default: {}}
  user: {description: "The user it runs as (default: the image's).", type: str, default: ""}
  timeout: {description: "Seconds it may run before it is killed.", type: float, required: true}
  memory: {description: "Its memory limit (512m).", type: str, default: 512m}
  cpus: {description: "Its CPU limit.", type: float, default: 1.0}
  pids_limit: {description: "Its process limit.", type: int, default: 256}
  cpu_shares: {description: "Its CPU weight.", type: int, default: 1024}
  security_opts: {description: "Docker security options.", type: list, elements: str, default: ["no-new-privileges:true"]}
  log_options: {description: "The json-file log driver's options.", type: dict, default: {}}
  docker_socket: {description: "The Docker engine's socket.", type: path, default: /var/run/docker.sock}
  wrapper:
    description: >-
      greenlight's password entrypoint on the host (plugins/module_utils/database_env.py): when the env file names a
      variable for the database password, it is mounted read-only and runs first, then the image's entrypoint and the command.
    type: path
    default: ""
author: greenlight
"""

EXAMPLES = r"""
- name: Apply the release's database migrations
  greenlight.deploy.one_off:
    name: shop-production-migrate
    image: shop-backend:1a2b3c4d5e6f
    command: [python3, -m, shop.migrate]
    network: shop-production-net
    timeout: 600
"""

RETURN = r"""
rc: {description: "Its exit code (-1 when it was killed for its time).", returned: always, type: int}
output: {description: "The last lines it printed.", returned: always, type: str}
seconds: {description: "How long it ran.", returned: always, type: float}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import DockerError
from ansible_collections.greenlight.deploy.plugins.module_utils.one_off import OneOff, read_env_file, run, with_password_variable


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "image": {"type": "str", "required": True},
            "command": {"type": "list", "elements": "str", "default": []},
            "network": {"type": "str", "default": ""},
            "env_file": {"type": "path"},
            "env": {"type": "dict", "default": {}},
            "binds": {"type": "list", "elements": "str", "default": []},
            "labels": {"type": "dict", "default": {}},
            "user": {"type": "str", "default": ""},
            "timeout": {"type": "float", "required": True},
            "memory": {"type": "str", "default": "512m"},
            "cpus": {"type": "float", "default": 1.0},
            "pids_limit": {"type": "int", "default": 256},
            "cpu_shares": {"type": "int", "default": 1024},
            "security_opts": {"type": "list", "elements": "str", "default": ["no-new-privileges:true"]},
            "log_options": {"type": "dict", "default": {}},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
            "wrapper": {"type": "path", "default": ""},
        },
        supports_check_mode=True,
    )
    p = module.params
    if module.check_mode:
        module.exit_json(changed=True, rc=0, output="", seconds=0.0)
    try:
        env = {**(read_env_file(p["env_file"]) if p["env_file"] else {}), **p["env"]}
        one_off = OneOff(name=p["name"], image=p["image"], command=p["command"], network=p["network"], env=env,
                         binds=p["binds"], labels=p["labels"], user=p["user"], memory=p["memory"], cpus=p["cpus"],
                         pids_limit=p["pids_limit"], cpu_shares=p["cpu_shares"], security_opts=p["security_opts"],
                         log_options=p["log_options"] or {"max-size": "10m", "max-file": "3"})
        one_off = with_password_variable(p["docker_socket"], one_off, p["wrapper"])
        ran = run(p["docker_socket"], one_off, p["timeout"])
    except (OSError, ValueError, DockerError) as exc:
        module.fail_json(msg=f"cannot run {p['name']}: {exc}", rc=-1, output="", seconds=0.0)
    result = {"changed": True, "rc": ran.rc, "output": ran.output, "seconds": round(ran.seconds, 1)}
    last = "\n".join(ran.output.strip().splitlines()[-20:])
    if ran.timed_out:
        module.fail_json(msg=f"{p['name']} ran longer than {p['timeout']:g} s and was killed; its last output:\n{last}",
                         **result)
    if ran.rc != 0:
        module.fail_json(msg=f"{p['name']} exited with code {ran.rc}: {last}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
