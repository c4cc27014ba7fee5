"""greenlight init --from-compose: a compose file read by the Compose specification's rules,
and an inventory pair that greenlight's settings check accepts (greenlight/compose.py,
greenlight/from_compose.py)."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from greenlight import compose, init
from greenlight.cli import build_parser
from ansible_collections.greenlight.deploy.plugins.module_utils import settings

from .test_init import git_repo

FIXTURE = Path(__file__).parent / "fixtures" / "compose-shop"


@pytest.mark.parametrize(("text", "expected"), [
    ("$A", "x"), ("${A}", "x"), ("a$$b", "a$b"), ("$${A}", "${A}"), ("${EMPTY:-d}", "d"), ("${EMPTY-d}", ""),
    ("${UNSET-d}", "d"), ("${UNSET:-${A}}", "x"), ("${A:+y}", "y"), ("${UNSET:+y}", ""), ("${P}:5000", "5000:5000"),
    ("$UNSET", ""), ("{{ lookup('pipe', 'id') }}", "{{ lookup('pipe', 'id') }}"), ("cost $5", "cost $5"),
])
def test_variables_are_put_in_by_the_compose_rules(text: str, expected: str) -> None:
    assert compose.interpolate(text, {"A": "x", "EMPTY": "", "P": "5000"}) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("${DB_PASSWORD:?set it in .env}", "DB_PASSWORD is not set (set it in .env)"),
    ("${DB_PASSWORD?}", "DB_PASSWORD is not set (required)"),
    ("${A", "an unclosed ${"), ("${A B}", "is not a variable Compose knows"),
])
def test_a_required_variable_or_a_broken_expression_is_said(text: str, message: str) -> None:
    with pytest.raises(compose.ComposeError, match=message.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        compose.interpolate(text, {"EMPTY": ""}, "service x")


@pytest.mark.parametrize(("item", "port"), [
    ("5000:5000", compose.Port(5000, 5000)), ("127.0.0.1:3307:3306", compose.Port(3306, 3307, "127.0.0.1")),
    ("80", compose.Port(80)), ("[::1]:8080:80", compose.Port(80, 8080, "::1")), ("8080:80/tcp", compose.Port(80, 8080)),
    ({"target": 80, "published": "8080"}, compose.Port(80, 8080)), ("1000-1002:1000-1002", None), ("53:53/udp", None),
    ({"target": 53, "protocol": "udp"}, None), ("99999:80", None), ("x:80", None),
])
def test_ports_short_and_long_syntax(item: object, port: compose.Port | None) -> None:
    assert compose._port(item, lambda value, key="ports": str(value)) == port


def test_durations_are_seconds_rounded_up() -> None:
    assert [compose.duration(t) for t in ("1m30s", "10s", "2h", "500ms", "1.5s", "", "ten")] == [90, 10, 7200, 1, 2, None, None]


def shop(tmp_path: Path) -> Path:
    """The fixture app in a git repository of its own, its .env beside the compose file."""
    folder = tmp_path / "shop"
    shutil.copytree(FIXTURE, folder)
    (folder / "dotenv").rename(folder / ".env")
    git_repo(folder, {})
    return folder / "docker-compose.yml"


def test_the_compose_file_becomes_parts_images_the_database_and_both_environments_ports(tmp_path: Path) -> None:
    from greenlight import from_compose

    found = from_compose.plan(shop(tmp_path), {})
    assert [(i.name, i.context, i.dockerfile) for i in found.images] == [
        ("frontend", "frontend", "Dockerfile"), ("backend", "backend", "Dockerfile.prod")]
    frontend, backend = found.parts
    assert (frontend["port"], frontend["health"], frontend.get("paths"), frontend["env"]) == (8080, "/healthz", None, {"API_BASE": "/api"})
    assert frontend["database"] is False  # nothing of the database in its environment, no depends_on db
    assert backend["port"] == 5000 and backend["health"] == "/health" and backend["paths"] == ["/api/"]
    assert backend["command"] == ["python3", "-m", "shop.server", "--port", "5000"]
    assert (backend["cpus"], backend["memory"], backend["stop_timeout"]) == (0.75, "384m", 45)
    assert backend["env"] == {"LOG_LEVEL": "info"}
    assert backend["database"] == {"host": "APP_DB_HOST", "port": "APP_DB_PORT", "name": "APP_DB_NAME",
                                   "user": "APP_DB_USER", "password": "MYSQL_PASSWORD"}
    assert found.ports == {
        "production": {"proxy_http_port": 80, "proxy_https_port": 443, "proxy_api_port": 5000, "mysql_port": 3307},
        "staging": {"proxy_http_port": 8080, "proxy_https_port": 8443, "proxy_api_port": 5001, "mysql_port": 3308}}
    # The app's own secret goes to the vault; the database's password is not taken: greenlight's
    # database is a new one, with random passwords (init.SECRETS).
    assert found.vault == {env: {"vault_env_backend_secret_key": "abc123"} for env in ("production", "staging")}
    assert found.extra["production"]["database"] == "warehouse_wms" and found.extra["production"]["database_user"] == "shop"
    notes = "\n".join(found.extra["production"]["notes"])
    for said in ["backend deploy.replicas: greenlight runs one container per color",
                 "backend volumes: greenlight gives a part no volume",
                 "service redis runs the image redis:7 and builds nothing",
                 "the database service db runs mysql 8.0; greenlight runs its own MariaDB"]:
        assert said in notes
    assert "db volumes" not in notes  # the database's data: greenlight's own volume, said once above


def test_init_from_compose_writes_a_pair_the_settings_check_accepts_with_no_secret_in_clear(tmp_path: Path) -> None:
    asked: list[int] = []
    found = init.create(tmp_path / "inv", compose=shop(tmp_path), host="203.0.113.7", user="deploy",
                        greenlight_root=tmp_path / "state", is_free=lambda port: asked.append(port) or True, environ={})
    assert asked == []  # a VPS's ports are not this machine's: greenlight check tests them there
    assert "production ports: proxy_http 80, proxy_https 443, proxy_api 5000, proxy_preview 9080, proxy_metrics 8404, " \
           "mysql 3307, monitoring_mysqld_exporter 9104" in found
    password = (tmp_path / "inv/.vault-password").read_text().strip()
    from ansible.parsing.vault import VaultLib, VaultSecret
    for env in ("staging", "production"):
        text = (tmp_path / f"inv/{env}/group_vars/all/main.yml").read_text()
        assert "s3cret-db" not in text and "abc123" not in text and "r00t" not in text
        written = yaml.safe_load(text)
        assert settings.problems({k: v for k, v in written.items() if k in (
            "app_images", "app_parts", "app_migrate_image", "deploy_strategy", "proxy_http_port", "mysql_port")}) == []
        assert written["app_migrate_image"] == "backend" and written["mysql_app_user"] == "shop"
        assert written["app_parts"][1]["database"]["password"] == "MYSQL_PASSWORD"
        assert written["mysql_database"] == ("warehouse_wms" if env == "production" else "warehouse_wms_staging")
        hosts = yaml.safe_load((tmp_path / f"inv/{env}/hosts.yml").read_text())
        assert hosts[env]["hosts"][f"{env}_server"] == {"ansible_host": "203.0.113.7", "ansible_user": "deploy"}
        plain = yaml.safe_load(VaultLib([("default", VaultSecret(password.encode()))]).decrypt(
            (tmp_path / f"inv/{env}/group_vars/all/vault.yml").read_bytes()))
        assert plain["vault_env_backend_secret_key"] == "abc123"
        assert plain["vault_mysql_app_password"] != "s3cret-db" and len(plain["vault_mysql_app_password"]) >= 32
        assert set(init.SECRETS) <= set(plain)


def test_text_like_a_template_in_a_compose_file_is_written_as_data(tmp_path: Path) -> None:
    path = shop(tmp_path)
    text = path.read_text().replace("LOG_LEVEL: info", "LOG_LEVEL: \"{{ lookup('pipe', 'touch /tmp/pwned') }}\"")
    path.write_text(text)
    init.create(tmp_path / "inv", compose=path, host="vps", greenlight_root=tmp_path / "state", environ={})
    written = (tmp_path / "inv/production/group_vars/all/main.yml").read_text()
    assert "!unsafe '{{ lookup(''pipe'', ''touch /tmp/pwned'') }}'" in written
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    target = tmp_path / "pwned"
    written = written.replace("/tmp/pwned", str(target))
    (tmp_path / "main.yml").write_text(written)
    loaded = DataLoader().load_from_file(str(tmp_path / "main.yml"))
    value = loaded["app_parts"][1]["env"]["LOG_LEVEL"]
    assert Templar(loader=DataLoader(), variables={}).template(value) == value  # Ansible reads it as text
    assert not target.exists()


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace("build: ./frontend\n    ports", "build: ../elsewhere\n    ports"), "outside the repository"),
    (lambda t: t.replace("DB_PASSWORD:?set", "NOT_IN_ENV:?set"), "NOT_IN_ENV is not set (set DB_PASSWORD in .env)"),
    (lambda t: "services: [a, b]\n", "no services"),
    (lambda t: "services:\n  a: {build: .\n", "not YAML"),
    (lambda t: t.replace("build: ./frontend\n    ports: [\"80:8080\", \"443:8443\"]", "image: nginx\n    ports: [\"80:8080\"]")
     .replace("    build:\n      context: ./backend\n      dockerfile: Dockerfile.prod\n", "    image: api\n"),
     "no service builds an image that serves on a port"),
])
def test_a_compose_file_init_cannot_take_is_refused_with_why(tmp_path: Path, change, message: str) -> None:
    path = shop(tmp_path)
    path.write_text(change(path.read_text()))
    with pytest.raises(init.InitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        init.create(tmp_path / "inv", compose=path, host="vps", greenlight_root=tmp_path / "state", environ={})
    assert not (tmp_path / "inv").exists()


def test_the_shells_environment_wins_over_the_dotenv_file(tmp_path: Path) -> None:
    from greenlight import from_compose

    found = from_compose.plan(shop(tmp_path), {"SECRET_KEY": "from-the-shell", "DB_NAME": "other"})
    assert found.vault["production"]["vault_env_backend_secret_key"] == "from-the-shell"


@pytest.mark.parametrize("argv", [["--host", "vps;rm -rf /"], ["--user", "root$(id)"]])
def test_a_host_or_user_that_is_not_one_is_refused(tmp_path: Path, argv: list[str]) -> None:
    options = dict(zip(argv[::2], argv[1::2]))
    with pytest.raises(init.InitError, match="--host|--user"):
        init.create(tmp_path / "inv", compose=shop(tmp_path), host=options.get("--host", "vps"),
                    user=options.get("--user", ""), greenlight_root=tmp_path / "state", environ={})


def test_the_command_line_takes_from_compose_host_and_user() -> None:
    args = build_parser().parse_args(["init", "inv", "--from-compose", "docker-compose.yml", "--host", "vps", "--user", "deploy"])
    assert (args.from_compose, args.host, args.user) == (Path("docker-compose.yml"), "vps", "deploy")



# -- what a hostile compose file tries (an attacker's review of this code) -------------------

def edited(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


INJECTIONS = [
    ("version: \"3.8\"\n", "version: \"3.8\"\n\"top\\nmysql_app_password: '{{ lookup(\\\"pipe\\\", \\\"id\\\") }}' #\": 1\n"),
    ("limits: {cpus: \"0.75\", memory: 384M}", "limits: {cpus: \"0.75\", memory: \"512m\\nproxy_bind_address: '{{ 7 * 7 }}'\"}"),
    ("LOG_LEVEL: info", "\"X_KEY: 1\\nzz_main: '{{ 7 * 7 }}'\\n#\": v\n      LOG_LEVEL: info"),
    ("  redis:\n", "  \"redis\\u2028proxy_http_port: 1\":\n"),
    ("LOG_LEVEL: info", "LOG_LEVEL: \"a\\rb: 1\\x85c: 2\""),
]


@pytest.mark.parametrize(("old", "new"), INJECTIONS)
def test_no_text_of_the_compose_file_adds_a_setting(tmp_path: Path, old: str, new: str) -> None:
    path = shop(tmp_path)
    edited(path, old, new)
    yaml.safe_load(path.read_text())  # the hostile file is valid YAML
    try:
        init.create(tmp_path / "inv", compose=path, host="vps", greenlight_root=tmp_path / "state", environ={})
    except init.InitError as refused:
        assert "\n" not in str(refused) and not (tmp_path / "inv").exists()
        return
    for env in ("staging", "production"):
        text = (tmp_path / f"inv/{env}/group_vars/all/main.yml").read_text()
        read = yaml.load(text, Loader=init._Reader)
        assert set(read) <= init.MAIN_KEYS, set(read) - init.MAIN_KEYS
        assert all(set(part) <= init.PART_KEYS for part in read["app_parts"])
        # No line of the file starts a setting the template did not write.
        assert {line.split(":", 1)[0] for line in text.splitlines() if re.match(r"^[A-Za-z_]", line)} <= init.MAIN_KEYS


def with_line(path: Path, extra: str) -> None:
    edited(path, "      LOG_LEVEL: info\n", "      LOG_LEVEL: info\n" + extra)


HOSTILE = [
    (lambda path: with_line(path, "    env_file: /proc/self/environ\n"), "outside"),
    (lambda path: with_line(path, "    env_file: ../../etc/passwd\n"), "outside|no such file"),
    (lambda path: ((path.parent / "app.env").symlink_to("/dev/zero"), with_line(path, "    env_file: app.env\n")),
     "outside"),
    (lambda path: (os.mkfifo(path.parent / "fifo.env"), with_line(path, "    env_file: fifo.env\n")),
     "not a regular file"),
    (lambda path: edited(path, "dockerfile: Dockerfile.prod", "dockerfile: ../../../../dev/zero"), r"no \.\."),
    (lambda path: path.write_text(
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
        + "services:\n  web:\n    build: .\n    command: [*i]\n"), "is not a value"),
    (lambda path: path.write_text("x: " + "[" * 5000 + "]" * 5000 + "\nservices: {a: {build: .}}\n"),
     "nested too deep|not YAML"),
    (lambda path: path.write_text("services:\n  a:\n    build: .\n    image: \"" + "${A:-" * 20 + "x" + "}" * 20 + "\"\n"),
     "nested deeper than"),
]


@pytest.mark.parametrize(("change", "message"), HOSTILE)
def test_a_hostile_file_is_refused_in_one_line_quickly(tmp_path: Path, change, message: str) -> None:
    path = shop(tmp_path)
    change(path)
    started = time.monotonic()
    with pytest.raises(init.InitError) as refused:
        init.create(tmp_path / "inv", compose=path, host="vps", greenlight_root=tmp_path / "state", environ={})
    assert time.monotonic() - started < 5
    said = str(refused.value)
    assert re.search(message, said) and "\n" not in said and len(said) < 400, said
    assert not (tmp_path / "inv").exists()


@pytest.mark.parametrize("spec", [
    "environment: 'A=b'", "ports: 80", "expose: 80", "deploy: x", "deploy: {resources: {limits: [1]}}",
    "depends_on: db", "command: \"a 'b\"", "ports: ['\u00b2']", "expose: ['\u00b2']",
])
def test_a_value_of_the_wrong_kind_is_one_line_not_a_traceback(tmp_path: Path, spec: str) -> None:
    path = shop(tmp_path)
    path.write_text("services:\n  web:\n    build: ./frontend\n    ports: [\"80:8080\"]\n"
                    f"  odd:\n    build: ./backend\n    {spec}\n")
    try:
        init.create(tmp_path / "inv", compose=path, host="vps", greenlight_root=tmp_path / "state", environ={})
    except init.InitError as refused:
        assert "\n" not in str(refused)


def test_a_secret_is_known_by_its_name_its_source_its_value_or_its_url(tmp_path: Path) -> None:
    from greenlight import from_compose

    path = shop(tmp_path)
    with_line(path, "      DB_PASS: ${DB_PASSWORD}\n      SMTP_PASSWD: hunter2hunter2\n"
                    "      SENTRY: https://abc123:def@sentry.example/1\n      NOTE: ${GITHUB_TOKEN}\n"
                    "      LD_PRELOAD: ${DB_PASSWORD}\n")
    edited(path, "command: python3 -m shop.server --port 5000", "command: serve --db-password ${DB_PASSWORD}")
    found = from_compose.plan(path, {"GITHUB_TOKEN": "ghp_0123456789"})
    backend = found.parts[1]
    assert set(backend["env"]) == {"LOG_LEVEL"}
    assert set(found.vault["production"]) == {
        "vault_env_backend_secret_key", "vault_env_backend_db_pass", "vault_env_backend_smtp_passwd",
        "vault_env_backend_sentry", "vault_env_backend_note", "vault_env_backend_ld_preload"}
    assert "command" not in backend and any("command: not taken, it holds a secret" in n for n in backend["notes"])
    assert "LD_PRELOAD" not in backend["database"].values()


def test_a_service_cannot_choose_greenlights_own_vault_secrets(tmp_path: Path) -> None:
    from greenlight import from_compose

    path = shop(tmp_path)
    edited(path, "  redis:\n    image: redis:7\n", "  restic:\n    build: ./backend\n    environment: {PASSWORD: mine}\n")
    found = from_compose.plan(path, {})
    assert not set(found.vault["production"]) & {*init.SECRETS, "vault_app_repo"}
    assert found.vault["production"]["vault_env_restic_password"] == "mine"
