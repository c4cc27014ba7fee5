"""`greenlight init DIR`: a ready inventory pair for a new app (docs/your-app.md).

It asks nothing it can find out: the app's parts come from the Dockerfiles of its repository
(EXPOSE: a web part on that port, HEALTHCHECK: its health path; no EXPOSE: a worker), the
ports are the first free ones on this machine from greenlight's usual ones up, and the
secrets are random, in a vault of their own whose password file stays out of git. What it
cannot know (the schema command, a worker's command, the version path) is written as a
commented setting that works as it stands and says what to change.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import WordSplitter

from .pipeline import ENVIRONMENTS, settings
from .scrub import one_line, scrub

from ansible_collections.greenlight.deploy.plugins.module_utils import git_auth  # noqa: I001  (greenlight/__init__.py puts it on the path)

# greenlight's usual ports per environment (the demo's inventories); a taken one moves up.
PORTS = {
    "production": {"proxy_http_port": 80, "proxy_https_port": 443, "proxy_api_port": 5000, "proxy_preview_port": 9080,
                   "proxy_metrics_port": 8404, "mysql_port": 3307, "monitoring_mysqld_exporter_port": 9104},
    "staging": {"proxy_http_port": 8080, "proxy_https_port": 8443, "proxy_api_port": 5001, "proxy_preview_port": 9081,
                "proxy_metrics_port": 8405, "mysql_port": 3308, "monitoring_mysqld_exporter_port": 9105},
}
# The monitoring stack's own ports (one stack per host): never given to an environment.
MONITORING_PORTS = (9090, 9093, 9115, 9100, 9099)
SECRETS = ("vault_mysql_app_password", "vault_mysql_migrator_password", "vault_restic_password")
# A part named like a site takes every request; one named like an API gets /api/.
SITE_NAMES = ("web", "frontend", "site", "www", "ui", "client", "app")
API_NAMES = ("api", "backend", "server")
# What a name may be, and the parts greenlight runs itself: the settings check's own.
NAME, OWN_PARTS = settings.NAME, settings.OWN_PARTS


class InitError(Exception):
    """DIR or the repository is not as init needs them; the message says what to do."""


class Unreadable(Exception):
    """A Dockerfile init does not read (too large, or dockerfile-parse cannot): it is skipped."""


# Bounds on a Dockerfile init reads: its size, its instructions, and the ARG and ENV lines that
# refer to other variables (dockerfile-parse expands every one for every later instruction:
# values that double line by line would take gigabytes; past this many, values stay as written).
MAX_DOCKERFILE_BYTES = 256 * 1024
MAX_INSTRUCTIONS = 1000
MAX_REFERRING = 20


@dataclass
class Image:
    name: str
    context: str
    dockerfile: str
    port: int | None = None
    health: str = ""


@dataclass
class App:
    name: str
    repo: str
    images: list[Image] = field(default_factory=list)

    def settings(self) -> tuple[dict, dict, list[dict]]:
        """app_images, and app_parts with the comment lines each part gets."""
        app_images = {i.name: {"context": i.context, **({"dockerfile": i.dockerfile} if i.dockerfile != "Dockerfile" else {})}
                      for i in self.images}
        web = [i for i in self.images if i.port]
        default = next((i for i in web if i.name in SITE_NAMES or i.context == "."), web[0] if web else None)
        parts = []
        for image in self.images:
            # The repository's own Dockerfile (image "app") is the web part or the worker.
            part_name = (("web" if image.port else "worker") if image.context == "." and image.name == "app"
                         else image.name if image.name not in OWN_PARTS else f"{image.name}-app")
            if image.port:
                part = {"name": part_name, "image": image.name, "port": image.port, "health": image.health or "/"}
                if image is not default:
                    part["paths"] = ["/api/"] if image.name in API_NAMES else [f"/{image.name}/"]
            else:
                part = {"name": part_name, "image": image.name}
            parts.append(part)
        return app_images, {"default": default}, parts


def dockerfiles(repo: str) -> list[tuple[str, str]]:
    """(path, text) of each Dockerfile at the repository's default branch."""
    with tempfile.TemporaryDirectory(prefix="greenlight-init-") as scratch:
        # A token in the URL goes to git in its environment, never in its argv (plugins/module_utils/git_auth.py).
        clone = subprocess.run(["git", "clone", "--quiet", "--bare", "--depth", "1", "--", git_auth.plain_url(repo),
                                scratch + "/repo.git"], capture_output=True, text=True, timeout=300,
                               env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **git_auth.environment(repo)})
        if clone.returncode != 0:
            raise InitError(f"cannot clone {scrub(repo)}: {scrub(clone.stderr.strip().splitlines()[-1] if clone.stderr.strip() else '?')}")
        git = ["git", "--git-dir", scratch + "/repo.git"]
        names = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True,
                               check=True).stdout.splitlines()
        found = []
        for path in sorted(names, key=lambda p: (p.count("/"), p)):
            base = path.rsplit("/", 1)[-1]
            if "node_modules/" in path or not (base == "Dockerfile" or base.startswith("Dockerfile.")
                                               or base.endswith(".Dockerfile")):
                continue
            text = subprocess.run([*git, "show", f"HEAD:{path}"], capture_output=True, text=True, check=True).stdout
            found.append((path, text))
        return found


