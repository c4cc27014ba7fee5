#!/usr/bin/python
"""Adopt a running compose app's containers as an environment's live color, and carry its public ports."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: adopt
short_description: Take a running compose app's containers and public ports into an environment, step by step
description:
  - >-
      The steps of greenlight adopt (roles/adopt, docs/your-app.md#adopt-without-downtime), each safe to repeat
      and to kill: the state file O(state_file) says where an adoption stands
      (plugins/module_utils/adopt.py).
  - >-
      C(connect): the compose project's running container of each part in O(parts) joins O(network) under the
      name of that part's O(color) (C(<prefix>-<part>-<color>)), so HAProxy serves it as that color; the state
      file names them. C(release): they leave the network (a release is about to take their color).
      C(redirect): the nftables table C(greenlight_adopt_<prefix>) sends O(public) ports (from anywhere) and O(local) ports (from
      this machine) to O(container)'s address on O(network), ahead of Docker's own rules. C(unredirect): the
      table goes. C(finishing): the state notes that the handover began. C(drain): wait up to O(timeout)
      seconds until the compose containers hold no connection but the proxy's (on O(network)): a client's
      keep-alive connection from before the ports moved still reaches them directly. C(stop): the compose containers
      stop. C(retire): HAProxy in O(container) stops softly (SIGUSR1: its connections finish) and the container
      goes. C(forget): the state file goes.
options:
  action: {description: What to do., type: str, required: true,
           choices: [connect, release, redirect, unredirect, finishing, drain, stop, retire, forget]}
  state_file: {description: "The environment's adoption state file.", type: path, required: true}
  project: {description: "The compose project (connect; default: the state's).", type: str, default: ""}
  parts: {description: "The environment's web parts (connect).", type: list, elements: str, default: []}
  services: {description: "A part's compose service where its name differs (connect).", type: dict, default: {}}
  color: {description: "The color the compose containers answer for (connect).", type: str, default: ""}
  colors: {description: "The color slots.", type: list, elements: str, default: []}
  prefix: {description: "The environment's prefix (container names).", type: str, default: ""}
  network: {description: "The environment's Docker network.", type: str, default: ""}
  container: {description: "The container the ports go to (redirect), or that goes (retire).", type: str, default: ""}
  public: {description: "Host port to container port, from anywhere (redirect).", type: dict, default: {}}
  local: {description: "Host port to container port, from this machine, to 127.0.0.1 (redirect).", type: dict, default: {}}
  bind: {description: "The address the public ports are for (proxy_bind_address; 0.0.0.0 every local one).", type: str, default: 0.0.0.0}
  timeout: {description: "Seconds to wait (drain).", type: int, default: 60}
  docker_socket: {description: Docker's socket., type: path, default: /var/run/docker.sock}
author: greenlight
"""

EXAMPLES = r"""
- name: Serve the compose containers as blue
  greenlight.deploy.adopt:
    action: connect
    state_file: /var/lib/greenlight/shop-production/adopt.json
    project: shop
    parts: [frontend, backend]
    color: blue
    colors: [blue, green]
    prefix: shop-production
    network: shop-production-net
"""

RETURN = r"""
state: {description: "The adoption state afterwards ({} once forgotten).", returned: always, type: dict}
address: {description: "The container's address the ports go to (redirect).", returned: when redirected, type: str}
drained: {description: "Seconds waited, and the direct connections left when the wait ended (drain).", returned: when drained, type: dict}
"""

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils import docker_api
from ansible_collections.greenlight.deploy.plugins.module_utils.adopt import (AdoptError, compose_containers,
                                                                              direct_connections, loopback, read_state,
                                                                              render_table, table_name)
from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.greenlight.deploy.plugins.module_utils.settings import shown


def load(path: str, colors: list[str]) -> dict:
    try:
        with open(path, encoding="utf-8") as stream:
            return read_state(path, stream.read(), colors)
    except FileNotFoundError:
        return {}


def save(path: str, state: dict) -> None:
    write_atomically(path, json.dumps(state, indent=2, sort_keys=True) + "\n")


def networks(socket: str, name: str) -> dict:
    found = docker_api.inspect_container(socket, name)
    if found is None:
        raise AdoptError(f"container {name} is gone")
    return (found.get("NetworkSettings") or {}).get("Networks") or {}


