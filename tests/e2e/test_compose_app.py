"""An app as a team runs it on docker-compose today, onto greenlight with no line of it changed
(examples/shop, docs/your-app.md): `greenlight init --from-compose` reads its compose file
(services, ports, environment, health checks, limits, the MySQL service, the backend's own
variable names), the user adds what init cannot know (the migration command, verify's
reads), and the same app is promoted v1 then v2 (a migration) under load. The backend reads
APP_DB_HOST, APP_DB_PORT, APP_DB_NAME, APP_DB_USER and the password itself from
MYSQL_PASSWORD: greenlight gives them under those names, the password through its entrypoint,
never in `docker inspect`.

Then the team's data comes along: `greenlight import production --from mysql://...` copies
the database their compose stack ran (here a MariaDB of the environment's image on a published
port: no MySQL 8 image on this machine) behind the maintenance page, compared table by table
with the source, refused while something writes to the source, rerunnable; a dump file goes
to staging the same way.

Not here yet (issue 26): adopting the compose app while it runs.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import re
import secrets
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from greenlight.init import dump, free
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


def greenlight(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return stack.app_greenlight(APP, INVENTORIES, *args, env=env)


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


def shop_checkout(name: str, checkout: Path, inventories: Path, first_port: int) -> tuple[dict, str]:
    """examples/shop's repository (ROOT/<name>.git) cloned to `checkout`, with a .env of the
    compose file's published ports (free on this machine from first_port) and its passwords;
    `inventories` emptied for init. The ports, and the app's database password."""
    ROOT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", str(REPO / "examples/make-repo.sh"), str(REPO / "examples/shop"), str(ROOT / f"{name}.git")],
                   check=True, capture_output=True)
    subprocess.run(["rm", "-rf", "--", str(checkout), str(inventories)], check=True)
    subprocess.run(["git", "clone", "-q", str(ROOT / f"{name}.git"), str(checkout)], check=True)
    ports = dict(zip(PUBLISHED, free_ports(len(PUBLISHED), first_port)))
    password = secrets.token_urlsafe(18)
    (checkout / ".env").write_text(f"DB_PASSWORD={password}\nDB_ROOT_PASSWORD={secrets.token_urlsafe(18)}\n"
                                   + "".join(f"{name}={port}\n" for name, port in ports.items()))
    return ports, password


@pytest.fixture(scope="module")
def shop() -> Iterator[dict]:
    """The app's repository, its checkout with the compose file and its .env, and init from it."""
    remove()
    ports, password = shop_checkout("shop", CHECKOUT, INVENTORIES, 18080)
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


# The database the team's compose stack ran, holding their data: a table as the app's schema
# makes it with SOURCE_ROWS rows (the last one is read after v2's migration), a table whose name
# and contents are hostile (quotes, a backquote, tabs, NULLs, bytes), and one their app keeps
# writing to. Its user (SELECT and what a dump needs) has a password that is hard to quote.
SOURCE = f"{APP}-compose-db"
SOURCE_USER = "compose"
SOURCE_ROWS = 20_000
ODD_TABLE_SQL = "`audit log``s; --`"
SOURCE_SQL = f"""
CREATE DATABASE shop;
USE shop;
CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL,
  price_cents INT NOT NULL DEFAULT 0, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
INSERT INTO items (name, price_cents) SELECT CONCAT('item ', seq), seq FROM seq_1_to_{SOURCE_ROWS - 1};
INSERT INTO items (name, price_cents) VALUES ('kept through every release', 1250);
CREATE TABLE {ODD_TABLE_SQL} (id INT PRIMARY KEY, note TEXT NULL, data BLOB NULL, at DATETIME NULL,
  price DECIMAL(10,2) NULL);
INSERT INTO {ODD_TABLE_SQL} VALUES (1, 'tab\there ''quoted'' \\ back', 0x00FF10, '2026-01-02 03:04:05', 1.50),
  (2, NULL, NULL, NULL, NULL), (3, 'ünïcødé ✓ {{{{ lookup("pipe", "id") }}}}', '', '2026-12-07 00:00:00', 0);
CREATE TABLE visits (id INT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6));
"""


def sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def source_sql(source: dict | None, query: str, database: str = "shop") -> list[list[str]]:
    """Rows of a query on the source, as its root (the socket), the query on standard input."""
    done = subprocess.run(["docker", "exec", "-i", SOURCE, "mariadb", "--batch", "--skip-column-names",
                           *([database] if database else [])], input=query, capture_output=True, text=True,
                          check=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


def production_sql(query: str) -> list[list[str]]:
    out = stack.docker("exec", f"{APP}-production-mysql", "mariadb", "--batch", "--skip-column-names", "shop",
                       "--execute", query)
    return [line.split("\t") for line in out.splitlines()]


def import_production(source: dict) -> subprocess.CompletedProcess:
    """greenlight import production from the source, its password in the environment."""
    return greenlight("import", "production", "--from", f"mysql://{SOURCE_USER}@127.0.0.1:{source['port']}/shop",
                      "--yes", env={"GREENLIGHT_SOURCE_PASSWORD": source["password"]})


def write_source(source: dict) -> None:
    """The team's app writing to its database: one session, an INSERT every 20 ms until stopped."""
    writer = subprocess.Popen(["docker", "exec", "-i", SOURCE, "mariadb", "shop"], stdin=subprocess.PIPE, text=True)
    try:
        while not source["stop"].is_set():
            writer.stdin.write("INSERT INTO visits () VALUES (); DO SLEEP(0.02);\n")
            writer.stdin.flush()
            source["stop"].wait(0.02)
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)


@pytest.fixture(scope="module")
def source() -> Iterator[dict]:
    """The compose stack's database, published on 127.0.0.1 like theirs on 3307: greenlight's
    MariaDB image (no MySQL 8 image on this machine), started after production exists."""
    subprocess.run(["docker", "rm", "-f", SOURCE], capture_output=True)
    image = json.loads(stack.docker("inspect", f"{APP}-production-mysql"))[0]["Image"]
    port = free_ports(1, 13306)[0]
    stack.docker("run", "-d", "--name", SOURCE, "--label", f"greenlight.test={APP}", "-p", f"127.0.0.1:{port}:3306",
                 image)
    for _ in range(120):
        if subprocess.run(["docker", "exec", SOURCE, "mariadb-admin", "ping", "--silent"],
                          capture_output=True).returncode == 0:
            break
        time.sleep(0.5)
    password = "p\"w\\ #{{ x }}'" + secrets.token_urlsafe(12)
    source_sql(None, SOURCE_SQL + f"CREATE USER '{SOURCE_USER}'@'%' IDENTIFIED BY {sql_string(password)};\n"
                     f"GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES ON shop.* TO '{SOURCE_USER}'@'%';\n",
               database="")
    yield {"port": port, "password": password, "rows": SOURCE_ROWS}
    subprocess.run(["docker", "rm", "-f", SOURCE], capture_output=True)


