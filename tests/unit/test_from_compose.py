"""greenlight init --from-compose: a compose file read by the Compose specification's rules,
and an inventory pair that greenlight's settings check accepts (greenlight/compose.py,
greenlight/from_compose.py)."""

from __future__ import annotations

import shutil
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
    assert found.vault["production"] == {"vault_backend_secret_key": "abc123", "vault_mysql_app_password": "s3cret-db"}
    assert found.vault["staging"] == {"vault_backend_secret_key": "abc123"}  # staging's database password: its own
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
        assert plain["vault_backend_secret_key"] == "abc123"
        assert (plain["vault_mysql_app_password"] == "s3cret-db") is (env == "production")
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
    assert found.vault["production"]["vault_backend_secret_key"] == "from-the-shell"


@pytest.mark.parametrize("argv", [["--host", "vps;rm -rf /"], ["--user", "root$(id)"]])
def test_a_host_or_user_that_is_not_one_is_refused(tmp_path: Path, argv: list[str]) -> None:
    options = dict(zip(argv[::2], argv[1::2]))
    with pytest.raises(init.InitError, match="--host|--user"):
        init.create(tmp_path / "inv", compose=shop(tmp_path), host=options.get("--host", "vps"),
                    user=options.get("--user", ""), greenlight_root=tmp_path / "state", environ={})


def test_the_command_line_takes_from_compose_host_and_user() -> None:
    args = build_parser().parse_args(["init", "inv", "--from-compose", "docker-compose.yml", "--host", "vps", "--user", "deploy"])
    assert (args.from_compose, args.host, args.user) == (Path("docker-compose.yml"), "vps", "deploy")
