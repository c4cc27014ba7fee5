"""`greenlight init --from-compose FILE`: what an app's compose file says, as greenlight's
settings (docs/your-app.md).

- A service that builds from the repository is a part: its build context and Dockerfile are
  an image; its container port, command, environment, health check, stop grace period and
  limits are the part's. Its Dockerfile (read by dockerfile-parse) fills in a port or a
  health path the compose file does not give.
- The service that runs MySQL or MariaDB is the database settings: database name, app user,
  its password (into the vault), its published port.
- Published ports are the environments' ports: the web service's 80/443 the proxy's, the API
  service's the proxy's API port, the database's the database port. Services named
  `<name>-staging` (or `staging-<name>`) are staging's set: their published ports are
  staging's. Other ports are greenlight's usual ones, moved up past taken ones.
- A secret in a service's environment (a name with PASSWORD, SECRET, TOKEN, KEY or URL) goes
  to the environment's vault, never into main.yml or `env` (which docker inspect shows).
- What cannot be taken is written as a comment saying why.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import compose as compose_file
from .init import API_NAMES, OWN_PARTS, PORTS, SITE_NAMES, Image, InitError, Unreadable, image_from, slug
from .pipeline import settings

# A variable whose value is a secret (the command's rule for -e NAME=VALUE: cli.SECRET_NAME).
SECRET_NAME = re.compile(r"(password|secret|token|key|url)", re.I)
STAGING = re.compile(r"^(?:(?P<a>.+?)[-_]staging|staging[-_](?P<b>.+))$")
# A health check's URL on the container itself: its path is the part's health path.
HEALTH_URL = re.compile(r"(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::\d+)?(/[A-Za-z0-9._~/-]*)")
# The settings an app's own variables would name (issue: the app keeps its own names).
DATABASE_KEYS = ("host", "port", "name", "user", "password", "url")


@dataclass
class Plan:
    images: list[Image]
    parts: list[dict]
    default: Image
    ports: dict[str, dict[str, int]]  # fixed by the compose file, per environment
    extra: dict[str, dict]  # per environment: main.yml's compose settings (database, user, notes)
    vault: dict[str, dict[str, str]]  # per environment: secrets beside the random ones
    lines: list[str] = field(default_factory=list)  # what init says it found


def repository_top(folder: Path) -> Path | None:
    done = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def plan(path: Path, environ: Mapping[str, str]) -> Plan:
    try:
        read = compose_file.load(path, environ)
    except compose_file.ComposeError as exc:
        raise InitError(str(exc)) from None
    folder = path.parent.resolve()
    top = repository_top(folder)
    base = folder.relative_to(top.resolve()).as_posix() if top else ""
    databases = [s for s in read.services.values() if s.engine]
    staging = {}
    mains = []
    for service in read.services.values():
        match = STAGING.match(service.name)
        (staging.__setitem__(match.group("a") or match.group("b"), service) if match else mains.append(service))
    database = next((s for s in databases if not STAGING.match(s.name)), None)
    lines: list[str] = []
    engines = {s.name for s in databases}
    notes = [f"# From {path.name}: {n.service + ' ' if n.service else ''}{n.key}: {n.why}" for n in read.notes
             if not STAGING.match(n.service) and not (n.service in engines and n.key == "volumes")]
    images, parts, vault = [], [], {"production": {}, "staging": {}}
    for service in mains:
        if service.engine:
            continue
        if not service.context:
            notes.append(f"# From {path.name}: service {service.name} runs the image {service.image} and builds "
                         f"nothing; greenlight runs the app's own images and its database only: keep running it "
                         f"yourself, or build it from the repository")
            lines.append(f"{service.name}: not taken (an image, not built from the repository)")
            continue
        image = _image(service, folder, base)
        images.append(image)
        part, secrets = _part(service, image, database)
        parts.append(part)
        for env in vault:
            vault[env].update(secrets)
        lines.append(f"{service.name}: " + (f"web part on port {part['port']}, health {part['health']}" if "port" in part
                                            else "a worker (no port)"))
    if not any("port" in part for part in parts):
        raise InitError(f"{path}: no service builds an image that serves on a port; greenlight needs one part that "
                        f"serves HTTP")
    default_part = _choose_default(parts, mains)
    for part in parts:
        if "port" in part and part is not default_part:
            part["paths"] = ["/api/"] if part["image"] in API_NAMES else [f"/{part['name']}/"]
    default = next(i for i in images if i.name == default_part["image"])
    ports = {"production": _ports(mains, parts, default_part, database),
             "staging": _ports([staging.get(s.name) for s in mains if staging.get(s.name)], parts, default_part,
                               staging.get(database.name) if database else None, staging_names=True)}
    extra = {env: {"parts": parts, "notes": list(notes), "ports_from": f"those {path.name} publishes, which greenlight's "
                                                                       f"proxy and database take over" if ports[env] else ""}
             for env in ("production", "staging")}
    if database:
        env = database.environment
        name = env.get("MYSQL_DATABASE") or env.get("MARIADB_DATABASE")
        user = env.get("MYSQL_USER") or env.get("MARIADB_USER")
        password = env.get("MYSQL_PASSWORD") or env.get("MARIADB_PASSWORD")
        for one in extra.values():
            one.update({key: value for key, value in (("database", name), ("database_user", user)) if value})
            one["notes"].append(f"# From {path.name}: the database service {database.name} runs "
                                f"{database.engine} {database.version or '(no tag)'}; greenlight runs its own "
                                f"MariaDB (Debian's) with the database and user above, empty until you import "
                                f"your data")
        if password:
            vault["production"]["vault_mysql_app_password"] = password
        lines.append(f"{database.name}: the database ({database.engine} {database.version or 'latest'}"
                     + (f", database {name}" if name else "") + (f", user {user}" if user else "") + ")")
    for name in staging:
        lines.append(f"{staging[name].name}: staging's {name} (its published ports are staging's)")
    return Plan(images, parts, default, ports, extra, vault, lines)


def _image(service: compose_file.Service, folder: Path, base: str) -> Image:
    context = posixpath.normpath(posixpath.join(base, service.context)) if base else posixpath.normpath(service.context)
    if context.startswith("../") or context == ".." or posixpath.isabs(context):
        raise InitError(f"service {service.name}: its build context {service.context} is outside the repository")
    dockerfile = service.dockerfile
    if not (context == "." or settings.RELATIVE.fullmatch(context)) or not settings.RELATIVE.fullmatch(dockerfile):
        raise InitError(f"service {service.name}: its build context or Dockerfile holds characters greenlight does "
                        f"not take in app_images (a-z, A-Z, 0-9, . _ - / only)")
    name = slug(service.name) or "app"
    if name in OWN_PARTS:
        name = f"{name}-app"
    found = Image(name, context, dockerfile)
    try:
        text = (folder / service.context / dockerfile).read_text(encoding="utf-8")
        read = image_from(f"{context}/{dockerfile}", text)
        found.port, found.health = read.port, read.health
    except (OSError, UnicodeDecodeError, Unreadable):
        pass  # the compose file's own port and health check, or the defaults
    return found


def _part(service: compose_file.Service, image: Image, database: compose_file.Service | None) -> tuple[dict, dict]:
    part: dict = {"name": image.name, "image": image.name}
    port = service.ports[0].target if service.ports else service.expose[0] if service.expose else image.port
    if port:
        part["port"] = port
        part["port_from"] = "its compose ports" if service.ports or service.expose else "its EXPOSE"
        health = next((m.group(1) for arg in service.health_test[1:] for m in [HEALTH_URL.search(arg)] if m), "")
        part["health"] = health or image.health or "/"
        part["health_from"] = ("its compose healthcheck's path" if health else "its HEALTHCHECK's path" if image.health
                               else "no health check path found: set your health endpoint (200 when healthy)")
    if service.command is not None:
        part["command"] = service.command
    if service.cpus is not None:
        part["cpus"] = service.cpus
    if service.memory:
        part["memory"] = service.memory
    if service.stop_grace_seconds:
        part["stop_timeout"] = min(service.stop_grace_seconds, 3600)
    env, secrets, names, notes = {}, {}, {}, []
    links = _database_values(database)
    for key, value in service.environment.items():
        role = next((role for role, known in links.items() if value and value in known and role not in names), "")
        url = re.match(r"^(mysql|mariadb)(\+\w+)?://([^@/]*)@([^:/]+)", value) if database else None
        if not role and url and url.group(4) == database.name:
            role = "url"
            if ":" in url.group(3):
                notes.append(f"{key}: its URL holds the password; greenlight gives mysql://USER@HOST:PORT/NAME, "
                             f"with the password in a variable of its own (database.password)")
        if role:
            names[role] = key
        elif SECRET_NAME.search(key) and value:
            vault_name = f"vault_{image.name.replace('-', '_')}_{key.lower()}"
            secrets[vault_name] = value
            notes.append(f"{key}: a secret, kept in the vault as {vault_name}; greenlight puts no secret in env "
                         f"(docker inspect shows env)")
        elif settings.ENV_NAME.fullmatch(key):
            env[key] = value
        else:
            notes.append(f"{key!r}: not a variable name greenlight takes")
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
    public = [p for p in web if any(port.published in (80, 443) for port in by_name.get(p["name"], compose_file.Service("")).ports)]
    named = [p for p in web if p["name"] in SITE_NAMES]
    return (public or named or web)[0]


def _ports(services: list, parts: list[dict], default: dict, database, staging_names: bool = False) -> dict[str, int]:
    """The ports the compose file publishes, as the proxy's and the database's."""
    fixed: dict[str, int] = {}
    by_name = {slug(STAGING.match(s.name).group("a") or STAGING.match(s.name).group("b")) if staging_names
               else slug(s.name): s for s in services}
    web = by_name.get(default["name"])
    if web:
        published = [p.published for p in web.ports if p.published]
        https = next((p.published for p in web.ports if p.published and (p.target == 443 or p.published in (443, 8443))), None)
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