def image_from(path: str, text: str) -> Image:
    """The image a Dockerfile builds, read by dockerfile-parse: the last stage's EXPOSE and
    HEALTHCHECK (a builder stage's are not the image's), with its ARG and ENV values put in."""
    folder, _, base = path.rpartition("/")
    if base == "Dockerfile":
        name = folder.rsplit("/", 1)[-1] if folder else "app"
    else:
        name = base.removeprefix("Dockerfile.").removesuffix(".Dockerfile")
    if len(text.encode()) > MAX_DOCKERFILE_BYTES:
        raise Unreadable(f"larger than {MAX_DOCKERFILE_BYTES // 1024} KiB")
    try:
        parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=True)
        structure = parser.structure
        if len(structure) > MAX_INSTRUCTIONS:
            raise Unreadable(f"more than {MAX_INSTRUCTIONS} instructions")
        referring = sum(1 for one in structure if one["instruction"] in ("ARG", "ENV") and "$" in one["value"])
        contexts = parser.context_structure if referring <= MAX_REFERRING else [None] * len(structure)
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001  (whatever the library raises on a hostile file: skip it)
        raise Unreadable(f"dockerfile-parse cannot read it ({type(exc).__name__})") from None
    port = None
    health = ""
    for instruction, context in zip(structure, contexts):
        word = instruction["instruction"]
        value = instruction["value"]
        if word == "FROM":
            port, health = None, ""
            continue
        if word not in ("EXPOSE", "HEALTHCHECK"):
            continue
        if context is not None:
            try:
                value = WordSplitter(value, args={**context.get_values("ARG"), **context.get_values("ENV")}).dequote()
            except ValueError:  # an unbalanced quote: read it as written
                pass
        if word == "EXPOSE" and port is None:
            match = re.search(r"\b(\d{1,5})(/tcp)?\b", value)
            port = int(match.group(1)) if match else None
        elif word == "HEALTHCHECK":
            match = re.search(r"(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0)(?::\d+)?(/[A-Za-z0-9._~/-]*)", value)
            health = match.group(1) if match else health
    return Image(slug(name) or "app", folder or ".", base, port, health)


def slug(text: str) -> str:
    """A name greenlight takes (a-z, 0-9, -, starting with a letter, 31 at most)."""
    text = re.sub(r"[^a-z0-9-]+", "-", text.lower().removesuffix(".git")).strip("-")
    text = re.sub(r"^[^a-z]+", "", text)[:31].rstrip("-")
    return text if NAME.fullmatch(text) else ""


def taken_ports(greenlight_root: Path) -> set[int]:
    """Ports the proxies of greenlight's environments on this machine bind, running or not."""
    ports: set[int] = set(MONITORING_PORTS)
    for config in greenlight_root.glob("*/proxy/conf/haproxy.cfg"):
        try:
            text = config.read_text()
        except OSError:
            continue
        ports.update(int(p) for p in re.findall(r"^\s*bind\s+\S*?:(\d+)", text, re.M))
    return ports


def free(port: int) -> bool:
    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET, "127.0.0.1")):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((address, port))
            except OSError:
                return False
    return True


