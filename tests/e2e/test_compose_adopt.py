"""A compose app taken onto greenlight while it serves, with no request refused
(docs/your-app.md#adopt-without-downtime, issue 26).

examples/shop runs as its team runs it: `docker-compose up` of its compose file (Debian's
docker-compose), its database service on greenlight's MariaDB image (no MySQL image on this
machine), its schema made by its own migrations, its data written by its own backend. Under
reads and writes on its public ports, from this machine (the output hook) and from a network
namespace behind a veth pair (the prerouting hook, as users' requests arrive):

1. `greenlight adopt production --project P`: greenlight's proxy serves the compose containers
   as the live color; the public ports reach it through an nftables table; nothing of the compose
   app restarts;
2. `greenlight promote v2`: staging (greenlight's own database) then production, where the next
   release goes out on the other color through the canary, judged against the compose
   containers, on the compose app's database;
3. `greenlight adopt production --finish`, killed once the standby proxy holds the ports, then
   run again: the compose web containers stop, greenlight's proxy holds the public ports.

No failed request, every acknowledged write in the database, and no line of the app changed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from greenlight.load import Load

from . import stack
from .stack import BIN, REPO, ROOT
from .test_compose_app import USER_SETTINGS, set_in_vault, shop_checkout, sql_string

APP = "shop-adopt"
PROJECT = "shopadopt"
INVENTORIES = ROOT / "shop-adopt-inventories"
CHECKOUT = ROOT / "shop-adopt-checkout"
DB = f"{PROJECT}_db_1"
NAMESPACE = "gl-e2e-adopt"
HOST_SIDE, CLIENT_SIDE = "gl-e2e-ah", "gl-e2e-ac"
HOST_ADDRESS, CLIENT_ADDRESS = "10.250.9.1", "10.250.9.2"
# Requests a second: reads of the page on the public HTTP port from this machine and from the
# namespace, reads and writes (one in four) on the API port: 100 in all.
PAGE_RATE, OUTSIDE_RATE, API_RATE = 30, 30, 40
# Each client connection carries 100 requests (about 25 s here), then the client opens another,
# as browsers' connections end once idle: the connections opened before the ports moved end
# before --finish stops the compose containers, which would cut them (one failed request each:
# 7 of 30 a second measured with connections held through the whole move; --finish waits
# adopt_drain_seconds for them and says how many it cut).
CONNECTION_REQUESTS = 100


def greenlight(*args: str) -> subprocess.CompletedProcess:
    return stack.app_greenlight(APP, INVENTORIES, *args)


def compose(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker-compose", "-p", PROJECT, "-f", "docker-compose.yml", "-f", str(ROOT / "shop-adopt-override.yml"),
                           *args], cwd=CHECKOUT, capture_output=True, text=True, timeout=900)


def db(query: str) -> list[list[str]]:
    """Rows of a query on the compose app's database, as its root (the socket)."""
    done = subprocess.run(["docker", "exec", "-i", DB, "mariadb", "--batch", "--skip-column-names"], input=query,
                          capture_output=True, text=True, check=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


def remove() -> None:
    if CHECKOUT.exists():
        compose("down", "--volumes", "--remove-orphans")
    stack.remove_app(APP)
    subprocess.run(["rm", "-rf", "--", *(str(ROOT / where / f"{APP}-{env}") for env in ("staging", "production")
                                        for where in ("", "restic"))], check=True)


@pytest.fixture(scope="module")
def shop() -> Iterator[dict]:
    """The shop running on docker-compose with its data, and greenlight's inventories for it
    from its compose file (init), on the compose app's database where it is."""
    remove()
    ports, password = shop_checkout("shop-adopt", CHECKOUT, INVENTORIES, 19080)
    subprocess.run(["git", "checkout", "-q", "v1"], cwd=CHECKOUT, check=True)
    # This machine's stand-ins, outside the app's files: the base image its Dockerfiles build
    # on (no registry here), and greenlight's MariaDB image for the compose file's mysql:8.0.
    base = (REPO / ".greenlight" / "base-image").read_text().strip()
    (ROOT / "shop-adopt-override.yml").write_text(yaml.safe_dump({"services": {
        "frontend": {"build": {"context": "./frontend", "args": {"BASE_IMAGE": base}}},
        "backend": {"build": {"context": "./backend", "args": {"BASE_IMAGE": base}}},
        "db": {"image": f"{APP}-compose-mariadb", "build": {"context": str(REPO / "roles/mysql/files"),
                                                            "args": {"BASE_IMAGE": base}}}}}))
    up = compose("up", "-d", "--build", "frontend", "backend", "db")
    assert up.returncode == 0, up.stdout + up.stderr
    for _ in range(120):
        if subprocess.run(["docker", "exec", DB, "mariadb-admin", "ping", "--silent"], capture_output=True).returncode == 0:
            break
        time.sleep(0.5)
    # What MYSQL_DATABASE, MYSQL_USER and MYSQL_PASSWORD make in the mysql image, then the
    # app's own migrations and an administrator for greenlight.
    admin = "adm'\\\"#{{ x }}" + secrets.token_urlsafe(12)
    db(f"CREATE DATABASE shop; CREATE USER 'shop'@'%' IDENTIFIED BY {sql_string(password)};\n"
       "GRANT ALL PRIVILEGES ON shop.* TO 'shop'@'%';\n"
       f"CREATE USER 'gladmin'@'%' IDENTIFIED BY {sql_string(admin)};\n"
       "GRANT ALL PRIVILEGES ON *.* TO 'gladmin'@'%' WITH GRANT OPTION;\n")
    migrated = compose("exec", "-T", "backend", "python3", "-m", "shop.migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    base_url = f"http://127.0.0.1:{ports['API_PORT']}"
    for _ in range(60):
        try:
            if stack.call(base_url, "/api/version")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(1)
    assert stack.call(base_url, "/api/items", "POST", {"name": "written under compose", "price_cents": 5})[0] == 201

    # init's check finds production's ports held by the compose app, and says what takes them.
    done = greenlight("init", str(INVENTORIES), "--from-compose", str(CHECKOUT / "docker-compose.yml"), "--app", APP)
    assert done.returncode == 2 and "production  4 problems" in done.stdout, done.stdout + done.stderr
    for port in ("HTTP_PORT", "HTTPS_PORT", "API_PORT"):
        assert (f"port {ports[port]} (proxy_{port.split('_')[0].lower()}_port) is published by {PROJECT}_"
                f"{'backend' if port == 'API_PORT' else 'frontend'}_1 of compose project {PROJECT}: greenlight adopt "
                f"ENV --project {PROJECT} takes it over") in done.stdout, done.stdout
    assert f"set mysql_external_container: {DB} " in done.stdout, done.stdout
    set_in_vault("production", {"vault_mysql_external_admin_password": admin}, INVENTORIES)
    (INVENTORIES / "staging/group_vars/all/zz-user.yml").write_text(yaml.safe_dump({
        **USER_SETTINGS, **stack.suite_settings("staging")}))
    (INVENTORIES / "production/group_vars/all/zz-user.yml").write_text(yaml.safe_dump({
        **USER_SETTINGS, **stack.suite_settings("production"),
        "mysql_external_container": DB, "mysql_external_admin_user": "gladmin", "mysql_database": "shop",
        "mysql_external_admin_password": "{{ vault_mysql_external_admin_password }}"}))
    yield {"ports": ports}
    remove()


@pytest.fixture(scope="module")
def outside() -> Iterator[str]:
    with stack.veth_namespace(NAMESPACE, HOST_SIDE, CLIENT_SIDE, HOST_ADDRESS, CLIENT_ADDRESS):
        yield NAMESPACE


def page_version(port: int) -> str:
    """The release the page on the public HTTP port says it is."""
    status, page = stack.call(f"http://127.0.0.1:{port}", "/")
    assert status == 200
    return page.split('name="app-version" content="', 1)[1].split('"', 1)[0]


def proxied(env_prefix: str, client: str) -> int:
    """Requests from `client` that greenlight's proxy logged on its public frontend."""
    return sum(line.startswith(f"{client}:") and " fe_public " in line
               for line in stack.docker_logs(f"{env_prefix}-proxy").splitlines())


def start_of(ident: str) -> str:
    return stack.docker("inspect", "--format", "{{.State.StartedAt}} {{.RestartCount}}", ident).strip()


def test_a_running_compose_app_moves_onto_greenlight_with_no_request_refused(shop: dict, outside: str) -> None:
    ports = shop["ports"]
    http, api = f"http://127.0.0.1:{ports['HTTP_PORT']}", f"http://127.0.0.1:{ports['API_PORT']}"
    compose_ids = {service: compose("ps", "-q", service).stdout.strip() for service in ("frontend", "backend", "db")}
    compose_started = {service: start_of(ident) for service, ident in compose_ids.items()}
    page = Load(http, rate=PAGE_RATE, workers=8, write_every=0, read_path="/", max_seconds=stack.LOAD_MAX_SECONDS,
                connection_requests=CONNECTION_REQUESTS)
    writes = Load(api, rate=API_RATE, workers=8, write_every=4, read_path="/api/version", max_seconds=stack.LOAD_MAX_SECONDS,
                  connection_requests=CONNECTION_REQUESTS)
    report = ROOT / "shop-adopt-outside.json"
    received = Path(f"/sys/class/net/{HOST_SIDE}/statistics/rx_packets")
    packets_before = int(received.read_text())
    from_outside = subprocess.Popen(
        ["ip", "netns", "exec", outside, str(BIN / "python"), "-m", "greenlight.load",
         f"http://{HOST_ADDRESS}:{ports['HTTP_PORT']}", "--allow", HOST_ADDRESS, "--rate", str(OUTSIDE_RATE),
         "--read-path", "/", "--write-every", "0", "--connection-requests", str(CONNECTION_REQUESTS),
         "--report", str(report), "--", "sh", "-c", "read line"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    page.start()
    writes.start()
    steps: dict[str, float] = {}
    try:
        time.sleep(3)
        started = time.monotonic()
        adopted = greenlight("adopt", "production", "--project", PROJECT)
        steps["adopt"] = time.monotonic() - started
        print(adopted.stdout)
        assert adopted.returncode == 0, adopted.stdout + adopted.stderr
        # greenlight's proxy answers the public ports now, in front of the compose containers.
        assert "serves shopadopt's containers" in adopted.stdout
        # The requests of this machine and of the namespace (through the prerouting hook, the
        # client's own address kept) reach greenlight's proxy, once their clients open new
        # connections (every 100 requests: within 30 s); nothing of the compose app restarted.
        # (This machine's come from the environment's network's gateway, where Docker's NAT puts them.)
        assert page_version(ports["HTTP_PORT"]) == "v1"
        gateway = json.loads(stack.docker("network", "inspect", f"{APP}-production-net"))[0]["IPAM"]["Config"][0]["Gateway"]
        deadline = time.monotonic() + 60
        while not (proxied(f"{APP}-production", CLIENT_ADDRESS) and proxied(f"{APP}-production", gateway)):
            assert time.monotonic() < deadline, "no request of the namespace's or this machine's reached the proxy"
            time.sleep(1)
        assert {service: start_of(ident) for service, ident in compose_ids.items()} == compose_started
        assert f"{APP}-production-frontend-blue" not in stack.docker("ps", "-a", "--format", "{{.Names}}").split()
        table = subprocess.run(["nft", "list", "table", "ip", "greenlight_adopt_shop_adopt_production"],
                               capture_output=True, text=True)
        assert table.returncode == 0 and f"dport {ports['HTTP_PORT']} dnat" in table.stdout, table.stdout + table.stderr

        started = time.monotonic()
        promoted = greenlight("promote", "v2")
        steps["promote v2"] = time.monotonic() - started
        print(promoted.stdout)
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        # Judged against the compose containers: the canary's verdicts name the old release's requests.
        assert re.search(r"25%: PASS - new release .* against the old release's 0\.0% 5xx \([0-9]+/[1-9][0-9]*\)",
                         promoted.stdout), "no canary step judged against the compose containers"
        assert stack.call(api, "/api/version") == (200, {"version": "v2"})
        assert page_version(ports["HTTP_PORT"]) == "v2"

        # Killed while it makes the proxy again (the standby holds the ports, the compose
        # containers are stopped), then run again.
        start = len(stack.log_lines())
        killed = subprocess.Popen([str(BIN / "greenlight"), "--inventories", str(INVENTORIES), "adopt", "production",
                                   "--finish"], cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "GREENLIGHT_STATE_DIR": str(stack.STATE)})
        stack.wait_for_log(rf"task: Start the container {APP}-production-proxy$", start, process=killed)
        stack.kill_tree(killed)
        killed.wait()
        started = time.monotonic()
        finished = greenlight("adopt", "production", "--finish")
        steps["finish"] = time.monotonic() - started
        print(finished.stdout)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert "are stopped" in finished.stdout and "were cut" not in finished.stdout
        time.sleep(3)
    finally:
        page.stop()
        writes.stop()
        out, err = from_outside.communicate("\n", timeout=120)
    summaries = {"page": page.report.summary(), "api": writes.report.summary(), "outside": json.loads(report.read_text())}
    print(f"\n{APP} adopt, promote v2, finish (killed once) under load ({json.dumps(steps)}): {json.dumps(summaries)}; "
          f"{len(writes.report.created_skus)} writes acknowledged")
    for name, summary in summaries.items():
        assert summary["failed"] == 0, (name, summary)
        assert summary["rate_met"], (name, summary)
    # The namespace's requests came through the veth pair (the prerouting hook).
    assert int(received.read_text()) - packets_before >= summaries["outside"]["requests"]
    # Every write the app acknowledged is in its database.
    created = writes.report.created_skus
    assert len(created) >= API_RATE / 4 * 10
    found = {row[0] for row in db("SELECT name FROM shop.items WHERE name LIKE 'LOAD-%'")}
    assert set(created) <= found, sorted(set(created) - found)[:5]

    # Afterwards: the compose web containers stopped, its database runs on (it is the
    # environment's), the table is gone, greenlight's proxy publishes the public ports.
    state = {service: stack.docker("inspect", "--format", "{{.State.Running}}", ident).strip()
             for service, ident in compose_ids.items()}
    assert state == {"frontend": "false", "backend": "false", "db": "true"}, state
    assert subprocess.run(["nft", "list", "table", "ip", "greenlight_adopt_shop_adopt_production"],
                          capture_output=True).returncode != 0
    published = stack.docker("port", f"{APP}-production-proxy")
    assert f":{ports['HTTP_PORT']}" in published and f":{ports['API_PORT']}" in published, published
    assert f"{APP}-production-proxy-standby" not in stack.docker("ps", "-a", "--format", "{{.Names}}").split()
    assert not (ROOT / f"{APP}-production" / "adopt.json").exists()
    assert stack.call(http, "/api/items")[1]["items"][0]["name"].startswith(("LOAD-", "written"))
    # No line of the app changed: the checkout is as cloned.
    assert subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=CHECKOUT,
                          capture_output=True, text=True, check=True).stdout == ""