def connect(module: AnsibleModule, state: dict) -> tuple[bool, dict]:
    p = module.params
    socket = p["docker_socket"]
    if p["color"] not in p["colors"]:
        raise AdoptError(f"color {p['color']!r}: not one of {', '.join(p['colors'])}")
    project = p["project"] or state.get("project", "")
    if state and project != state["project"]:
        raise AdoptError(f"this environment is adopting compose project {state['project']}, not {project}")
    if state and state["color"] not in ("", p["color"]):
        raise AdoptError(f"the compose containers answer for {state['color']}, not {p['color']}")
    for part in p["parts"]:
        ours = docker_api.inspect_container(socket, f"{p['prefix']}-{part}-{p['color']}")
        if ours is not None:
            raise AdoptError(f"{p['prefix']}-{part}-{p['color']} exists: {p['color']} runs a release of greenlight's, "
                             f"not the compose containers (adopt takes over an app greenlight does not serve yet)")
    found = compose_containers(project, p["parts"], p["services"], docker_api.list_all_containers(socket))
    changed = False
    for part, name in found.items():
        alias = f"{p['prefix']}-{part}-{p['color']}"
        attached = networks(socket, name).get(p["network"])
        if attached is not None and alias in (attached.get("Aliases") or []):
            continue
        if attached is not None:
            docker_api.disconnect_network(socket, p["network"], name)
        docker_api.connect_network(socket, p["network"], name, [alias])
        changed = True
    new = {"project": project, "containers": found, "color": p["color"], "stage": state.get("stage", "serving")}
    if new != state:
        save(p["state_file"], new)
        changed = True
    return changed, new


def release(module: AnsibleModule, state: dict) -> tuple[bool, dict]:
    p = module.params
    if not state or not state["color"]:
        return False, state
    for name in state["containers"].values():
        found = docker_api.inspect_container(p["docker_socket"], name)
        if found is not None and p["network"] in ((found.get("NetworkSettings") or {}).get("Networks") or {}):
            docker_api.disconnect_network(p["docker_socket"], p["network"], name)
    new = {**state, "color": ""}
    save(p["state_file"], new)
    return True, new


def drain(module: AnsibleModule, state: dict) -> dict:
    """Wait until the compose containers hold no connection through their published ports, or the timeout."""
    p = module.params
    started = time.monotonic()
    while True:
        left = 0
        for name in state["containers"].values():
            found = docker_api.inspect_container(p["docker_socket"], name) or {}
            pid = (found.get("State") or {}).get("Pid") or 0
            settings = found.get("NetworkSettings") or {}
            ports = [int(port.split("/")[0]) for port, bound in (settings.get("Ports") or {}).items()
                     if bound and port.endswith("/tcp")]
            attached = (settings.get("Networks") or {}).items()
            networks = [f"{n['IPAddress']}/{n['IPPrefixLen']}" for _, n in attached if n.get("IPAddress")]
            gateways = [n["Gateway"] for name_, n in attached if n.get("Gateway") and name_ != p["network"]]
            tables = []
            for table in ("tcp", "tcp6"):
                try:
                    with open(f"/proc/{pid}/net/{table}", encoding="ascii") as stream:
                        tables.append(stream.read())
                except OSError:
                    pass  # stopped, or no IPv6
            left += direct_connections(tables, ports, networks, gateways) if pid else 0
        waited = time.monotonic() - started
        if left == 0 or waited >= p["timeout"]:
            return {"seconds": round(waited, 1), "left": left}
        time.sleep(0.5)


def nft(module: AnsibleModule, *args: str, data: str | None = None) -> tuple[int, str, str]:
    binary = module.get_bin_path("nft")
    if not binary:
        raise AdoptError("nft is not installed on the host (Debian: apt-get install nftables); adopt moves the "
                         "public ports with an nftables table")
    return module.run_command([binary, *args], data=data, binary_data=True)


def applied(module: AnsibleModule, table: str) -> set[tuple[str, int, str, int]] | None:
    """The (hook chain, port, address, port) the table sends on now; None when there is no table."""
    rc, out, err = nft(module, "list", "table", "ip", table)
    if rc != 0 and "No such file or directory" in err:
        return None
    if rc != 0:
        raise AdoptError(f"nft could not list the table {table}: {shown(err.strip())}")
    found, chain = set(), ""
    for line in out.splitlines():
        if match := re.match(r"\s*chain (\w+)", line):
            chain = match.group(1)
        elif match := re.search(r"tcp dport (\d+) dnat (?:ip )?to ([\d.]+):(\d+)", line):
            found.add((chain, int(match.group(1)), match.group(2), int(match.group(3))))
    return found


