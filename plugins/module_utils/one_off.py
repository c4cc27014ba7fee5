"""A one-off container (a migration, the test data's seed): run to its end, hardened, within a time.

Like every container greenlight starts (docs/security.md): no capability, no
privilege gained through setuid, a read-only root with a /tmp in memory, memory, CPU and
process limits, the environment's CPU weight, a rotated log. It runs in the foreground of its
task; one that runs longer than its timeout is killed and removed, and the task fails saying
so. Whatever happens, the container is gone when the module returns (recovery removes one a
killed run left, plugins/module_utils/recovery.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from ansible_collections.greenlight.deploy.plugins.module_utils import database_env, docker_api

SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([bkmg]?)b?$", re.I)
UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def size_bytes(text: str) -> int:
    """Docker's memory sizes (512m, 1g, 300000k, 1048576) in bytes."""
    found = SIZE.match(str(text).strip())
    if not found:
        raise ValueError(f"{text!r} is not a size (512m, 1g)")
    return int(float(found.group(1)) * UNITS[found.group(2).lower()])


@dataclass
class OneOff:
    name: str
    image: str
    command: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    network: str = ""
    env: dict = field(default_factory=dict)
    binds: list[str] = field(default_factory=list)          # "host:container[:ro]"
    labels: dict = field(default_factory=dict)
    user: str = ""
    memory: str = "512m"
    cpus: float = 1.0
    pids_limit: int = 256
    cpu_shares: int = 1024
    security_opts: list[str] = field(default_factory=lambda: ["no-new-privileges:true"])
    log_options: dict = field(default_factory=lambda: {"max-size": "10m", "max-file": "3"})
    tmpfs: list[str] = field(default_factory=lambda: ["/tmp"])

    def spec(self) -> dict:
        """The Engine API's create body."""
        memory = size_bytes(self.memory)
        spec = {
            "Image": self.image,
            "Env": [f"{key}={value}" for key, value in sorted(self.env.items())],
            "Labels": {str(key): str(value) for key, value in self.labels.items()},
            "HostConfig": {
                "NetworkMode": self.network or "none",
                "Binds": list(self.binds),
                "ReadonlyRootfs": True,
                "Tmpfs": {path: "rw,nosuid,nodev,size=64m" for path in self.tmpfs},
                "CapDrop": ["ALL"],
                "SecurityOpt": list(self.security_opts),
                "Memory": memory,
                "MemorySwap": memory,
                "NanoCpus": int(float(self.cpus) * 1e9),
                "PidsLimit": int(self.pids_limit),
                "CpuShares": int(self.cpu_shares),
                "LogConfig": {"Type": "json-file", "Config": {str(k): str(v) for k, v in self.log_options.items()}},
            },
        }
        if self.command:
            spec["Cmd"] = [str(word) for word in self.command]
        if self.entrypoint:
            spec["Entrypoint"] = [str(word) for word in self.entrypoint]
        if self.user:
            spec["User"] = self.user
        return spec


@dataclass
class Ran:
    rc: int
    output: str
    seconds: float
    timed_out: bool = False


def with_password_variable(socket_path: str, one_off: OneOff, wrapper: str) -> OneOff:
    """When its env file names a variable for the database password (database_env.VARIABLE):
    greenlight's entrypoint (`wrapper` on the host, mounted read-only) puts the password there,
    then the image's entrypoint and the command run."""
    if database_env.VARIABLE not in one_off.env:
        return one_off
    if not wrapper:
        raise ValueError(f"{one_off.name}: its env file asks for the password in "
                         f"{one_off.env[database_env.VARIABLE]}, and no wrapper is given")
    config = docker_api.image_config(socket_path, one_off.image)
    one_off.entrypoint, one_off.command = database_env.wrapped(config.get("Entrypoint"), config.get("Cmd"),
                                                               one_off.command)
    one_off.binds = [*one_off.binds, f"{wrapper}:{database_env.WRAPPER}:ro"]
    return one_off


def run(socket_path: str, one_off: OneOff, timeout: float, clock=time.monotonic) -> Ran:
    """Run it to its end (or `timeout` seconds), then remove it; its exit code and last output."""
    docker_api.delete_container(socket_path, one_off.name)  # one an interrupted run left
    started = clock()
    docker_api.create_container(socket_path, one_off.name, one_off.spec())
    try:
        docker_api.start_container(socket_path, one_off.name)
        try:
            rc, timed_out = docker_api.wait_exit(socket_path, one_off.name, timeout), False
        except docker_api.DockerTimeout:
            docker_api.kill_container(socket_path, one_off.name)
            rc, timed_out = -1, True
        output = docker_api.container_logs(socket_path, one_off.name)
    finally:
        docker_api.delete_container(socket_path, one_off.name)
    return Ran(rc, output, clock() - started, timed_out)


def read_env_file(path: str) -> dict:
    """KEY=value lines of a Docker env file (# comments and blank lines skipped)."""
    found = {}
    with open(path) as stream:
        for line in stream:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                found[key.strip()] = value
    return found
