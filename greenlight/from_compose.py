"""`greenlight init --from-compose FILE`: what an app's compose file says, as greenlight's
settings (docs/your-app.md).

- A service that builds from the repository is a part: its build context and Dockerfile are
  an image; its container port, command, environment, health check, stop grace period and
  limits are the part's. Its Dockerfile (read by dockerfile-parse) fills in a port or a
  health path the compose file does not give.
- The service that runs MySQL or MariaDB gives the database settings: its database's name
  and the app's user. Its password is not taken: greenlight's database is a new one, with a
  random password in the vault.
- The variables an app's environment fills with the database's host, port, name, user or
  password (or a mysql:// URL naming the database service) become the part's `database`
  mapping: the app keeps its names (plugins/module_utils/database_env.py).
- Published ports are the environments' ports: the web service's 80/443 the proxy's, the API
  service's the proxy's API port, the database's the database port. Services named
  `<name>-staging` (or `staging-<name>`) are staging's set: their published ports are
  staging's. Other ports are greenlight's usual ones, moved up past taken ones.
- A secret never reaches main.yml or `env` (which docker inspect shows): a variable named
  like one (SECRET_NAME), a value that came from such a variable or that holds one's value,
  and a URL with a password go to the environment's vault, as vault_env_<part>_<name>; a
  command holding one is not taken.
- What cannot be taken is written as a comment saying why. Every word of the file that init
  repeats (a note, a report line, an error) is shown bounded and on one line.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import compose as compose_file
from .compose import shown
from .init import API_NAMES, OWN_PARTS, PORTS, SITE_NAMES, Image, InitError, Unreadable, image_from, slug
from .pipeline import settings

from ansible_collections.greenlight.deploy.plugins.module_utils import database_env  # noqa: I001

# A variable whose value is a secret, by its name (wider than the command's -e rule: a
# compose file names its secrets every way).
SECRET_NAME = re.compile(r"(pass|pwd|secret|token|key|url|dsn|credential|auth|cert|private|salt)", re.I)
# A URL with a password in it (scheme://user:password@host).
URL_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]*@")
STAGING = re.compile(r"^(?:(?P<a>.+?)[-_]staging|staging[-_](?P<b>.+))$")
# A health check's URL on the container itself: its path is the part's health path.
HEALTH_URL = re.compile(r"(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::\d+)?(/[A-Za-z0-9._~/-]*)")
# The shortest value taken as a known secret when it appears inside another value.
MIN_SECRET = 6


@dataclass
class Plan:
    images: list[Image]
    parts: list[dict]
    ports: dict[str, dict[str, int]]  # fixed by the compose file, per environment
    extra: dict[str, dict]  # per environment: main.yml's compose settings (database, user, notes)
    vault: dict[str, dict[str, str]]  # per environment: secrets beside the random ones
    lines: list[str] = field(default_factory=list)  # what init says it found


def repository_top(folder: Path) -> Path | None:
    done = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def plan(path: Path, environ: Mapping[str, str]) -> Plan:
    folder = path.parent.resolve()
    top = repository_top(folder) or folder
    try:
        read = compose_file.load(path, environ, top)
        return _plan(path, read, folder, top)
    except compose_file.ComposeError as exc:
        raise InitError(str(exc)) from None
    except InitError:
        raise
    except (RecursionError, MemoryError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise InitError(f"{path}: not a compose file greenlight reads ({type(exc).__name__})") from None


def _plan(path: Path, read: compose_file.Compose, folder: Path, top: Path) -> Plan:
    base = folder.relative_to(top.resolve()).as_posix() if folder != top.resolve() else ""
    databases = [s for s in read.services.values() if s.engine]
    staging, mains = {}, []
    for service in read.services.values():
        match = STAGING.match(service.name)
        if match:
            staging[match.group("a") or match.group("b")] = service
        else:
            mains.append(service)
    database = next((s for s in databases if not STAGING.match(s.name)), None)
    known = _known_secrets(read)
    lines: list[str] = []
    engines = {s.name for s in databases}
    notes = [f"From {path.name}: {shown(n.service)[1:-1] + ' ' if n.service else ''}{shown(n.key)[1:-1]}: {n.why}"
             for n in read.notes if not STAGING.match(n.service) and not (n.service in engines and n.key == "volumes")]
    images, parts, vault = [], [], {"production": {}, "staging": {}}
    for service in mains:
        if service.engine:
            continue
        if not service.context:
            notes.append(f"From {path.name}: service {shown(service.name)[1:-1]} runs the image "
                         f"{shown(service.image)[1:-1]} and builds nothing; greenlight runs the app's own images and "
                         f"its database only: keep running it yourself, or build it from the repository")
            lines.append(f"{shown(service.name)[1:-1]}: not taken (an image, not built from the repository)")
            continue
        image = _image(service, folder, base, top)
        images.append(image)
        part, secrets = _part(service, image, database, known)
        parts.append(part)
        for env in vault:
            vault[env].update(secrets)
        lines.append(f"{shown(service.name)[1:-1]}: " + (f"web part on port {part['port']}, health {part['health']}"
                                                        if "port" in part else "a worker (no port)"))
    if not any("port" in part for part in parts):
        raise InitError(f"{path}: no service builds an image that serves on a port; greenlight needs one part that "
                        f"serves HTTP")
    default_part = _choose_default(parts, mains)
    for part in parts:
        if "port" in part and part is not default_part:
            part["paths"] = ["/api/"] if part["image"] in API_NAMES else [f"/{part['name']}/"]
    ports = {"production": _ports(mains, parts, default_part, database),
             "staging": _ports([staging[s.name] for s in mains if s.name in staging], parts, default_part,
                               staging.get(database.name) if database else None, staging_names=True)}
    extra = {env: {"parts": parts, "notes": list(notes),
                   "ports_from": f"those {path.name} publishes, which greenlight's proxy and database take over"
                   if ports[env] else ""} for env in ("production", "staging")}
    if database:
        env = database.environment
        name = env.get("MYSQL_DATABASE") or env.get("MARIADB_DATABASE") or ""
        user = env.get("MYSQL_USER") or env.get("MARIADB_USER") or ""
        name = name if settings.DATABASE.fullmatch(name) else ""
        user = user if settings.DB_USER.fullmatch(user) and user not in settings.SERVER_USERS else ""
        for one in extra.values():
            one.update({key: value for key, value in (("database", name), ("database_user", user)) if value})
            one["notes"].append(f"From {path.name}: the database service {shown(database.name)[1:-1]} runs "
                                f"{database.engine} {shown(database.version)[1:-1] or '(no tag)'}; greenlight runs "
                                f"its own MariaDB (Debian's) with the database and user above and a new random "
                                f"password, empty until you import your data")
        lines.append(f"{shown(database.name)[1:-1]}: the database ({database.engine} "
                     f"{shown(database.version)[1:-1] or 'latest'}" + (f", database {name}" if name else "")
                     + (f", user {user}" if user else "") + ")")
    for name, service in staging.items():
        lines.append(f"{shown(service.name)[1:-1]}: staging's {shown(name)[1:-1]} (its published ports are staging's)")
    return Plan(images, parts, ports, extra, vault, lines)


def _known_secrets(read: compose_file.Compose) -> set[str]:
    """Values that are secrets wherever they appear: those of secret-named variables, in the
    shell's environment, the .env, and every service's environment."""
    found = {value for name, value in read.values.items() if SECRET_NAME.search(name)}
    for service in read.services.values():
        found |= {value for name, value in service.environment.items() if SECRET_NAME.search(name)}
    return {value for value in found if isinstance(value, str) and len(value) >= MIN_SECRET}


def _image(service: compose_file.Service, folder: Path, base: str, top: Path) -> Image:
    context = posixpath.normpath(posixpath.join(base, service.context)) if base else posixpath.normpath(service.context)
    if context.startswith("../") or context == ".." or posixpath.isabs(context):
        raise InitError(f"service {shown(service.name)[1:-1]}: its build context {shown(service.context)} is "
                        f"outside the repository")
    dockerfile = service.dockerfile
    if (not (context == "." or settings.RELATIVE.fullmatch(context)) or not settings.RELATIVE.fullmatch(dockerfile)
            or ".." in dockerfile.split("/")):
        raise InitError(f"service {shown(service.name)[1:-1]}: its build context or Dockerfile holds characters "
                        f"greenlight does not take in app_images (a-z, A-Z, 0-9, . _ - / only, no ..)")
    name = slug(service.name) or "app"
    if name in OWN_PARTS:
        name = f"{name}-app"
    found = Image(name, context, dockerfile)
    try:
        text = compose_file.read_bounded(folder / service.context / dockerfile, "Dockerfile", top)
        read = image_from(f"{context}/{dockerfile}", text)
        found.port, found.health = read.port, read.health
    except (compose_file.ComposeError, Unreadable):
        pass  # the compose file's own port and health check, or the defaults
    return found


def _secret(name: str, value: str, sources: set[str], known: set[str]) -> bool:
    return bool(SECRET_NAME.search(name) or any(SECRET_NAME.search(source) for source in sources)
                or URL_PASSWORD.search(value) or any(secret in value for secret in known))


def _part(service: compose_file.Service, image: Image, database: compose_file.Service | None,
          known: set[str]) -> tuple[dict, dict]:
    part: dict = {"name": image.name, "image": image.name}
    port = service.ports[0].target if service.ports else service.expose[0] if service.expose else image.port
    if port:
        part["port"] = port
        part["port_from"] = "its compose ports" if service.ports or service.expose else "its EXPOSE"
        health = next((m.group(1) for arg in service.health_test[1:] for m in [HEALTH_URL.search(arg)] if m), "")
        part["health"] = health or image.health or "/"
        part["health_from"] = ("its compose healthcheck's path" if health else "its HEALTHCHECK's path" if image.health
                               else "no health check path found: set your health endpoint (200 when healthy)")
    notes: list[str] = []
    if service.command is not None:
        if any(secret in arg for arg in service.command for secret in known):
            notes.append("command: not taken, it holds a secret (the container's argv, which docker inspect "
                         "shows); give the secret in the vault and the command without it")
        else:
            part["command"] = service.command
    if service.cpus is not None:
        part["cpus"] = service.cpus
    if service.memory:
        if settings.MEMORY.fullmatch(service.memory):
            part["memory"] = service.memory
        else:
            notes.append(f"memory {shown(service.memory)}: not a size greenlight takes (512m, 1g)")
    if service.stop_grace_seconds:
        part["stop_timeout"] = min(service.stop_grace_seconds, 3600)
    env, secrets, names = {}, {}, {}
    links = _database_values(database)
    for key, value in service.environment.items():
        if not settings.ENV_NAME.fullmatch(key):
            notes.append(f"{shown(key)}: not a variable name greenlight takes")
            continue
        role = next((role for role, wanted in links.items() if value and value in wanted and role not in names), "")
        url = re.match(r"^(mysql|mariadb)(\+\w+)?://([^@/]*)@([^:/]+)", value) if database else None
        if not role and url and url.group(4) == database.name:
            role = "url"
            if ":" in url.group(3):
                notes.append(f"{key}: its URL holds the password; greenlight gives mysql://USER@HOST:PORT/NAME, "
                             f"with the password in a variable of its own (database.password)")
        if role and database_env.DENIED.fullmatch(key):
            notes.append(f"{key}: a variable the system or a runtime reads; greenlight puts no database setting there")
        elif role:
            names[role] = key
        elif value and _secret(key, value, service.sources.get(key, set()), known):
            vault_name = f"vault_env_{image.name.replace('-', '_')}_{key.lower()}"
            secrets[vault_name] = value
            notes.append(f"{key}: a secret, kept in the vault as {vault_name}; greenlight puts no secret in env "
                         f"(docker inspect shows env)")
        else:
            env[key] = value
    if env:
        part["env"] = env
    part["database"] = names or bool(database and database.name in service.depends_on)
    part["notes"] = notes
    return part, secrets


def _database_values(database: compose_file.Service | None) -> dict[str, set[str]]:
    """The values that say a variable of an app's environment is one of the database's settings."""
    if not database:
        return {}
    env = database.environment
    port = {str(p.target) for p in database.ports} | {str(p) for p in database.expose} | {"3306"}
    return {"host": {database.name},
            "port": port,
            "name": {v for v in (env.get("MYSQL_DATABASE"), env.get("MARIADB_DATABASE")) if v},
            "user": {v for v in (env.get("MYSQL_USER"), env.get("MARIADB_USER")) if v},
            "password": {v for v in (env.get("MYSQL_PASSWORD"), env.get("MARIADB_PASSWORD")) if v}}


def _choose_default(parts: list[dict], services: list[compose_file.Service]) -> dict:
    """The web part that takes every request: the one publishing 80 or 443, else one named
    like a site, else the first with a port."""
    web = [p for p in parts if "port" in p]
    by_name = {slug(s.name): s for s in services}
    public = [p for p in web if any(port.published in (80, 443)
                                    for port in by_name.get(p["name"], compose_file.Service("")).ports)]
    named = [p for p in web if p["name"] in SITE_NAMES]
    return (public or named or web)[0]


def _ports(services: list, parts: list[dict], default: dict, database, staging_names: bool = False) -> dict[str, int]:
    """The ports the compose file publishes, as the proxy's and the database's."""
    def base_name(service: compose_file.Service) -> str:
        match = STAGING.match(service.name) if staging_names else None
        return slug(match.group("a") or match.group("b")) if match else slug(service.name)

    fixed: dict[str, int] = {}
    by_name = {base_name(s): s for s in services}
    web = by_name.get(default["name"])
    if web:
        published = [p.published for p in web.ports if p.published]
        https = next((p.published for p in web.ports if p.published and (p.target in (443, 8443) or p.published in (443, 8443))),
                     None)
        http = next((port for port in published if port != https), None)
        fixed.update({key: value for key, value in (("proxy_http_port", http), ("proxy_https_port", https)) if value})
    api = next((p for p in parts if p.get("paths")), None)
    if api and by_name.get(api["name"]):
        published = next((p.published for p in by_name[api["name"]].ports if p.published), None)
        if published:
            fixed["proxy_api_port"] = published
    if database:
        published = next((p.published for p in database.ports if p.published), None)
        if published:
            fixed["mysql_port"] = published
    return {key: value for key, value in fixed.items() if key in PORTS["production"]}
