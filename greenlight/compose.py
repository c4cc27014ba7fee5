"""An app's docker-compose file, read for `greenlight init --from-compose` (docs/your-app.md).

The file is YAML (PyYAML's safe loader) and its `.env` and `env_file`s are dotenv files
(python-dotenv); variables are put in by the Compose specification's interpolation rules
(`interpolate`: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
`${VAR:+other}`, `$$`), from the shell's environment over the `.env` beside the file, as
docker compose does. The result is data: what init writes is dumped as YAML strings (a value
that Jinja would read as a template is tagged !unsafe there), never run or templated here.

What greenlight takes of each service is in `Service`; what it cannot take is a `Note`
(service, key, why), which init writes as a comment.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dotenv import dotenv_values

# Bounds on what is read: a compose file, and the .env and env_files it names.
MAX_BYTES = 1024 * 1024
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
    health_test: list[str] = field(default_factory=list)
    stop_grace_seconds: int | None = None
    cpus: float | None = None
    memory: str = ""
    depends_on: list[str] = field(default_factory=list)

    @property
    def engine(self) -> str:
        """mysql or mariadb when the service runs one of them from its image, else ''."""
        repository = self.image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in self.image.split("/")[-1] \
            else self.image.split("@", 1)[0]
        repository = repository.removeprefix("docker.io/").removeprefix("library/")
        return DATABASE_IMAGES.get(repository, "")

    @property
    def version(self) -> str:
        last = self.image.split("@", 1)[0].split("/")[-1]
        return last.split(":", 1)[1] if ":" in last else ""


@dataclass
class Compose:
    path: Path
    services: dict[str, Service]
    notes: list[Note]


def interpolate(text: str, values: Mapping[str, str], where: str = "") -> str:
    """`text` with its variables put in by the Compose specification's rules."""
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
            out.append(values.get(plain.group(0), ""))
            index += 1 + plain.end()
            continue
        if not text.startswith("${", index):
            out.append(char)
            index += 1
            continue
        end, depth = index + 2, 1
        while end < len(text):
            if text.startswith("${", end):
                depth, end = depth + 1, end + 2
                continue
            if text[end] == "}":
                depth -= 1
                if not depth:
                    break
            end += 1
        if depth:
            raise ComposeError(f"{where}: an unclosed ${{ in {text!r}")
        out.append(_expression(text[index + 2:end], values, where))
        index = end + 1
    return "".join(out)


def _expression(body: str, values: Mapping[str, str], where: str) -> str:
    match = re.fullmatch(rf"({VARIABLE})(?:(:?)([-?+])(.*))?", body, re.S)
    if not match:
        raise ComposeError(f"{where}: ${{{body}}} is not a variable Compose knows")
    name, colon, operator, argument = match.groups()
    value = values.get(name)
    present = value is not None and (value != "" or not colon)
    if operator is None:
        return value or ""
    if operator == "-":
        return value if present else interpolate(argument, values, where)
    if operator == "+":
        return interpolate(argument, values, where) if present else ""
    if not present:  # "?": required
        raise ComposeError(f"{where}: {name} is not set ({interpolate(argument, values, where) or 'required'})")
    return value


def _read(path: Path, what: str) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ComposeError(f"{path}: larger than {MAX_BYTES // 1024} KiB; not a {what} greenlight reads")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ComposeError(f"cannot read the {what} {path}: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8'}") from None