def choose_ports(taken: set[int], is_free=free, fixed: dict[str, dict[str, int]] | None = None) -> dict[str, dict[str, int]]:
    """Each environment's ports: `fixed` ones as given (a compose file's published ports,
    which greenlight takes over), the others greenlight's usual ones moved up past taken ones."""
    fixed = fixed or {}
    chosen: dict[str, dict[str, int]] = {}
    used = set(taken) | {port for ports in fixed.values() for port in ports.values()}
    for env, wanted in PORTS.items():
        chosen[env] = {}
        for key, port in wanted.items():
            if key in fixed.get(env, {}):
                chosen[env][key] = fixed[env][key]
                continue
            candidate = port
            while candidate in used or not is_free(candidate):
                candidate += 1
                if candidate > 65535:
                    raise InitError(f"no free port for {key} above {port}")
            chosen[env][key] = candidate
            used.add(candidate)
    return chosen


def repository_of(where: Path) -> str:
    """The repository of the folder greenlight init runs in: its origin, else its own path."""
    top = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode != 0:
        raise InitError(f"{where} is not in a git repository; give the app's repository with --repo URL")
    origin = subprocess.run(["git", "-C", top.stdout.strip(), "remote", "get-url", "origin"], capture_output=True, text=True)
    return origin.stdout.strip() if origin.returncode == 0 and origin.stdout.strip() else top.stdout.strip()


def vault_text(password: str, given: dict[str, str] | None = None) -> str:
    """The vault: random secrets, and the ones given (a repository URL with its token, a
    compose file's passwords), a given one in place of a random one of the same name."""
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    values = {**{name: secrets.token_urlsafe(24) for name in SECRETS}, **(given or {})}
    plain = "---\n# Made by greenlight init; opened with the .vault-password beside the inventories.\n" + "".join(
        f"{name}: {dump(value)}\n" for name, value in values.items())
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])
    return vault.encrypt(plain).decode()


def create(directory: Path, repo: str = "", app: str = "", base_image: str = "",
           greenlight_root: Path = Path("/var/lib/greenlight"), is_free=free, compose: Path | None = None,
           host: str = "", user: str = "", environ: dict[str, str] | None = None) -> list[str]:
    """Write DIR/{staging,production}, DIR/.vault-password and DIR/.gitignore; returns what it
    found. From the app's Dockerfiles, or with `compose` from its compose file
    (greenlight/from_compose.py). `host` and `user`: the VPS both environments run on."""
    for env in ENVIRONMENTS:
        if (directory / env).exists():
            raise InitError(f"{directory / env} exists already; greenlight init writes a new inventory pair only")
    if host and not settings.HOST_NAME.fullmatch(host):
        raise InitError(f"--host {scrub(host)!r}: a host name or address")
    if user and not NAME.fullmatch(user.replace("_", "-")):
        raise InitError(f"--user {scrub(user)!r}: a user name (a-z, 0-9, - and _)")
    if host and host not in ("localhost", "127.0.0.1"):
        is_free = lambda port: True  # noqa: E731  (the VPS's ports: greenlight check tests them there)
    if compose is not None:
        return _create_from_compose(directory, compose, repo, app, base_image, greenlight_root, is_free, host, user,
                                    environ if environ is not None else dict(os.environ))
    repo = repo or repository_of(Path.cwd())
    name = app or slug(Path(repo.rstrip("/")).name)
    if not NAME.fullmatch(name):
        raise InitError(f"cannot make an app name of {scrub(repo)}; give one with --app NAME (a-z, 0-9, -)")
    found = dockerfiles(repo)
    if not found:
        raise InitError(f"{scrub(repo)} has no Dockerfile at its default branch; greenlight builds the app's images "
                        f"from Dockerfiles in its repository")
    images, skipped, unreadable = [], [], []
    for path, text in found:
        # A folder or file name greenlight does not take in app_images (the settings check's
        # rule: a-z, A-Z, 0-9, . _ - only) is said, not written: a name like a template
        # expression is the app's text, never to reach a place that evaluates it.
        if not settings.RELATIVE.fullmatch(path):
            skipped.append(path)
            continue
        try:
            image = image_from(path, text)
        except Unreadable as exc:
            unreadable.append((path, str(exc)))
            continue
        while image.name in {i.name for i in images}:
            image.name = f"{image.name}-{len(images) + 1}"
        images.append(image)
    found = [(path, text) for path, text in found if path not in skipped and path not in dict(unreadable)]
    the_app = App(name, repo, images)
    if not any(i.port for i in images):
        raise InitError("no Dockerfile of the repository EXPOSEs a port; greenlight needs one part that serves HTTP "
                        "(EXPOSE its port in its Dockerfile)")
    ports = choose_ports(taken_ports(greenlight_root), is_free)
    write(directory, the_app, ports, base_image, host, user)
    lines = [f"{path}: {'web part on port ' + str(image.port) if image.port else 'a worker (no EXPOSE)'}"
             + (f", health {image.health}" if image.health else ("" if not image.port else ", health / (no HEALTHCHECK path)"))
             for (path, _), image in zip(found, images)]
    lines += [f"{scrub(path)!r}: skipped, its path holds characters greenlight does not take in app_images "
              f"(a-z, A-Z, 0-9, . _ - only); rename it to use it" for path in skipped]
    lines += [f"{scrub(path)!r}: skipped, {reason}" for path, reason in unreadable]
    return lines + ports_said(ports)


