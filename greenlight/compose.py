"""An app's docker-compose file, read for `greenlight init --from-compose` (docs/your-app.md).

The file is YAML (PyYAML's safe loader) and its `.env` and `env_file`s are dotenv files
(python-dotenv); variables are put in by the Compose specification's interpolation rules
(`interpolate`: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
`${VAR:+other}`, `$$`), from the shell's environment over the `.env` beside the file, as
docker compose does.

The file is the app's text, so hostile text is expected: every file it names is read only
inside the repository (or the compose file's folder), as a regular file, at most MAX_BYTES;
nesting and interpolation depth are bounded; a value that is not what Compose allows stops
the read with one line naming it (shown bounded, never expanded). What init writes from it is
data (greenlight/init.py dumps every value as YAML; a value Jinja would read is !unsafe).

What greenlight takes of each service is in `Service`; what it cannot take is a `Note`
(service, key, why), which init writes as a comment.
"""

from __future__ import annotations

import io
import os
import re
import reprlib
import shlex
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dotenv import dotenv_values

from .scrub import one_line

# Bounds on what is read: a compose file, and the .env and env_files it names; ${...} nesting.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 10
# A variable's name in interpolation and in an environment.
VARIABLE = r"[A-Za-z_][A-Za-z0-9_]*"
# Images of the database engines greenlight's database settings describe.
DATABASE_IMAGES = {"mysql": "mysql", "mariadb": "mariadb", "percona": "mysql", "percona/percona-server": "mysql",
                   "bitnami/mysql": "mysql", "bitnami/mariadb": "mariadb"}
# Service keys greenlight takes, and the ones that need no word (they mean nothing to it, or
# greenlight gives them itself: its own network, restart policy, names, labels).
TAKEN = {"build", "image", "ports", "expose", "command", "environment", "env_file", "healthcheck",
         "stop_grace_period", "deploy", "cpus", "mem_limit", "depends_on"}
GIVEN = {"restart", "networks", "container_name", "labels", "logging", "hostname", "init", "platform",
         "pull_policy", "profiles", "links", "stdin_open", "tty"}
_REPR = reprlib.Repr()  # keyword arguments only from Python 3.12
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 2, 60, 60, 4, 4


def shown(value: object) -> str:
    """A value of the file as a message quotes it: bounded, one line."""
    return one_line(_REPR.repr(value))


class ComposeError(Exception):
    """The compose file cannot be read; the message says where and why."""


@dataclass
class Port:
    target: int
    published: int | None = None
    host_ip: str = ""


@dataclass
class Note:
    service: str
    key: str
    why: str


@dataclass
class Service:
    name: str
    context: str = ""  # the build context, relative to the compose file's folder; "" for an image only
    dockerfile: str = "Dockerfile"
    image: str = ""
    ports: list[Port] = field(default_factory=list)
    expose: list[int] = field(default_factory=list)
    command: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    # The variables whose values went into each environment entry (interpolation): a value
    # that came from a secret's variable is a secret.
    sources: dict[str, set[str]] = field(default_factory=dict)
    health_test: list[str] = field(default_factory=list)
    stop_grace_seconds: int | None = None
    cpus: float | None = None
    memory: str = ""
    depends_on: list[str] = field(default_factory=list)

    @property
    def engine(self) -> str:
        """mysql or mariadb when the service runs one of them from its image, else ''."""
        reference = self.image.split("@", 1)[0]
        repository = reference.rsplit(":", 1)[0] if ":" in reference.split("/")[-1] else reference
        return DATABASE_IMAGES.get(repository.removeprefix("docker.io/").removeprefix("library/"), "")

    @property
    def version(self) -> str:
        last = self.image.split("@", 1)[0].split("/")[-1]
        return last.split(":", 1)[1] if ":" in last else ""


@dataclass
class Compose:
    path: Path
    services: dict[str, Service]
    notes: list[Note]
    values: dict[str, str]  # the variables interpolation read (the shell's over the .env)


def interpolate(text: str, values: Mapping[str, str], where: str = "", used: set[str] | None = None,
                depth: int = 0) -> str:
    """`text` with its variables put in by the Compose specification's rules; the names it
    read go into `used`."""
    if depth > MAX_DEPTH:
        raise ComposeError(f"{where}: ${{...}} nested deeper than {MAX_DEPTH}")
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        if text.startswith("$$", index):
            out.append("$")
            index += 2
            continue
        plain = re.match(VARIABLE, text[index + 1:])
        if plain:
            if used is not None:
                used.add(plain.group(0))
            out.append(values.get(plain.group(0), ""))
            index += 1 + plain.end()
            continue
        if not text.startswith("${", index):
            out.append(char)
            index += 1
            continue
        end, nested = index + 2, 1
        while end < len(text):
            if text.startswith("${", end):
                nested, end = nested + 1, end + 2
                continue
            if text[end] == "}":
                nested -= 1
                if not nested:
                    break
            end += 1
        if nested:
            raise ComposeError(f"{where}: an unclosed ${{ in {shown(text)}")
        out.append(_expression(text[index + 2:end], values, where, used, depth))
        index = end + 1
    return "".join(out)