def dotenv(path: Path, what: str, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """A dotenv file's variables, read by python-dotenv; ${VAR} in it from `values`."""
    _read(path, what)  # the bounds and a readable message
    read = dotenv_values(path, interpolate=False)
    return {name: interpolate(value, {**(values or {}), **{k: v for k, v in read.items() if v is not None}},
                              f"{path.name}: {name}")
            for name, value in read.items() if value is not None}


def load(path: Path, environ: Mapping[str, str]) -> Compose:
    """The compose file at `path`, interpolated from `environ` over the .env beside it."""
    folder = path.parent
    values = dict(environ)
    if (folder / ".env").is_file():
        values = {**dotenv(folder / ".env", ".env file", environ), **environ}
    try:
        document = yaml.safe_load(_read(path, "compose file"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ComposeError(f"{path}: not YAML" + (f" (line {mark.line + 1})" if mark else "")) from None
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict) or not document["services"]:
        raise ComposeError(f"{path}: no services (a compose file has a mapping `services:`)")
    notes: list[Note] = []
    services = {}
    for name, spec in document["services"].items():
        if not isinstance(spec, dict):
            raise ComposeError(f"{path}: service {name!r} is not a mapping")
        services[str(name)] = _service(str(name), spec, folder, values, notes)
    for key in document:
        if key not in ("services", "version", "name", "volumes", "networks"):
            notes.append(Note("", key, "a top-level key greenlight does not read"))
    return Compose(path, services, notes)


def _service(name: str, spec: dict, folder: Path, values: Mapping[str, str], notes: list[Note]) -> Service:
    def text(value: object, key: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ComposeError(f"service {name} {key}: {value!r} is not a value")
        return interpolate(str(value), values, f"service {name} {key}")

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
    for item in spec.get("ports") or []:
        port = _port(item, lambda value, key="ports": text(value, key))
        if port:
            service.ports.append(port)
        else:
            notes.append(Note(name, "ports", f"{item!r}: not a single TCP port greenlight can give a proxy"))
    for item in spec.get("expose") or []:
        exposed = text(item, "expose").split("/")[0]
        if exposed.isdigit():
            service.expose.append(int(exposed))
    command = spec.get("command")
    if isinstance(command, str):
        service.command = shlex.split(text(command, "command"))
    elif isinstance(command, list):
        service.command = [text(arg, "command") for arg in command]
    for env_file in ([spec["env_file"]] if isinstance(spec.get("env_file"), (str, dict)) else spec.get("env_file") or []):
        file_name = env_file.get("path") if isinstance(env_file, dict) else env_file
        service.environment.update(dotenv(folder / text(file_name, "env_file"), "env_file", values))
    environment = spec.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in map(str, environment))
    for key, value in environment.items():
        if value is None:  # `- NAME` alone: compose takes it from the shell
            if key in values:
                service.environment[str(key)] = values[key]
            continue
        service.environment[str(key)] = "" if value == "" else text(value, f"environment.{key}")
    health = spec.get("healthcheck") or {}
    if isinstance(health, dict) and not health.get("disable"):
        test = health.get("test")
        if isinstance(test, str):
            service.health_test = ["CMD-SHELL", text(test, "healthcheck.test")]
        elif isinstance(test, list):
            service.health_test = [text(arg, "healthcheck.test") for arg in test]
    if spec.get("stop_grace_period") is not None:
        service.stop_grace_seconds = duration(text(spec["stop_grace_period"], "stop_grace_period"))
    limits = ((spec.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    cpus = limits.get("cpus", spec.get("cpus"))
    if cpus is not None:
        try:
            service.cpus = float(text(cpus, "cpus"))
        except ValueError:
            notes.append(Note(name, "cpus", f"{cpus!r} is not a number of CPUs"))
    memory = limits.get("memory", spec.get("mem_limit"))
    if memory is not None:
        service.memory = text(memory, "memory").lower().removesuffix("b")
    depends = spec.get("depends_on") or []
    service.depends_on = [str(d) for d in (depends if isinstance(depends, list) else depends.keys())]
    for key in spec:
        if key == "deploy":
            notes.extend(Note(name, f"deploy.{part}", "greenlight runs one container per color; it sets no replicas "
                                                      "or placement") for part in spec["deploy"] if part != "resources")
        elif key == "volumes":
            notes.append(Note(name, "volumes", "greenlight gives a part no volume: a release is its image (the "
                                               "database's data is greenlight's own volume)"))
        elif key not in TAKEN and key not in GIVEN:
            notes.append(Note(name, key, "not read by greenlight"))
    return service


def _port(item: object, text) -> Port | None:
    """A `ports:` entry, short ([IP:][PUBLISHED:]TARGET[/tcp]) or long syntax; None for a
    range, UDP, or what is not a port."""
    if isinstance(item, dict):
        if str(item.get("protocol", "tcp")) != "tcp":
            return None
        target, published = text(item.get("target", ""), "ports"), text(item.get("published", ""), "ports") \
            if item.get("published") is not None else ""
        host_ip = text(item.get("host_ip", ""), "ports") if item.get("host_ip") else ""
    else:
        value = text(item, "ports")
        value, _, protocol = value.partition("/")
        if protocol not in ("", "tcp"):
            return None
        host_ip = ""
        if value.startswith("["):  # [::1]:8080:80
            host_ip, _, value = value[1:].partition("]:")
        words = value.split(":") if not host_ip else value.split(":")
        if len(words) == 3:
            host_ip, published, target = words
        elif len(words) == 2:
            published, target = words
        else:
            published, target = "", words[0]
    if not target.isdigit() or (published and not published.isdigit()):
        return None
    if not 0 < int(target) < 65536 or (published and not 0 < int(published) < 65536):
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
