"""Running `docker` on an environment's host, for the commands that need a stream or a
terminal no Ansible task gives: `greenlight logs` and `greenlight exec`.

playbooks/locate.yml says where the environment runs (the host as Ansible reaches it, the
app and environment its containers are labelled with, the live and idle colors); `Host`
turns a docker command line into one that runs there: as it is on this machine, or over
ssh with the inventory's port, user, key and ssh options, under sudo when Ansible becomes
root there. Containers are found by their labels (greenlight.app, .env, .part, .color),
never by a name built here.
"""

from __future__ import annotations

import heapq
import shlex
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from . import image_stream

# Which color's container of a part that runs one per color.
COLOR_CHOICES = ("live", "idle", "blue", "green")


@dataclass(frozen=True)
class Host:
    connection: str = "local"
    address: str = "localhost"
    port: str = ""
    user: str = ""
    key: str = ""
    ssh_args: tuple[str, ...] = ()
    become: bool = False
    docker_socket: str = "/var/run/docker.sock"

    @classmethod
    def from_report(cls, report: dict) -> Host:
        return cls(connection=str(report.get("connection") or "ssh"), address=str(report.get("address") or ""),
                   port=str(report.get("port") or ""), user=str(report.get("user") or ""),
                   key=str(report.get("key") or ""), ssh_args=tuple(shlex.split(str(report.get("ssh_args") or ""))),
                   become=bool(report.get("become")),
                   docker_socket=str(report.get("docker_socket") or "/var/run/docker.sock"))

    @property
    def local(self) -> bool:
        return self.connection == "local"

    def docker(self, *args: str) -> list[str]:
        """A docker command line for the host's engine (the inventory's greenlight_docker_socket)."""
        return ["docker", *(["-H", f"unix://{self.docker_socket}"] if self.docker_socket != "/var/run/docker.sock" else []),
                *args]

    def argv(self, command: list[str], terminal: bool = False) -> list[str]:
        """The command line that runs `command` on the host (a terminal for it with `terminal`)."""
        if self.local:
            return command
        remote = (["sudo", "-n", "--"] if self.become else []) + command
        return ["ssh", "-t" if terminal else "-T", "-o", "BatchMode=yes",
                *(["-p", self.port] if self.port else []), *(["-i", self.key] if self.key else []),
                *self.ssh_args, f"{self.user}@{self.address}" if self.user else self.address,
                "--", shlex.join(remote)]


@dataclass(frozen=True)
class Container:
    name: str
    part: str
    color: str
    running: bool