def redirect(module: AnsibleModule) -> tuple[bool, str]:
    p = module.params
    attached = networks(p["docker_socket"], p["container"]).get(p["network"]) or {}
    address = attached.get("IPAddress") or ""
    if not address:
        raise AdoptError(f"{p['container']} has no address on {p['network']}")
    public = {int(k): int(v) for k, v in p["public"].items()}
    local = {int(k): int(v) for k, v in p["local"].items()}
    table = table_name(p["prefix"])
    script = render_table(table, address, public, local, p["bind"])
    wanted = ({("prerouting", host, address, inner) for host, inner in public.items() if not loopback(p["bind"])}
              | {("output", host, address, inner) for host, inner in {**local, **public}.items()})
    if applied(module, table) == wanted:
        return False, address
    if not module.check_mode:
        rc, _, err = nft(module, "-f", "-", data=script)
        if rc != 0:
            raise AdoptError(f"nft refused the table {table}: {shown(err.strip())}")
    return True, address


def unredirect(module: AnsibleModule) -> bool:
    table = table_name(module.params["prefix"])
    if applied(module, table) is None:
        return False
    if not module.check_mode:
        rc, _, err = nft(module, "delete", "table", "ip", table)
        if rc != 0:
            raise AdoptError(f"nft could not delete the table {table}: {shown(err.strip())}")
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "required": True,
                       "choices": ["connect", "release", "redirect", "unredirect", "finishing", "drain", "stop",
                                   "retire", "forget"]},
            "state_file": {"type": "path", "required": True},
            "project": {"type": "str", "default": ""},
            "parts": {"type": "list", "elements": "str", "default": []},
            "services": {"type": "dict", "default": {}},
            "color": {"type": "str", "default": ""},
            "colors": {"type": "list", "elements": "str", "default": []},
            "prefix": {"type": "str", "default": ""},
            "network": {"type": "str", "default": ""},
            "container": {"type": "str", "default": ""},
            "public": {"type": "dict", "default": {}},
            "local": {"type": "dict", "default": {}},
            "bind": {"type": "str", "default": "0.0.0.0"},
            "timeout": {"type": "int", "default": 60},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
        },
        supports_check_mode=False,
    )
    p = module.params
    try:
        state = load(p["state_file"], p["colors"])
        action, changed, address, extra = p["action"], False, "", {}
        if action == "connect":
            changed, state = connect(module, state)
        elif action == "release":
            changed, state = release(module, state)
        elif action == "redirect":
            changed, address = redirect(module)
        elif action == "unredirect":
            changed = unredirect(module)
        elif action == "finishing" and state and state["stage"] != "finishing":
            state = {**state, "stage": "finishing"}
            save(p["state_file"], state)
            changed = True
        elif action == "drain" and state:
            extra["drained"] = drain(module, state)
        elif action == "stop" and state:
            for name in state["containers"].values():
                found = docker_api.inspect_container(p["docker_socket"], name)
                if found is not None and (found.get("State") or {}).get("Running"):
                    # `restart: always` would start it again with the daemon, and take the
                    # public ports back from greenlight's proxy.
                    docker_api.update_container(p["docker_socket"], name, {"RestartPolicy": {"Name": "no"}})
                    docker_api.stop_container(p["docker_socket"], name, timeout=120)
                    changed = True
        elif action == "retire" and docker_api.inspect_container(p["docker_socket"], p["container"]) is not None:
            docker_api.kill_container(p["docker_socket"], p["container"], signal="SIGUSR1")
            try:
                docker_api.wait_exit(p["docker_socket"], p["container"], timeout=90)
            finally:
                docker_api.delete_container(p["docker_socket"], p["container"])
            changed = True
        elif action == "forget" and os.path.exists(p["state_file"]):
            os.unlink(p["state_file"])
            state, changed = {}, True
    except (AdoptError, docker_api.DockerError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, state=state, **({"address": address} if address else {}), **extra)


if __name__ == "__main__":
    main()
