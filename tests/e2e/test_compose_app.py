"""An app as a team runs it on docker-compose today, onto greenlight with no line of it changed
(examples/shop, docs/your-app.md): `greenlight init --from-compose` reads its compose file
(services, ports, environment, health checks, limits, the MySQL service, the backend's own
variable names), the user adds what init cannot know (the migration command, verify's
reads), and the same app is promoted v1 then v2 (a migration) under load. The backend reads
APP_DB_HOST, APP_DB_PORT, APP_DB_NAME, APP_DB_USER and the password itself from
MYSQL_PASSWORD: greenlight gives them under those names, the password through its entrypoint,
never in `docker inspect`.

Not here yet (issue 26): adopting the compose app while it runs, and bringing its data.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from greenlight.init import free
from greenlight.load import Load

from . import stack
from .stack import REPO, ROOT

APP = "shop-e2e"
INVENTORIES = ROOT / "shop-inventories"
CHECKOUT = ROOT / "shop-checkout"
# What init cannot read from a compose file (one more group_vars file per environment).
USER_SETTINGS = {
    "backend_migrate_command": ["python3", "-m", "shop.migrate"],
    "healthcheck_smoke_checks": [{"path": "/healthz", "status": 200}, {"path": "/api/version", "status": 200},
                                 {"path": "/api/items", "status": 200}],
    "deploy_judge_synthetic_paths": ["/api/items", "/api/version"],
    "verify_reads": [{"path": "/healthz"}, {"path": "/api/items"}, {"path": "/", "match": '<meta name="app-version"'}],
    "verify_version_path": "/api/version",
    "deploy_canary_steps": [25, 100],
}
PUBLISHED = ("HTTP_PORT", "HTTPS_PORT", "API_PORT", "DB_PORT", "STAGING_HTTP_PORT", "STAGING_HTTPS_PORT",
             "STAGING_API_PORT", "STAGING_DB_PORT")


def greenlight(*args: str) -> subprocess.CompletedProcess:
    return stack.app_greenlight(APP, INVENTORIES, *args)


def remove() -> None:
    stack.remove_app(APP)


def free_ports(count: int, start: int = 18080) -> list[int]:
    """Ports free on this machine for the compose file's published ones (the suite's other
    environments hold the usual 80, 5000, 3307...)."""
    found, port = [], start
    while len(found) < count:
        if free(port):
            found.append(port)
        port += 1
    return found


@pytest.fixture(scope="module")
def shop() -> Iterator[dict]:
    """The app's repository, its checkout with the compose file and its .env, and init from it."""
    remove()
    ROOT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", str(REPO / "examples/make-repo.sh"), str(REPO / "examples/shop"), str(ROOT / "shop.git")],
                   check=True, capture_output=True)
    subprocess.run(["rm", "-rf", "--", str(CHECKOUT), str(INVENTORIES)], check=True)
    subprocess.run(["git", "clone", "-q", str(ROOT / "shop.git"), str(CHECKOUT)], check=True)
    ports = dict(zip(PUBLISHED, free_ports(len(PUBLISHED))))
    password = secrets.token_urlsafe(18)
    (CHECKOUT / ".env").write_text(f"DB_PASSWORD={password}\nDB_ROOT_PASSWORD={secrets.token_urlsafe(18)}\n"
                                   + "".join(f"{name}={port}\n" for name, port in ports.items()))
    done = greenlight("init", str(INVENTORIES), "--from-compose", str(CHECKOUT / "docker-compose.yml"), "--app", APP)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    for line in ["frontend: web part on port 8080, health /healthz", "backend: web part on port 5000, health /health",
                 "db: the database (mysql 8.0, database shop, user shop)",
                 "backend-staging: staging's backend (its published ports are staging's)"]:
        assert line in done.stdout, done.stdout
    assert password not in done.stdout + done.stderr
    assert [line.split()[:2] for line in done.stdout.splitlines()[-3:]] == [["both", "ok"], ["staging", "ok"],
                                                                             ["production", "ok"]]
    for env in ("staging", "production"):
        main = (INVENTORIES / env / "group_vars/all/main.yml").read_text()
        assert password not in main
        written = yaml.safe_load(main)
        backend = next(part for part in written["app_parts"] if part["name"] == "backend")
        assert backend["database"] == {"host": "APP_DB_HOST", "port": "APP_DB_PORT", "name": "APP_DB_NAME",
                                       "user": "APP_DB_USER", "password": "MYSQL_PASSWORD"}
        assert backend["env"] == {"SHOP_CURRENCY": "EUR"} and backend["stop_timeout"] == 25
        prefix = "STAGING_" if env == "staging" else ""
        assert (written["proxy_http_port"], written["proxy_api_port"], written["mysql_port"]) == (
            ports[f"{prefix}HTTP_PORT"], ports[f"{prefix}API_PORT"], ports[f"{prefix}DB_PORT"])
        suite = stack.suite_settings(env)
        (INVENTORIES / env / "group_vars/all/zz-user.yml").write_text(yaml.safe_dump({**USER_SETTINGS, **suite}))
    yield {"ports": ports, "password": password}
    remove()


