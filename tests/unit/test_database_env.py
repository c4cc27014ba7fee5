"""A part's database settings under its app's own names (plugins/module_utils/database_env.py),
and greenlight's entrypoint that puts the password into a variable inside the container
(roles/backend/files/with-password.sh), run here with the real /bin/sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils import database_env, settings

WRAPPER = Path(__file__).parents[2] / "roles" / "backend" / "files" / "with-password.sh"
OWN = {"host": "APP_DB_HOST", "port": "APP_DB_PORT", "name": "APP_DB_NAME", "user": "APP_DB_USER",
       "password": "MYSQL_PASSWORD", "url": "DATABASE_URL"}


def test_greenlights_names_for_true_and_the_apps_own_for_a_mapping() -> None:
    assert database_env.env_text(True, "shop-production-mysql", "shop", "shop_app", "/run/secrets/db_password") == (
        "DB_HOST=shop-production-mysql\nDB_PORT=3306\nDB_NAME=shop\nDB_USER=shop_app\n"
        "DB_PASSWORD_FILE=/run/secrets/db_password\n")
    text = database_env.env_text(OWN, "shop-production-mysql", "shop", "shop_app", "/run/secrets/db_password")
    assert text.splitlines() == [
        "APP_DB_HOST=shop-production-mysql", "APP_DB_PORT=3306", "APP_DB_NAME=shop", "APP_DB_USER=shop_app",
        "GREENLIGHT_PASSWORD_VARIABLE=MYSQL_PASSWORD", "GREENLIGHT_PASSWORD_SOURCE=/run/secrets/db_password",
        "DATABASE_URL=mysql://shop_app@shop-production-mysql:3306/shop"]
    assert database_env.env_text(False, "h", "n", "u", "/m") == ""
    assert database_env.env_text({"password_file": "DB_PASS_PATH"}, "h", "n", "u", "/m") == "DB_PASS_PATH=/m\n"


@pytest.mark.parametrize(("database", "said"), [
    ({"host": "APP DB"}, "database.host 'APP DB': a variable name"),
    ({"hostname": "X"}, "database.hostname: not one of host, port, name, user, password, password_file, url"),
    ({"host": "X", "user": "X"}, "database: X is given twice"),
    ({"password": "GREENLIGHT_PASSWORD_SOURCE"}, "a name greenlight uses itself"),
    ({}, "true, false, or a mapping"), ("yes", "true, false, or a mapping"),
])
def test_a_database_setting_that_is_not_one_is_said(database: object, said: str) -> None:
    parts = [{"name": "web", "image": "app", "port": 80, "health": "/", "database": database}]
    found = settings.problems({"app_images": {"app": {"context": "."}}, "app_parts": parts})
    assert any(said in line for line in found), found


def test_a_valid_mapping_passes_the_settings_check() -> None:
    parts = [{"name": "web", "image": "app", "port": 80, "health": "/", "database": OWN}]
    assert settings.problems({"app_images": {"app": {"context": "."}}, "app_parts": parts}) == []


@pytest.mark.parametrize(("entrypoint", "cmd", "command", "expected"), [
    (["docker-entrypoint.sh"], ["node", "server.js"], None, ["docker-entrypoint.sh", "node", "server.js"]),
    (None, ["python3", "-m", "shop"], ["python3", "-m", "shop.worker"], ["python3", "-m", "shop.worker"]),
    ("tini --", "run", None, ["tini --", "run"]),
])
def test_the_wrapper_runs_what_the_image_would(entrypoint, cmd, command, expected) -> None:
    assert database_env.wrapped(entrypoint, cmd, command) == (["/bin/sh", database_env.WRAPPER], expected)


def wrapper(tmp_path: Path, variable: str, *argv: str) -> subprocess.CompletedProcess:
    password = tmp_path / "db_password"
    password.write_text("s3cret with spaces $HOME `id`")
    return subprocess.run(["/bin/sh", str(WRAPPER), *argv], capture_output=True, text=True, timeout=10,
                          env={"PATH": "/usr/bin:/bin", database_env.VARIABLE: variable,
                               database_env.SOURCE: str(password)})


def test_the_entrypoint_puts_the_password_into_the_variable_as_it_is_and_leaves_no_trace(tmp_path: Path) -> None:
    done = wrapper(tmp_path, "MYSQL_PASSWORD", "/usr/bin/env")
    assert done.returncode == 0, done.stderr
    env = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert env["MYSQL_PASSWORD"] == "s3cret with spaces $HOME `id`"  # as the file holds it, never evaluated
    assert database_env.VARIABLE not in env and database_env.SOURCE not in env
    argv = wrapper(tmp_path, "MYSQL_PASSWORD", "/bin/sh", "-c", 'cat /proc/$$/cmdline | tr "\\0" " "')
    assert "s3cret" not in argv.stdout  # not in the program's argv


@pytest.mark.parametrize("variable", ["1BAD", "A-B", "X;id", ""])
def test_the_entrypoint_refuses_a_variable_that_is_not_a_name(tmp_path: Path, variable: str) -> None:
    done = wrapper(tmp_path, variable, "/usr/bin/env")
    assert done.returncode != 0 and "s3cret" not in done.stdout + done.stderr


@pytest.mark.parametrize("variable", ["LD_PRELOAD", "PATH", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS", "PYTHONSTARTUP",
                                      "BASH_ENV", "MAVEN_OPTS"])
def test_a_variable_the_system_or_a_runtime_reads_is_refused(variable: str) -> None:
    assert any("a variable the system or a runtime reads" in line
               for line in database_env.problems("app_parts[0]", {"password": variable}))


def test_a_setting_with_a_line_break_cannot_add_a_variable() -> None:
    with pytest.raises(ValueError, match="control character"):
        database_env.env_text(True, "db\nGREENLIGHT_PASSWORD_VARIABLE=PATH", "shop", "shop_app", "/run/secrets/x")


def test_the_entrypoint_keeps_a_passwords_trailing_newlines_and_stops_without_its_file(tmp_path: Path) -> None:
    password = tmp_path / "db_password"
    password.write_text("ends with two newlines\n\n")
    done = subprocess.run(["/bin/sh", str(WRAPPER), "/bin/sh", "-c", 'printf %s "$MYSQL_PASSWORD" | od -c | tail -2'],
                          capture_output=True, text=True, timeout=10,
                          env={"PATH": "/usr/bin:/bin", database_env.VARIABLE: "MYSQL_PASSWORD",
                               database_env.SOURCE: str(password)})
    assert done.returncode == 0 and "\\n  \\n" in done.stdout, done.stdout
    missing = subprocess.run(["/bin/sh", str(WRAPPER), "/usr/bin/env"], capture_output=True, text=True, timeout=10,
                             env={"PATH": "/usr/bin:/bin", database_env.VARIABLE: "MYSQL_PASSWORD",
                                  database_env.SOURCE: str(tmp_path / "missing")})
    assert missing.returncode == 66 and "MYSQL_PASSWORD" not in missing.stdout


def test_an_existing_servers_port_reaches_the_port_and_the_url() -> None:
    text = database_env.env_text(OWN, "shop-db", "shop", "shop_app", "/run/secrets/db_password", 3307)
    assert "APP_DB_PORT=3307" in text.splitlines()
    assert "DATABASE_URL=mysql://shop_app@shop-db:3307/shop" in text.splitlines()