def _expression(body: str, values: Mapping[str, str], where: str, used: set[str] | None, depth: int) -> str:
    match = re.fullmatch(rf"({VARIABLE})(?:(:?)([-?+])(.*))?", body, re.S)
    if not match:
        raise ComposeError(f"{where}: ${{{shown(body)[1:-1]}}} is not a variable Compose knows")
    name, colon, operator, argument = match.groups()
    if used is not None:
        used.add(name)
    value = values.get(name)
    present = value is not None and (value != "" or not colon)
    if operator is None:
        return value or ""
    if operator == "-":
        return value if present else interpolate(argument, values, where, used, depth + 1)
    if operator == "+":
        return interpolate(argument, values, where, used, depth + 1) if present else ""
    if not present:  # "?": required; its message is said as written (it may name other variables)
        raise ComposeError(f"{where}: {name} is not set ({shown(argument)[1:-1] or 'required'})")
    return value


def read_bounded(path: Path, what: str, top: Path) -> str:
    """A file the compose file names: inside `top` once links are followed, a regular file,
    at most MAX_BYTES, UTF-8."""
    try:
        resolved = path.resolve(strict=True)
        resolved.relative_to(top.resolve())
    except (OSError, RuntimeError):
        raise ComposeError(f"cannot read the {what} {shown(str(path))}: no such file") from None
    except ValueError:
        raise ComposeError(f"the {what} {shown(str(path))} is outside {top}; greenlight reads only the "
                           f"repository's files") from None
    try:
        # Non-blocking: opening a FIFO would otherwise wait for a writer.
        descriptor = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise ComposeError(f"the {what} {shown(str(path))} is not a regular file")
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ComposeError(f"cannot read the {what} {shown(str(path))}: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise ComposeError(f"the {what} {shown(str(path))} is larger than {MAX_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ComposeError(f"the {what} {shown(str(path))} is not UTF-8 text") from None


def dotenv(path: Path, what: str, top: Path, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """A dotenv file's variables, read by python-dotenv; ${VAR} in it from `values`."""
    read = dotenv_values(stream=io.StringIO(read_bounded(path, what, top)), interpolate=False)
    known = {**(values or {}), **{k: v for k, v in read.items() if v is not None}}
    return {name: interpolate(value, known, f"{path.name}: {name}") for name, value in read.items()
            if value is not None and re.fullmatch(VARIABLE, name)}


def load(path: Path, environ: Mapping[str, str], top: Path | None = None) -> Compose:
    """The compose file at `path`, interpolated from `environ` over the .env beside it; the
    files it names are read only under `top` (the repository; default: its folder)."""
    folder = path.parent
    top = top or folder
    values = dict(environ)
    if (folder / ".env").is_file():
        values = {**dotenv(folder / ".env", ".env file", top, environ), **environ}
    try:
        document = yaml.safe_load(read_bounded(path, "compose file", top))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ComposeError(f"{path}: not YAML" + (f" (line {mark.line + 1})" if mark else "")) from None
    except RecursionError:
        raise ComposeError(f"{path}: nested too deep") from None
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict) or not document["services"]:
        raise ComposeError(f"{path}: no services (a compose file has a mapping `services:`)")
    notes: list[Note] = []
    services = {}
    for name, spec in document["services"].items():
        if not isinstance(name, str) or not isinstance(spec, dict):
            raise ComposeError(f"{path}: service {shown(name)} is not a named mapping")
        services[name] = _service(name, spec, folder, top, values, notes)
    notes.extend(Note("", str(key), "a top-level key greenlight does not read") for key in document
                 if key not in ("services", "version", "name", "volumes", "networks") and not str(key).startswith("x-"))
    return Compose(path, services, notes, values)


def _listed(value: object, key: str, name: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComposeError(f"service {name} {key}: {shown(value)} is not a list")
    return value


def _mapping(value: object, key: str, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ComposeError(f"service {name} {key}: {shown(value)} is not a mapping")
    return value


def _service(name: str, spec: dict, folder: Path, top: Path, values: Mapping[str, str], notes: list[Note]) -> Service:
    def text(value: object, key: str, used: set[str] | None = None) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ComposeError(f"service {name} {key}: {shown(value)} is not a value")
        return interpolate(str(value), values, f"service {name} {key}", used)

    service = Service(name)
    build = spec.get("build")
    if isinstance(build, (str, dict)):
        context = text(build if isinstance(build, str) else build.get("context", "."), "build")
        service.context = context.rstrip("/") or "."
        if isinstance(build, dict) and build.get("dockerfile"):
            service.dockerfile = text(build["dockerfile"], "build.dockerfile")
        if isinstance(build, dict):
            notes.extend(Note(name, f"build.{key}", "greenlight builds from the context and Dockerfile only")
                         for key in build if key not in ("context", "dockerfile"))
    if spec.get("image") is not None:
        service.image = text(spec["image"], "image")
    for item in _listed(spec.get("ports"), "ports", name):
        port = _port(item, lambda value, key="ports": text(value, key))
        if port:
            service.ports.append(port)
        else:
            notes.append(Note(name, "ports", f"{shown(item)}: not a single TCP port greenlight can give a proxy"))
    for item in _listed(spec.get("expose"), "expose", name):
        exposed = text(item, "expose").split("/")[0]
        if exposed.isascii() and exposed.isdigit() and 0 < int(exposed) < 65536:
            service.expose.append(int(exposed))
    command = spec.get("command")
    if isinstance(command, str):
        try:
            service.command = shlex.split(text(command, "command"))
        except ValueError:
            raise ComposeError(f"service {name} command: {shown(command)} is not a command line") from None
    elif isinstance(command, list):
        service.command = [text(arg, "command") for arg in command]
    env_files = spec.get("env_file")
    for env_file in [env_files] if isinstance(env_files, (str, dict)) else _listed(env_files, "env_file", name):
        file_name = env_file.get("path") if isinstance(env_file, dict) else env_file
        read = dotenv(folder / text(file_name, "env_file"), "env_file", top, values)
        service.environment.update(read)
        service.sources.update({key: set() for key in read})
    environment = spec.get("environment")
    if isinstance(environment, list):
        if not all(isinstance(item, str) for item in environment):
            raise ComposeError(f"service {name} environment: {shown(environment)} is not a list of NAME=value")
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    for key, value in _mapping(environment, "environment", name).items():
        key = str(key)
        if value is None:  # `- NAME` alone: compose takes it from the shell
            if key in values:
                service.environment[key], service.sources[key] = values[key], {key}
            continue
        used: set[str] = set()
        service.environment[key] = "" if value == "" else text(value, f"environment.{shown(key)[1:-1]}", used)
        service.sources[key] = used
    health = _mapping(spec.get("healthcheck"), "healthcheck", name)
    if not health.get("disable"):
        test = health.get("test")
        if isinstance(test, str):
            service.health_test = ["CMD-SHELL", text(test, "healthcheck.test")]
        elif isinstance(test, list):
            service.health_test = [text(arg, "healthcheck.test") for arg in test]
    if spec.get("stop_grace_period") is not None:
        service.stop_grace_seconds = duration(text(spec["stop_grace_period"], "stop_grace_period"))
    deploy = _mapping(spec.get("deploy"), "deploy", name)
    limits = _mapping(_mapping(deploy.get("resources"), "deploy.resources", name).get("limits"),
                      "deploy.resources.limits", name)
    cpus = limits.get("cpus", spec.get("cpus"))
    if cpus is not None:
        try:
            service.cpus = float(text(cpus, "cpus"))
        except ValueError:
            notes.append(Note(name, "cpus", f"{shown(cpus)} is not a number of CPUs"))
    memory = limits.get("memory", spec.get("mem_limit"))
    if memory is not None:
        service.memory = text(memory, "memory").lower().removesuffix("b")
    depends = spec.get("depends_on")
    depends = depends if isinstance(depends, dict) else _listed(depends, "depends_on", name)
    service.depends_on = [str(d) for d in depends]
    for key in spec:
        if key == "deploy":
            notes.extend(Note(name, f"deploy.{part}", "greenlight runs one container per color; it sets no replicas "
                                                      "or placement") for part in deploy if part != "resources")
        elif key == "volumes":
            notes.append(Note(name, "volumes", "greenlight gives a part no volume: a release is its image (the "
                                               "database's data is greenlight's own volume)"))
        elif key not in TAKEN and key not in GIVEN and not str(key).startswith("x-"):
            notes.append(Note(name, str(key), "not read by greenlight"))
    return service


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 65536 else None


def _port(item: object, text) -> Port | None:
    """A `ports:` entry, short ([IP:][PUBLISHED:]TARGET[/tcp]) or long syntax; None for a
    range, UDP, or what is not a port."""
    if isinstance(item, dict):
        if str(item.get("protocol", "tcp")) != "tcp":
            return None
        target = text(item.get("target", ""), "ports")
        published = text(item["published"], "ports") if item.get("published") is not None else ""
        host_ip = text(item.get("host_ip", ""), "ports") if item.get("host_ip") else ""
    else:
        value = text(item, "ports")
        value, _, protocol = value.partition("/")
        if protocol not in ("", "tcp"):
            return None
        host_ip = ""
        if value.startswith("["):  # [::1]:8080:80
            host_ip, _, value = value[1:].partition("]:")
        words = value.split(":")
        if len(words) == 3 and not host_ip:
            host_ip, published, target = words
        elif len(words) == 2:
            published, target = words
        elif len(words) == 1:
            published, target = "", words[0]
        else:
            return None
    if _number(target) is None or (published and _number(published) is None):
        return None
    return Port(int(target), int(published) if published else None, host_ip)


def duration(text: str) -> int | None:
    """Seconds of a Compose duration (1m30s, 10s, 2h), rounded up; None when it is not one."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?", text.strip())
    if not text.strip() or not parts:
        return None
    hours, minutes, seconds, millis = parts.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0) + int(millis or 0) / 1000
    return max(1, int(-(-total // 1)))