def test_a_compose_app_from_its_compose_file_to_a_promote_with_its_own_names(shop: dict) -> None:
    base = f"http://127.0.0.1:{shop['ports']['HTTP_PORT']}"
    first = greenlight("promote", "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert stack.call(base, "/api/version") == (200, {"version": "v1"})
    status, item = stack.call(base, "/api/items", "POST", {"name": "kept through every release", "price_cents": 1250})
    assert status == 201 and item["price_cents"] == 1250
    status, page = stack.call(base, "/")
    assert status == 200 and '<meta name="app-version" content="v1">' in page

    # The backend reads the password of greenlight's database (a new random one in the vault,
    # not the compose file's), and it reaches MYSQL_PASSWORD only inside the container,
    # through greenlight's entrypoint: /api/items answered above, so the app logged in.
    secrets_dir = ROOT / f"{APP}-production" / "secrets"
    password = (secrets_dir / "backend.password").read_text()
    assert len(password) >= 32 and password != shop["password"]
    found = json.loads(stack.docker("inspect", f"{APP}-production-backend-blue"))[0]
    assert password not in json.dumps(found)
    assert found["Config"]["Entrypoint"] == ["/bin/sh", "/run/greenlight/with-password"]
    assert found["Config"]["Cmd"][:3] == ["gunicorn", "--bind", "0.0.0.0:5000"]  # its compose command
    assert "APP_DB_HOST=" + f"{APP}-production-mysql" in found["Config"]["Env"]
    assert "SHOP_CURRENCY=EUR" in found["Config"]["Env"]
    for env_file in secrets_dir.glob("*.env"):
        assert password not in env_file.read_text(), env_file
    argv = stack.docker("exec", f"{APP}-production-backend-blue", "cat", "/proc/1/cmdline")
    assert password not in argv and "shop.api:app" in argv
    frontend = json.loads(stack.docker("inspect", f"{APP}-production-frontend-blue"))[0]
    assert not any(entry.startswith(("APP_DB_", "DB_", "GREENLIGHT_")) for entry in frontend["Config"]["Env"])

    # v2's migration (its own command, under its own names, through the same entrypoint) adds
    # a column; promoted under reads and writes with no failed request.
    load = Load(base, rate=stack.LOAD_RATE, workers=16, write_every=0, read_path="/api/items",
                max_seconds=stack.LOAD_MAX_SECONDS)
    load.start()
    try:
        second = greenlight("promote", "v2")
    finally:
        load.stop()
    summary = load.report.summary()
    print(f"\n{APP} promote v1 -> v2 under load: {json.dumps(summary)}")
    assert second.returncode == 0, second.stdout + second.stderr
    assert summary["failed"] == 0 and summary["rate_met"], summary
    assert stack.call(base, "/api/version") == (200, {"version": "v2"})
    status, listed = stack.call(base, "/api/items")
    kept = [i for i in listed["items"] if i["name"] == "kept through every release"]
    assert len(kept) == 1 and "note" in kept[0] and listed["currency"] == "EUR"
    staging = f"http://127.0.0.1:{shop['ports']['STAGING_HTTP_PORT']}"
    assert stack.call(staging, "/api/version") == (200, {"version": "v2"})