# The settings main.yml sets, and what a part may hold: what write() checks the written file
# against, so no text of the app can have added a setting (greenlight/from_compose.py).
MAIN_KEYS = frozenset({
    "ansible_connection", "ansible_python_interpreter", "app_images", "app_migrate_image", "app_parts", "app_repo",
    "app_version", "backend_migrate_command", "backup_keep", "backup_restic_password", "deploy_canary_hold",
    "deploy_canary_steps", "deploy_judge_synthetic_paths", "deploy_strategy", "deploy_watch_seconds", "greenlight_app",
    "greenlight_base_image", "greenlight_env", "greenlight_root", "healthcheck_smoke_checks", "mysql_app_password",
    "mysql_app_user", "mysql_database", "mysql_migrator_password", "verify_reads", "verify_version_path",
    *PORTS["production"]})
PART_KEYS = frozenset({"name", "image", "port", "health", "paths", "command", "database", "cpus", "memory",
                       "stop_timeout", "env"})


class _Reader(yaml.SafeLoader):
    """main.yml as Ansible will read it (!unsafe: a string)."""


_Reader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def checked(text: str, parts: list[dict]) -> str:
    """main.yml's text, once it reads back as the settings and parts init meant to write."""
    try:
        read = yaml.load(text, Loader=_Reader)  # noqa: S506  (a SafeLoader with one tag more)
    except yaml.YAMLError:
        read = None
    wrote = isinstance(read, dict) and set(read) <= MAIN_KEYS and isinstance(read.get("app_parts"), list) and [
        part.get("name") for part in read["app_parts"] if isinstance(part, dict) and set(part) <= PART_KEYS
    ] == [part["name"] for part in parts]
    if not wrote:
        raise InitError("the app's text would have changed the inventory init writes (a line break or quote in a "
                        "name?); nothing was written")
    return text


def write(directory: Path, the_app: App, ports: dict[str, dict[str, int]], base_image: str, host: str = "",
          user: str = "", extra: dict[str, dict] | None = None, vault: dict[str, dict[str, str]] | None = None) -> None:
    """The inventory pair, its vault password and its .gitignore."""
    texts = {env: checked(main_yml(the_app, env, ports[env], base_image, (extra or {}).get(env)),
                          ((extra or {}).get(env) or {}).get("parts") or the_app.settings()[2]) for env in ENVIRONMENTS}
    directory.mkdir(parents=True, exist_ok=True)
    password_file = directory / ".vault-password"
    password = secrets.token_urlsafe(36)
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    gitignore = directory / ".gitignore"
    if ".vault-password" not in (gitignore.read_text() if gitignore.exists() else ""):
        with gitignore.open("a") as out:
            out.write("# The vault's password: keep it out of git, and somewhere besides this machine.\n.vault-password\n")
    for env in ENVIRONMENTS:
        folder = directory / env / "group_vars" / "all"
        folder.mkdir(parents=True)
        (directory / env / "hosts.yml").write_text(hosts_yml(env, host, user))
        (folder / "main.yml").write_text(texts[env])
        # A repository URL with credentials is a secret: in the vault, the inventory names it.
        given = {"vault_app_repo": the_app.repo} if git_auth.auth_config(the_app.repo) else {}
        (folder / "vault.yml").write_text(vault_text(password, {**given, **(vault or {}).get(env, {})}))
        (folder / "vault.yml").chmod(0o600)