def test_a_compose_app_from_its_compose_file_to_a_promote_with_its_own_names(shop: dict) -> None:
    base = f"http://127.0.0.1:{shop['ports']['HTTP_PORT']}"
    first = greenlight("promote", "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert stack.call(base, "/api/version") == (200, {"version": "v1"})
    status, item = stack.call(base, "/api/items", "POST", {"name": "written before the import", "price_cents": 1250})
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


def test_the_teams_database_comes_along_table_by_table_behind_the_maintenance_page(shop: dict, source: dict) -> None:
    base = f"http://127.0.0.1:{shop['ports']['HTTP_PORT']}"
    url = f"mysql://{SOURCE_USER}@127.0.0.1:{source['port']}/shop"
    # Something writing to the source during the dump: refused before production is touched.
    writing, stop = threading.Thread(target=write_source, args=(source,)), threading.Event()
    source["stop"] = stop
    writing.start()
    try:
        refused = import_production(source)
    finally:
        stop.set()
        writing.join()
    assert refused.returncode != 0 and "the source was written to during the dump" in refused.stdout + refused.stderr
    assert [i["name"] for i in stack.call(base, "/api/items")[1]["items"]][0] == "written before the import"

    # A view that runs as an account greenlight's server does not have (it would fail with error
    # 1449 once imported): refused before production is touched.
    source_sql(source, "CREATE DEFINER='reporting'@'%' VIEW cheap AS SELECT id FROM items WHERE price_cents < 100")
    definer = import_production(source)
    source_sql(source, "DROP VIEW cheap")
    assert definer.returncode != 0 and "does not have (`reporting@%`)" in definer.stdout + definer.stderr
    assert [i["name"] for i in stack.call(base, "/api/items")[1]["items"]][0] == "written before the import"

    # Killed while it dumps (SIGKILL of the command and all it started): production untouched,
    # and the dumper, the source's login in its memory, is gone after the next run.
    start = len(stack.log_lines())
    killed = subprocess.Popen([str(stack.BIN / "greenlight"), "--inventories", str(INVENTORIES), "import", "production",
                               "--from", url, "--yes"], cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "GREENLIGHT_STATE_DIR": str(stack.STATE),
                                   "GREENLIGHT_SOURCE_PASSWORD": source["password"]})
    stack.wait_for_log(r"task: Read the source's version and tables", start, process=killed)
    stack.kill_tree(killed)
    killed.wait()
    assert stack.call(base, "/api/items")[1]["items"][0]["name"] == "written before the import"

    # The source quiet, production under reads.
    load = Load(base, rate=stack.LOAD_RATE, workers=16, write_every=0, read_path="/api/items",
                max_seconds=stack.LOAD_MAX_SECONDS)
    load.start()
    try:
        done = import_production(source)
    finally:
        load.stop()
    summary = load.report.summary()
    print(f"\n{APP} import of {source['rows']} rows under load: {json.dumps(summary)}\n{done.stdout}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "each table's rows and checksums equal to the source's (mariadb" in done.stdout
    # Users got the maintenance page while the copy loaded and was checked, and nothing else;
    # the time the command says they had it is the time the load saw it.
    assert {o.detail for o in load.report.failed} <= {"HTTP 503"}, summary["failures"]
    assert summary["rate_met"], summary
    said = float(re.search(r"; (\d+) s behind the maintenance page", done.stdout)[1])
    assert abs(said - summary["longest_gap_s"]) <= 1.5, (said, summary)
    assert production_sql("SELECT COUNT(*), SUM(price_cents) FROM items") == source_sql(
        source, "SELECT COUNT(*), SUM(price_cents) FROM items")
    assert production_sql(f"SELECT COUNT(*) FROM {ODD_TABLE_SQL}") == [["3"]]
    names = [i["name"] for i in stack.call(base, "/api/items")[1]["items"]]
    assert "written before the import" not in names and "kept through every release" in names
    # The safety backup holds what production had; the import is a backup of production now.
    backups = ROOT / f"{APP}-production" / "backups"
    safety = next(backups.glob("shop-*-before-restore.sql.gz"))
    assert b"written before the import" in gzip.decompress(safety.read_bytes())
    imported = json.loads(next(backups.glob("shop-*-imported.json")).read_text())
    assert imported["verified"]["ok"] is True and imported["env"] == "production"
    # The password: nowhere greenlight writes (state, history, logs, backups' metadata) nor in
    # what docker holds.
    for path in (ROOT / f"{APP}-production").rglob("*"):
        if path.is_file() and path.suffix != ".gz":
            assert source["password"].encode() not in path.read_bytes(), path
    for path in (stack.STATE).rglob("*"):
        if path.is_file():
            assert source["password"].encode() not in path.read_bytes(), path
    assert source["password"] not in stack.docker("inspect", *stack.docker("ps", "-aq").split())
    assert f"{APP}-production-import" not in stack.docker("ps", "-a", "--format", "{{.Names}}").split()

    # Rerunnable: the source moved on (the team's app wrote), the next import brings it.
    source_sql(source, "INSERT INTO items (name, price_cents) VALUES ('written after the first import', 7)")
    again = import_production(source)
    assert again.returncode == 0, again.stdout + again.stderr
    assert stack.call(base, "/api/items")[1]["items"][0]["name"] == "written after the first import"

    # A dump file (mariadb-dump of the source, without --databases) into staging, kept.
    dump = ROOT / "shop-source.sql.gz"
    dump.write_bytes(gzip.compress(subprocess.run(["docker", "exec", SOURCE, "mariadb-dump", "--single-transaction", "shop"],
                                                  capture_output=True, check=True).stdout))
    filed = greenlight("import", "staging", "--from", str(dump), "--yes")
    assert filed.returncode == 0, filed.stdout + filed.stderr
    assert "its rows counted against the dump" in filed.stdout and dump.exists()
    staging = f"http://127.0.0.1:{shop['ports']['STAGING_HTTP_PORT']}"
    assert stack.call(staging, "/api/items")[1]["items"][0]["name"] == "written after the first import"


def set_in_vault(env: str, values: dict[str, str], inventories: Path = INVENTORIES) -> None:
    """Secrets set in an environment's vault, as `ansible-vault edit` would: one that Jinja
    would read as a template tagged !unsafe, as the docs tell users (and init does)."""
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH,
                       VaultSecret((inventories / ".vault-password").read_text().strip().encode()))])
    path = inventories / env / "group_vars/all/vault.yml"
    kept = [line for line in vault.decrypt(path.read_bytes()).decode().splitlines(keepends=True)
            if line.split(":", 1)[0] not in values]
    path.write_bytes(vault.encrypt("".join(kept) + "".join(f"{name}: {dump(value)}\n" for name, value in values.items())))