@dataclass
class Environment:
    """An environment as playbooks/locate.yml reports it."""

    app: str
    env: str
    host: Host
    live_color: str = ""
    idle_color: str = ""
    containers: list[Container] = field(default_factory=list)

    @classmethod
    def from_report(cls, report: dict) -> Environment:
        return cls(app=str(report.get("app", "")), env=str(report.get("env", "")),
                   host=Host.from_report(report.get("host") or {}),
                   live_color=str(report.get("live_color") or ""), idle_color=str(report.get("idle_color") or ""))

    def list_containers(self, run: type[subprocess.run] = subprocess.run) -> list[Container]:  # type: ignore[valid-type]
        """Every container of the environment on its host, by label."""
        template = '{{.Names}}\t{{.Label "greenlight.part"}}\t{{.Label "greenlight.color"}}\t{{.State}}'
        done = run(self.host.argv(self.host.docker("ps", "-a", "--filter", f"label=greenlight.app={self.app}",
                                                    "--filter", f"label=greenlight.env={self.env}", "--format", template)),
                   capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise HostError(f"cannot list the containers of {self.env} on {self.host.address}: "
                            f"{(done.stderr.strip().splitlines() or ['?'])[-1]}")
        self.containers = []
        for line in done.stdout.splitlines():
            name, part, color, state = (line.split("\t") + ["", "", ""])[:4]
            self.containers.append(Container(name, part, color, state == "running"))
        return self.containers

    def color(self, wanted: str) -> str:
        """blue or green, from a COLOR_CHOICES word."""
        if wanted == "live":
            if not self.live_color:
                raise HostError(f"{self.env} has no live color yet (never deployed?)")
            return self.live_color
        if wanted == "idle":
            return self.idle_color
        return wanted

    def select(self, part: str = "", color: str = "live") -> list[Container]:
        """The containers of `part` (every part when empty); a part of each color only in `color`."""
        colored = self.color(color) if any(c.color for c in self.containers) else ""
        chosen = [c for c in self.containers if (not part or c.part == part) and (not c.color or c.color == colored)]
        if part and not chosen:
            parts = sorted({c.part for c in self.containers if c.part})
            where = f" in the {color} color ({colored})" if any(c.part == part for c in self.containers) else ""
            raise HostError(f"{self.env} has no {part} container{where}; its parts: {', '.join(parts) or 'none'}")
        return sorted(chosen, key=lambda c: c.name)


def image_ids(where: Host) -> dict[str, str]:
    """Every tag of the host's engine, and the ID of the image it names."""
    done = subprocess.run(where.argv(where.docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise HostError(f"cannot list the images on {where.address}: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def move_images(source: Host, target: Host, expected: dict[str, str], timeout: float = 3600) -> str:
    """The release's images, `docker save` on source's engine streamed into `docker load` on
    target's through this machine, where greenlight/image_stream.py lets only the expected
    images ({tag: image ID}) through under those tags (no file anywhere: an interrupted or
    refused stream loads nothing). A tag the target has as another image is refused, never
    moved; one it has as this image is not sent again. '' when done, else why not."""
    try:
        present = image_ids(target)
    except (HostError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    for tag, image_id in sorted(expected.items()):
        if tag in present and present[tag] != image_id:
            return (f"refused the images staging sent: production has {tag} as image "
                    f"{present[tag].removeprefix('sha256:')[:12]}, not the {image_id.removeprefix('sha256:')[:12]} "
                    f"staging ran; greenlight never moves a tag production has")
    expected = {tag: image_id for tag, image_id in expected.items() if present.get(tag) != image_id}
    if not expected:
        return ""
    save = subprocess.Popen(source.argv(source.docker("save", *sorted(expected))), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    load = subprocess.Popen(target.argv(target.docker("load")), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    timer = threading.Timer(timeout, lambda: (save.kill(), load.kill()))
    timer.start()
    try:
        image_stream.filter_stream(save.stdout, load.stdin, expected)  # type: ignore[arg-type]
        load.stdin.close()  # type: ignore[union-attr]
        load.stdin = None  # communicate() below must not flush it again
    except (image_stream.StreamRefused, tarfile.TarError, ValueError, OSError) as exc:
        # docker load must not see the end of the archive: killed first, it loads nothing.
        load.kill()
        save.kill()
        load.wait()
        save.wait()
        timer.cancel()
        saved = save.stderr.read().decode(errors="replace").strip()[-300:]  # type: ignore[union-attr]
        return (f"refused the images staging sent: {exc}" if isinstance(exc, image_stream.StreamRefused)
                else f"the image stream from {source.address} broke: {exc}" + (f" ({saved})" if saved else ""))
    finally:
        save.stdout.close()  # type: ignore[union-attr]
    loaded_out, loaded_err = load.communicate()
    saved = save.wait()
    timer.cancel()
    if saved != 0:
        return f"docker save on {source.address} failed: {save.stderr.read().decode(errors='replace').strip()[-500:]}"
    if load.returncode != 0:
        return f"docker load on {target.address} failed: {loaded_err.decode(errors='replace').strip()[-500:]}"
    return ""


class HostError(Exception):
    """The environment's host or its containers are not as the command needs them."""


# --since: what `docker logs` takes (a duration, or a time), checked here so a typo is a usage error.
SINCE = r"^([0-9]+(\.[0-9]+)?(s|m|h))+$|^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+)?(Z|[+-][0-9:]+)?$|^[0-9]+$"


def logs(environment: Environment, containers: list[Container], follow: bool = False, since: str = "",
         tail: str = "100", out: TextIO = sys.stdout) -> int:
    """Print the containers' logs (stdout and stderr); with several, each line after its part's
    name, in time order (as they come with `follow`). Returns docker's exit code."""
    options = [*(["--follow"] if follow else []), *(["--since", since] if since else []), "--tail", tail]
    if len(containers) == 1:
        return subprocess.run(environment.host.argv(environment.host.docker("logs", *options, containers[0].name))).returncode
    width = max(len(label(c)) for c in containers)
    processes = [subprocess.Popen(environment.host.argv(environment.host.docker("logs", "--timestamps", *options, c.name)),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
                 for c in containers]

    def lines(container: Container, process: subprocess.Popen) -> Iterator[tuple[str, str, str]]:
        for line in process.stdout:  # type: ignore[union-attr]
            stamp, _, text = line.rstrip("\n").partition(" ")
            yield stamp, label(container), text

    streams = [lines(c, p) for c, p in zip(containers, processes)]
    try:
        if follow:
            # As they come: one reader per container, one line at a time on the terminal.
            printed = threading.Lock()

            def read(stream: Iterator[tuple[str, str, str]]) -> None:
                for _stamp, name, text in stream:
                    with printed:
                        out.write(f"{name:<{width}} | {text}\n")
                        out.flush()

            readers = [threading.Thread(target=read, args=(stream,), daemon=True) for stream in streams]
            for reader in readers:
                reader.start()
            for reader in readers:
                while reader.is_alive():
                    reader.join(0.2)
        else:
            # Each container's lines come in time order (docker's fixed-width timestamps), so
            # merging the streams orders them all without holding any in memory.
            for stamp, name, text in heapq.merge(*streams, key=lambda item: item[0]):
                out.write(f"{name:<{width}} | {stamp} {text}\n")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
    return max(process.wait() for process in processes)


def label(container: Container) -> str:
    return f"{container.part}-{container.color}" if container.color else container.part


def execute(environment: Environment, container: Container, command: list[str], user: str = "") -> int:
    """Run `command` in the container (as `user`, else the image's user), with a terminal when
    this one has one. Its exit code."""
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    argv = [*environment.host.docker("exec"), "-i", *(["-t"] if terminal else []), *(["--user", user] if user else []),
            container.name, *command]
    return subprocess.run(environment.host.argv(argv, terminal=terminal)).returncode