def _create_from_compose(directory: Path, compose: Path, repo: str, app: str, base_image: str,
                         greenlight_root: Path, is_free, host: str, user: str, environ: dict[str, str]) -> list[str]:
    from . import from_compose

    compose = compose.resolve()
    if not compose.is_file():
        raise InitError(f"{compose}: no such compose file")
    repo = repo or repository_of(compose.parent)
    name = app or slug(Path(repo.rstrip("/")).name) or slug(compose.parent.name)
    if not NAME.fullmatch(name):
        raise InitError(f"cannot make an app name of {scrub(repo)}; give one with --app NAME (a-z, 0-9, -)")
    found = from_compose.plan(compose, environ)
    the_app = App(name, repo, found.images)
    ports = choose_ports(taken_ports(greenlight_root), is_free, found.ports)
    write(directory, the_app, ports, base_image, host, user, found.extra, found.vault)
    return found.lines + ports_said(ports)


def ports_said(ports: dict[str, dict[str, int]]) -> list[str]:
    """init's report of the ports it chose, a line per environment."""
    return [f"{env} ports: " + ", ".join(f"{key.removesuffix('_port')} {port}" for key, port in ports[env].items())
            for env in ENVIRONMENTS]


def hosts_yml(env: str, host: str = "", user: str = "") -> str:
    return f"""---
# The {env} environment. localhost: this machine. For a VPS, its address (greenlight then
# connects over SSH as ansible_user).
{env}:
  hosts:
    {env}_server:
      ansible_host: {dump(host) if host else "localhost"}
""" + (f"      ansible_user: {dump(user)}\n" if user else "")


class _Dumper(yaml.SafeDumper):
    """YAML in which a string that Jinja would read as a template is tagged !unsafe."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # The repository's folder names and URL are the app's text: Ansible must read them as they are.
    unsafe = settings.is_template(value)
    return dumper.represent_scalar("!unsafe" if unsafe else "tag:yaml.org,2002:str", value,
                                   style="'" if unsafe else None)


_Dumper.add_representer(str, _string)


def dump(value: object) -> str:
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=200).strip().removesuffix("...").strip()


def main_yml(app: App, env: str, ports: dict[str, int], base_image: str, extra: dict | None = None) -> str:
    """An environment's main.yml; `extra` (from a compose file): its parts, its database
    settings and the notes of what it could not take."""
    extra = extra or {}
    app_images, _, parts = app.settings()
    parts = extra.get("parts", parts)
    # The web part without paths takes every request: its health path is the smoke checks'.
    default = next(part for part in parts if "port" in part and "paths" not in part)
    health = default["health"]
    production = env == "production"
    part_lines = []

    def line(text: str, comment: str = "") -> None:
        part_lines.append(f"{text:<24}  # {one_line(comment)}" if comment else text)

    for part in parts:
        image = next(i for i in app.images if i.name == part["image"])
        line(f"  - name: {part['name']}")
        line(f"    image: {part['image']}")
        if "port" in part:
            line(f"    port: {part['port']}", part.get("port_from", "its EXPOSE"))
            line(f"    health: {part['health']}", part.get("health_from") or (
                "its HEALTHCHECK's path" if image.health else
                "no HEALTHCHECK path found: set your health endpoint (200 when healthy)"))
            if "paths" in part:
                line(f"    paths: {dump(part['paths'])}", "guessed from its name: the requests routed to it")
        elif part.get("command") is None:
            line("    # No EXPOSE: a worker, replaced in place once a release is live (SIGTERM, then")
            line("    # stop_timeout). Give it its command if the image's default is not the worker:")
            line("    # command: [python3, -m, yourapp.worker]")
        if part.get("command") is not None:
            line(f"    command: {dump(part['command'])}", "its compose command")
        if isinstance(part.get("database"), dict):
            line(f"    database: {dump(part['database'])}", "the database settings under your app's names")
        elif part.get("database", True):
            line("    database: true", "gets DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD_FILE")
        compose_limits = part.get("cpus") is not None or part.get("memory")
        line(f"    cpus: {part['cpus'] if part.get('cpus') is not None else (1 if production else 0.5)}",
             "its compose limits" if compose_limits else "its limits")
        line(f"    memory: {part.get('memory') or ('512m' if production else '256m')}")
        line(f"    stop_timeout: {part.get('stop_timeout') or 30}", "its stop_grace_period" if part.get("stop_timeout")
             else "seconds to finish its work on docker stop")
        if part.get("env"):
            line(f"    env: {dump(part['env'])}")
        else:
            line("    # env: {LOG_LEVEL: info}    (settings that are not secrets: docker inspect shows them)")
        for text in part.get("notes", []):
            line(f"    # {one_line(text)}")
    # Migrations usually ship with the API; else the image that takes every request.
    migrate_image = next((i.name for i in app.images if i.name in API_NAMES), default["image"])
    return f"""---