def test_staging_runs_on_the_teams_database_server_where_it_is(shop: dict, source: dict) -> None:
    # The team's MySQL stays where it is: staging's app, its migrations, its backups, their
    # verification and a restore go to that server through greenlight's
    # client container, the server's container joined to staging's network. Its administrator
    # has a password that is hard to quote, kept in the vault.
    admin = "gl'admin\\\"#{{ x }}" + secrets.token_urlsafe(12)
    source_sql(source, f"CREATE USER 'gladmin'@'%' IDENTIFIED BY {sql_string(admin)};\n"
                       "GRANT ALL PRIVILEGES ON *.* TO 'gladmin'@'%' WITH GRANT OPTION;\n"
                       # Where \' does not escape a quote: a password must stay one string literal.
                       "SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES');\n", database="")
    # The app's password tries to end its string and make an account of its own; the app logs
    # in with it all the same.
    app_password = "x\\'; CREATE USER pwned; GRANT ALL ON *.* TO pwned; #'\"{{ y }}" + secrets.token_urlsafe(12)
    set_in_vault("staging", {"vault_mysql_external_admin_password": admin, "vault_mysql_app_password": app_password})
    user = INVENTORIES / "staging/group_vars/all/zz-user.yml"
    user.write_text(user.read_text() + yaml.safe_dump({
        "mysql_external_container": SOURCE, "mysql_external_admin_user": "gladmin", "mysql_database": "shop",
        "mysql_external_admin_password": "{{ vault_mysql_external_admin_password }}"}))
    staging = f"http://127.0.0.1:{shop['ports']['STAGING_HTTP_PORT']}"
    # The release already live, with other settings: it goes out on the idle color like a new
    # release, under reads with no failed request (in place, its containers refused requests
    # until they were up again).
    load = Load(staging, rate=stack.LOAD_RATE, workers=16, write_every=0, read_path="/api/version",
                max_seconds=stack.LOAD_MAX_SECONDS)
    load.start()
    try:
        done = greenlight("deploy", "staging", "v1")
    finally:
        load.stop()
    summary = load.report.summary()
    print(f"\n{APP} staging onto the team's server under load: {json.dumps(summary)}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already live" not in done.stdout and summary["failed"] == 0 and summary["rate_met"], summary
    # greenlight's own server stays for the color left behind (a rollback's), until the next
    # release replaces that color (test_the_next_release_...).
    assert stack.docker("inspect", "--format", "{{.State.Running}}", f"{APP}-staging-mysql").strip() == "true"
    # The app reads and writes the team's server: its rows, and a row written through staging.
    status, listed = stack.call(staging, "/api/items")
    assert status == 200 and listed["items"][0]["name"] == "written after the first import"
    status, item = stack.call(staging, "/api/items", "POST", {"name": "written through staging", "price_cents": 3})
    assert status == 201
    assert source_sql(source, "SELECT COUNT(*) FROM items WHERE name = 'written through staging'") == [["1"]]
    live = (ROOT / f"{APP}-staging" / "proxy" / "live-color").read_text().split()[0]
    backend = json.loads(stack.docker("inspect", f"{APP}-staging-backend-{live}"))[0]
    assert f"APP_DB_HOST={SOURCE}" in backend["Config"]["Env"] and "APP_DB_PORT=3306" in backend["Config"]["Env"]
    # Its accounts (the compose file's user for the app's), from staging's network only, and
    # none the hostile password tried to make.
    accounts = source_sql(source, "SELECT user, host FROM mysql.user WHERE user IN ('shop', 'shop-e2e_migrator')")
    subnet = json.loads(stack.docker("network", "inspect", f"{APP}-staging-net"))[0]["IPAM"]["Config"][0]["Subnet"]
    network = str(ipaddress.ip_network(subnet).network_address) + "/" + str(ipaddress.ip_network(subnet).netmask)
    assert sorted(accounts) == [["shop", network], ["shop-e2e_migrator", network]], accounts
    assert source_sql(source, "SELECT COUNT(*) FROM mysql.user WHERE user = 'pwned'") == [["0"]]
    # Its backup is a dump of that server, verified in a throwaway database; a restore loads it
    # back there behind the maintenance page (the row written after the backup goes).
    backup = greenlight("backup", "staging", "--label", "external")
    assert backup.returncode == 0, backup.stdout + backup.stderr
    rows = int(source_sql(source, "SELECT COUNT(*) FROM items")[0][0])
    name = json.loads(greenlight("--json", "backups", "staging").stdout)["backups"][0]
    assert name["label"] == "external" and name["tables"]["shop.items"] == rows > source["rows"], name
    verified = greenlight("backup", "verify", "staging", name["file"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    source_sql(source, "INSERT INTO items (name, price_cents) VALUES ('written after the backup', 9)")
    restored = greenlight("restore", "staging", name["file"], "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert source_sql(source, "SELECT COUNT(*) FROM items WHERE name LIKE 'written after the %'") == [["1"]]
    assert stack.call(staging, "/api/items")[0] == 200
    # The administrator's password: in no container's settings, no log of greenlight's, only in
    # the 0600 login file the client container mounts.
    for password in (admin, app_password):
        assert password not in stack.docker("inspect", *stack.docker("ps", "-aq").split())
    login = ROOT / f"{APP}-staging" / "secrets" / "mysql-client" / ".my.cnf"
    assert stat.S_IMODE(login.stat().st_mode) == 0o600
    for path in [*(ROOT / "logs").rglob("*"), *stack.STATE.rglob("*"), *(ROOT / f"{APP}-staging").rglob("*")]:
        if path.is_file() and path != login and path.suffix != ".gz":
            assert admin.encode() not in path.read_bytes(), path


def test_the_next_release_migrates_the_imported_data_under_load(shop: dict) -> None:
    base = f"http://127.0.0.1:{shop['ports']['HTTP_PORT']}"
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
    # Staging on the team's server since the test before: v2 replaced the color that read
    # greenlight's own server, which is gone now; its data volume stays.
    assert subprocess.run(["docker", "inspect", f"{APP}-staging-mysql"], capture_output=True).returncode != 0
    stack.docker("volume", "inspect", f"{APP}-staging-mysql-data")