# {env.capitalize()} of {app.name}, written by greenlight init. Every setting not here is a role
# default (roles/*/defaults/main.yml); greenlight's docs/your-app.md explains each of these.

# Where this environment runs: this machine (connection local) or a VPS over SSH.
ansible_connection: "{{{{ 'local' if ansible_host in ['localhost', '127.0.0.1'] else 'ssh' }}}}"
ansible_python_interpreter: "{{{{ ansible_playbook_python if ansible_connection == 'local' else 'auto_silent' }}}}"
# ansible_user: deploy

# Which app, which environment; containers are named <app>-<env>-<part>[-<color>].
greenlight_app: {app.name}
greenlight_env: {env}
# State on the host: proxy config, backups, secrets, the release history.
greenlight_root: /var/lib/greenlight
{('# Base image of the images greenlight builds for itself (this machine has no registry).' + chr(10) + 'greenlight_base_image: ' + base_image + chr(10)) if base_image else ''}
# The app's git repository, as the host sees it (a path, or an https/ssh URL), and the
# release a plain deploy takes (greenlight deploy/promote name one).
app_repo: {'"{{ vault_app_repo }}"' if git_auth.auth_config(app.repo) else dump(app.repo)}
app_version: main

# The app's images, built from the repository: context folder, and Dockerfile in it.
app_images: {dump(app_images)}
# The app's parts (greenlight's docs/your-app.md). A part with a port is a web part:
# one container per color behind the proxy. Exactly one has no paths: it takes every
# request the others' paths do not.
app_parts:
{chr(10).join(part_lines)}
# The image whose container applies the schema changes, before the new release starts, and
# its command (a list), the app's own, for example [python3, -m, yourapp.migrate]; [] while
# it has none.
app_migrate_image: {migrate_image}
backend_migrate_command: []

# What greenlight checks before traffic moves (through the preview port), what the canary's
# judge sends when real traffic is thin, and what `greenlight verify` reads.
healthcheck_smoke_checks: [{{path: {health}, status: 200}}]
deploy_judge_synthetic_paths: [{health}]
verify_reads: [{{path: {health}}}]
# A path answering JSON {{"version": "..."}}: promote then checks staging runs the release it
# deployed. Empty: not checked.
verify_version_path: ""
# Your own check, run on the host after these (argv; VERIFY_URL in its environment):
# verify_command: [sh, -c, 'curl -fsS "$VERIFY_URL/" | grep -q myapp']

# How traffic moves to a new release: blue_green, canary or rolling (greenlight's docs/strategies.md).
deploy_strategy: {'canary' if production else 'blue_green'}
# Canary: percent of the traffic on the new release at each step, and seconds each is watched.
deploy_canary_steps: [5, 25, 50, 100]
deploy_canary_hold: 20
# Seconds the new release is watched after the switch; a worse one is rolled back.
deploy_watch_seconds: {30 if production else 10}

# Ports{': ' + one_line(extra['ports_from']) + '; the others' if extra.get('ports_from') else ''}, free on this machine when greenlight init ran.
# Database, API, preview and metrics listen on loopback only.
proxy_http_port: {ports['proxy_http_port']}
proxy_https_port: {ports['proxy_https_port']}
proxy_api_port: {ports['proxy_api_port']}
proxy_preview_port: {ports['proxy_preview_port']}
proxy_metrics_port: {ports['proxy_metrics_port']}
mysql_port: {ports['mysql_port']}
monitoring_mysqld_exporter_port: {ports['monitoring_mysqld_exporter_port']}
# The app's database (its own per environment on one host).
mysql_database: {dump((extra.get('database') or app.name.replace('-', '_')) + ('' if production else '_staging'))}
{('# The app' + "'" + 's database user, as its compose file named it.' + chr(10) + 'mysql_app_user: ' + dump(extra["database_user"]) + chr(10)) if extra.get("database_user") else ''}
# Secrets live in vault.yml (random, made by greenlight init); these names point at them.
mysql_app_password: "{{{{ vault_mysql_app_password }}}}"
mysql_migrator_password: "{{{{ vault_mysql_migrator_password }}}}"
backup_restic_password: "{{{{ vault_restic_password }}}}"
# Pre-deploy backups kept.
backup_keep: {10 if production else 5}
""" + "".join(f"# {one_line(note)}\n" for note in extra.get("notes", []))
