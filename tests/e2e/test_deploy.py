"""End to end on the real stack: both environments on one host, deployed by the playbooks.

The tests run in file order and build on each other, as a user's day would: v1 everywhere,
v2 to staging, v2 to production under load, then the faulty releases, then a restore.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pymysql
import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import read_servers
from ansible_collections.greenlight.deploy.plugins.module_utils.synthetic import Probe

from . import stack

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")


def test_both_environments_serve_v1_on_their_own_ports() -> None:
    for env in ("staging", "production"):
        assert stack.live_version(env) == "v1"
        status, page = stack.get(env, "/")
        assert status == 200 and 'name="frontend-version" content="v1"' in page
        assert stack.get(env, "/health")[0] == 200
        assert json.loads(stack.get(env, "/api/version", "proxy_api_port")[1])["version"] == "v1"


def test_staging_has_test_data_and_production_does_not() -> None:
    staging_items = stack.items("staging")
    production_items = stack.items("production")
    assert len(staging_items) > 0
    assert production_items == []


def test_staging_credentials_are_refused_by_production_database() -> None:
    user, password = f"{stack.APP}_app", stack.vault_value("staging", "vault_mysql_app_password")
    with pymysql.connect(host="127.0.0.1", port=stack.PORTS["staging"]["mysql_port"], user=user,
                         password=password, database="warehouse_wms_staging") as conn:
        assert conn.open
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        pymysql.connect(host="127.0.0.1", port=stack.PORTS["production"]["mysql_port"], user=user,
                        password=password, database="warehouse_wms")


def test_production_database_refuses_stagings_network_even_with_productions_own_password() -> None:
    """Staging cannot reach production: not by its database's name, not by its address, not by
    the host's published port, though it knows production's right password."""
    backend = json.loads(stack.docker("inspect", "e2e-production-backend-" + stack.live_color("production")))[0]
    address = next(iter(json.loads(stack.docker("inspect", "e2e-production-mysql"))[0]["NetworkSettings"]["Networks"]
                        .values()))["IPAddress"]
    gateway = json.loads(stack.docker("network", "inspect", "e2e-staging-net"))[0]["IPAM"]["Config"][0]["Gateway"]
    probe = ("import os, sys, pymysql\n"
             "try:\n"
             "    pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user='e2e_app', password=os.environ['PW'],"
             " database='warehouse_wms', connect_timeout=3).close()\n"
             "except pymysql.err.OperationalError as exc:\n"
             "    sys.exit(f'refused: {exc}')\n")

    def connect(network: str, host: str, port: int) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "run", "--rm", "--network", network, "-e", "PW", "--entrypoint", "python3",
                               backend["Image"], "-c", probe, host, str(port)], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PW": stack.vault_value("production", "vault_mysql_app_password")})

    assert connect("e2e-production-net", "e2e-production-mysql", 3306).returncode == 0  # the password is right
    for host, port in (("e2e-production-mysql", 3306), (address, 3306),
                       (gateway, stack.PORTS["production"]["mysql_port"])):
        refused = connect("e2e-staging-net", host, port)
        assert refused.returncode != 0 and "refused:" in refused.stderr, (host, port, refused.stdout + refused.stderr)


def test_database_port_is_bound_to_loopback_only() -> None:
    bindings = json.loads(stack.docker("inspect", "--format", "{{json .HostConfig.PortBindings}}",
                                       "e2e-production-mysql"))
    assert [b["HostIp"] for b in bindings["3306/tcp"]] == ["127.0.0.1"]


def test_staging_to_v2_leaves_production_on_v1() -> None:
    run = stack.deploy("staging", "v2")
    assert run.rc == 0, run.output[-3000:]
    assert stack.live_version("staging") == "v2"
    assert stack.live_version("production") == "v1"
    # v2's expand migration ran on staging's database only.
    items = stack.items("staging")
    assert "supplier" in items[0]


def test_production_switch_under_load_drops_no_request() -> None:
    with stack.load("production") as load:
        run = stack.deploy("production", "v2")
    report = load.report
    summary = report.summary()
    print(f"\nproduction v1 -> v2 under load: {json.dumps(summary)}")
    assert run.rc == 0, run.output[-3000:]
    stack.assert_smooth(summary)
    assert stack.live_version("production") == "v2"
    assert summary["seconds"] > 10, summary  # the load ran through the whole deploy, not a moment of it
    stack.assert_no_failed(summary)
    # Every write acknowledged during the switch is in the database afterwards.
    stored = {item["sku"] for item in stack.items("production")}
    assert set(report.created_skus) <= stored
    last = stack.history("production")[-1]
    assert (last["version"], last["outcome"]) == ("v2", "success")
    assert last["digests"]["backend"].startswith("sha256:")


def test_rerun_of_the_live_release_changes_nothing() -> None:
    worker = stack.proxy_worker("production")
    run = stack.deploy("production", "v2")
    assert run.rc == 0, run.output[-3000:]
    assert run.changed == 0, run.output[-3000:]
    assert stack.proxy_worker("production") == worker, "a deploy that changed no setting reloaded the proxy"


def test_a_rerun_skips_the_live_parts_only_while_they_run_as_it_would_leave_them() -> None:
    # The deploy that started the live color's parts wrote their stamp
    # (roles/deploy/tasks/run-parts.yml); a rerun finds them as it would leave them.
    skipped = stack.deploy("production", "v2")
    assert skipped.rc == 0, skipped.output[-3000:]
    assert "Start the part" not in skipped.output, skipped.output[-3000:]
    # A part stopped by hand is no longer as the stamp says: the next rerun starts it again.
    frontend = f"{stack.APP}-production-frontend-{stack.live_color('production')}"
    stack.docker("stop", frontend)
    mended = stack.deploy("production", "v2")
    assert mended.rc == 0, mended.output[-3000:]
    assert "Start the part frontend" in mended.output, mended.output[-3000:]
    assert stack.docker("inspect", "--format", "{{.State.Running}}", frontend).strip() == "true"


def test_live_color_survives_a_proxy_restart() -> None:
    stack.docker("restart", "e2e-production-proxy")
    status, body = 0, ""
    for _ in range(50):
        try:
            status, body = stack.get("production", "/api/version")
        except OSError:
            status = 0
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, body
    assert json.loads(body)["version"] == "v2"


def test_the_preview_sends_a_request_naming_a_color_to_it_whatever_the_weights() -> None:
    # How the judge's control GETs reach the old color (plugins/module_utils/synthetic.py): the live
    # color has weight 0 in the preview, which sends other requests to the idle color.
    before = read_servers(stack.admin_socket("production"))
    live = next(color for color, info in before["api"].items() if info["weight"] > 0)
    assert before["preview_api"][live]["weight"] == 0
    probe = Probe(f"http://127.0.0.1:{stack.PORTS['production']['proxy_preview_port']}", color=live)
    for _ in range(20):
        probe.get("/api/version")
    probe.close()
    after = read_servers(stack.admin_socket("production"))
    # HAProxy's own counters: all 20 went to the named color of the preview.
    assert {color: after["preview_api"][color]["stot"] - info["stot"] for color, info in before["preview_api"].items()} \
        == {color: 20 if color == live else 0 for color in before["preview_api"]}


def test_unhealthy_release_never_takes_traffic() -> None:
    before = stack.containers()
    live = stack.live_color("production")
    servers = read_servers(stack.admin_socket("production"))
    idle = next(color for color, info in servers["api"].items() if info["weight"] == 0)
    with stack.load("production") as load:
        run = stack.deploy("production", "unhealthy")
    # HAProxy's own request counters: the unhealthy color's servers answered no user request.
    after = read_servers(stack.admin_socket("production"))
    assert [after[pool][idle]["stot"] - servers[pool][idle]["stot"] for pool in ("api", "web")] == [0, 0]
    assert run.rc != 0
    assert "failed its health check" in run.output
    assert stack.live_version("production") == "v2"
    stack.assert_no_failed(load.report.summary())
    # No container of the failed release is left, by its label; the live ones were not touched.
    assert stack.docker("ps", "-aq", "--filter", f"label=greenlight.app={stack.APP}",
                        "--filter", "label=greenlight.version=unhealthy") == ""
    # The live color's containers, the proxy's and the database's are the same ones (the idle
    # color held the warm old release, which the new one replaced before it failed).
    kept = [f"e2e-production-{part}" for part in ("proxy", "mysql", f"backend-{live}", f"frontend-{live}")]
    after = stack.containers()
    assert [after.get(name) for name in kept] == [before[name] for name in kept]
    assert stack.history("production")[-1]["outcome"] == "failed"


def test_failed_migration_leaves_the_old_release_serving() -> None:
    run = stack.deploy("staging", "bad-migration")
    assert run.rc != 0
    assert "0002_broken.sql failed" in run.output
    assert "traffic stays on v2" in run.output
    assert stack.live_version("staging") == "v2"
    assert stack.get("staging", "/health")[0] == 200


def test_images_whose_digests_are_not_the_ones_staging_ran_are_refused_and_nothing_changes() -> None:
    before = stack.containers()
    live = stack.history("production")[-1]
    version = "v1" if stack.live_version("production") == "v2" else "v2"
    commit = stack.git_commit(version)
    wrong = {"backend": "sha256:" + "0" * 64, "frontend": "sha256:" + "0" * 64}
    run = stack.deploy("production", version, "-e", json.dumps({"release_expected_commit": commit,
                                                                 "release_expected_digests": wrong}))
    assert run.rc != 0
    assert "refusing to deploy images other than those the earlier stage ran" in run.output, run.output[-2000:]
    assert stack.containers() == before
    assert stack.history("production")[-1] == live


def test_a_migration_that_hangs_is_killed_at_its_timeout_and_the_old_release_serves() -> None:
    command, environment = stack.playbook_command("deploy.yml", "staging", "-e", "app_version=bad-migration", "-e",
                                                  '{"backend_migrate_command": ["sleep", "120"]}',
                                                  "-e", "backend_one_off_timeout=5")
    process = subprocess.Popen(command, cwd=stack.REPO, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    # A one-off container is hardened like every other (docs/security.md).
    migrate = stack.caught("e2e-staging-migrate", process, seconds=300)
    output = process.communicate(timeout=300)[0]
    assert stack.hardening_problems(migrate) == []
    assert process.returncode != 0
    assert "e2e-staging-migrate ran longer than 5 s and was killed" in output, output[-3000:]
    assert stack.live_version("staging") == "v2"
    assert "e2e-staging-migrate" not in stack.containers()


BACKUPS = stack.ROOT / "e2e-production" / "backups"
PENDING = stack.ROOT / "e2e-production" / "restore-pending.json"


def skus_in(path) -> set[str]:
    dump = gzip.decompress(path.read_bytes()).decode()
    assert "CREATE TABLE `items`" in dump
    inserts = "".join(re.findall(r"INSERT INTO `items` VALUES(.*?);\n", dump, re.DOTALL))
    return set(re.findall(r"\(\d+,'([^']+)'", inserts))


def public_get(path: str) -> tuple[int, dict, str]:
    """Status, headers (names lower-cased: HAProxy sends them so) and body."""
    url = f"http://127.0.0.1:{stack.PORTS['production']['proxy_http_port']}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()


def test_restore_replaces_the_database_and_keeps_the_one_it_replaced() -> None:
    backup = stack.history("production")[-1]["backup"]  # made before the unhealthy deploy, v2 schema
    path = BACKUPS / backup.rsplit("/", 1)[-1]
    recorded = (path.parent / (path.name + ".sha256")).read_text().split()
    assert recorded == [hashlib.sha256(path.read_bytes()).hexdigest(), path.name]
    skus_in_backup = skus_in(path)
    assert skus_in_backup
    status, _ = stack.post("production", "/api/items",
                           {"sku": "AFTER-BACKUP", "name": "written after the backup", "quantity": 1, "location": "Z"})
    assert status == 201

    # Users keep writing while it runs: each write acknowledged before the maintenance page went
    # on is in the safety backup taken behind it; those after the page went off are in the
    # restored database. None may be in neither.
    with stack.load("production") as load:
        done = stack.run_greenlight("restore", "production", path.name, "--yes")
        time.sleep(1)
    assert done.returncode == 0, done.stdout + done.stderr
    # The database it replaced is a backup too, with the write made after the backup.
    safety = BACKUPS / re.search(r"the database as it was is in (\S+\.sql\.gz)", done.stdout)[1]
    assert "AFTER-BACKUP" in skus_in(safety)
    restored = {item["sku"] for item in stack.items("production")}
    written = set(load.report.created_skus)
    assert written and not written - skus_in(safety) - restored, f"acknowledged writes lost: {written - skus_in(safety) - restored}"
    assert restored - written == skus_in_backup and "AFTER-BACKUP" not in restored
    metadata = json.loads((BACKUPS / path.name.replace(".sql.gz", ".json")).read_text())
    assert metadata["verified"]["ok"] is True  # its rows were counted after the load
    last = stack.history("production")[-1]
    assert (last["kind"], last["version"], last["outcome"]) == ("restore", path.name, "success")
    assert last["backup"].endswith(safety.name)
    assert public_get("/api/items")[0] == 200 and not PENDING.exists()


def test_a_restore_killed_while_loading_keeps_users_out_until_the_next_run_finishes_it() -> None:
    name = stack.history("production")[-1]["version"]  # the backup the test above restored
    expected = skus_in(BACKUPS / name)
    stack.post("production", "/api/items", {"sku": "BEFORE-KILL", "name": "x", "quantity": 1, "location": "Z"})
    start = len(stack.log_lines())
    run = stack.greenlight("restore", "production", name, "--yes")
    stack.wait_for_log(r"task: Replace the database with the backup", start, process=run)
    stack.kill_tree(run)

    status, headers, body = public_get("/api/items")
    assert status == 503 and headers.get("retry-after") == "60" and "Back in a moment" in body
    assert json.loads(PENDING.read_text())["file"] == name

    done = stack.run_greenlight("backup", "production")  # any run that takes the lock
    assert done.returncode == 0, done.stdout + done.stderr
    assert public_get("/api/items")[0] == 200 and not PENDING.exists()
    assert {item["sku"] for item in stack.items("production")} == expected
    interrupted = [r for r in stack.history("production") if r["kind"] == "restore" and r["outcome"] == "interrupted"]
    assert interrupted and interrupted[-1]["version"] == name
    assert any("was interrupted while it replaced the database" in line for line in interrupted[-1]["recovered"])


def test_a_restore_killed_during_its_safety_backup_leaves_the_database_as_it_was() -> None:
    name = stack.history("production")[-1]["version"]  # the backup restored above
    before = {item["sku"] for item in stack.items("production")}
    start = len(stack.log_lines())
    run = stack.greenlight("restore", "production", name, "--yes")
    stack.wait_for_log(r"task: Dump the database$", start, process=run)
    stack.kill_tree(run)
    assert public_get("/api/items")[0] == 503 and not PENDING.exists()  # the page is on, nothing is loading

    done = stack.run_greenlight("backup", "production")  # any run that takes the lock
    assert done.returncode == 0, done.stdout + done.stderr
    assert public_get("/api/items")[0] == 200
    assert {item["sku"] for item in stack.items("production")} == before


def rows(env: str) -> int:
    return len(stack.items(env))


def test_restore_refuses_a_backup_of_another_environment_and_changes_nothing() -> None:
    # Staging on a second VPS may keep production's database name; its backups, copied here,
    # then list beside production's. This one says staging in its metadata.
    source = max(BACKUPS.glob("*.sql.gz"), key=lambda p: p.stat().st_mtime)
    name = f"{source.name.split('-', 1)[0]}-20000101T000000Z-from-staging.sql.gz"
    (BACKUPS / name).write_bytes(source.read_bytes())
    (BACKUPS / (name + ".sha256")).write_text(f"{hashlib.sha256(source.read_bytes()).hexdigest()}  {name}\n")
    metadata = json.loads(source.with_name(source.name.replace(".sql.gz", ".json")).read_text())
    (BACKUPS / name.replace(".sql.gz", ".json")).write_text(json.dumps({**metadata, "file": name, "env": "staging"}))
    before = rows("production")
    done = stack.run_greenlight("restore", "production", name, "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "is a backup of staging, not of production" in done.stdout + done.stderr
    assert "--force-from staging" in done.stdout + done.stderr
    assert rows("production") == before


def test_restore_refuses_a_backup_of_another_database_and_changes_nothing() -> None:
    staging = max((stack.ROOT / "e2e-staging" / "backups").glob("*.sql.gz"), key=lambda p: p.stat().st_mtime)
    for suffix in (".sql.gz", ".sql.gz.sha256", ".json"):
        source = staging.with_name(staging.name.replace(".sql.gz", suffix))
        (BACKUPS / source.name).write_bytes(source.read_bytes())
    before = rows("production")
    done = stack.run_greenlight("restore", "production", staging.name, "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"production has no backup {staging.name}" in done.stdout + done.stderr
    assert rows("production") == before


@pytest.mark.parametrize("name, message", [
    ("../e2e-staging/backups/x.sql.gz", "is not a backup's file name"),
    ("warehouse-none.sql.gz", "has no backup warehouse-none.sql.gz"),
])
def test_restore_refuses_a_name_that_is_not_one_of_the_environments_backups(name: str, message: str) -> None:
    before = rows("production")
    done = stack.run_greenlight("restore", "production", name, "--yes")
    assert done.returncode == 2 and message in done.stdout + done.stderr, done.stdout + done.stderr
    assert rows("production") == before


def test_restore_refuses_a_backup_that_does_not_match_its_checksum() -> None:
    victim = min(BACKUPS.glob("*.sql.gz"), key=lambda p: p.stat().st_mtime)
    victim.write_bytes(victim.read_bytes() + b"tampered")
    before = rows("production")
    done = stack.run_greenlight("restore", "production", victim.name, "--yes")
    assert done.returncode != 0
    assert "does not match its checksum" in done.stdout + done.stderr, done.stdout + done.stderr
    assert rows("production") == before and public_get("/api/items")[0] == 200


CONTACTS = [("Acme Tools", "Margarethe Vandersloot", "m.vandersloot@acme-tools.example", "+49 30 5550 1234"),
            ("Bolt & Nut", "Quentin Abernathy-Oyelaran", "quentin@bolt-nut.example", "+44 20 7946 0958"),
            ("Crate Co", "Ingeborg Siljeholm", "ingeborg.siljeholm@crate.example", None)]


def test_refresh_staging_brings_productions_rows_with_every_personal_value_replaced() -> None:
    assert stack.sql("production", "SHOW TABLES LIKE 'supplier_contacts'"), "production is not on v2's schema"
    stack.sql("production", "DELETE FROM supplier_contacts")
    for supplier, name, email, phone in CONTACTS:
        phone_sql = f"'{phone}'" if phone else "NULL"
        stack.sql("production", "INSERT INTO supplier_contacts (supplier, contact_name, contact_email, contact_phone) "
                                f"VALUES ('{supplier}', '{name}', '{email}', {phone_sql})")
    taken = stack.run_greenlight("backup", "production", "--label", "before-refresh")
    assert taken.returncode == 0, taken.stdout + taken.stderr
    production_items = len(stack.items("production"))

    done = stack.run_greenlight("refresh-staging", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = stack.sql("staging", "SELECT supplier, contact_name, contact_email, contact_phone FROM supplier_contacts "
                                "ORDER BY id")
    assert [row[0] for row in rows] == [c[0] for c in CONTACTS]  # not personal: kept
    for (supplier, name, email, phone), row in zip(CONTACTS, rows):
        assert row[1] != name and row[2] != email and "@" in row[2]
        assert row[3] == ("NULL" if phone is None else "*" * (len(phone) - 2) + phone[-2:])
    assert len(stack.items("staging")) == production_items
    # No production value anywhere in staging's database or its backups.
    dump = stack.docker("exec", f"{stack.APP}-staging-mysql", "mariadb-dump", "--databases", stack.DATABASES["staging"])
    staged = [dump] + [gzip.decompress(p.read_bytes()).decode(errors="replace")
                       for p in (stack.ROOT / f"{stack.APP}-staging" / "backups").glob("*anonymized*.sql.gz")]
    for _, name, email, phone in CONTACTS:
        for value in (name, email, phone):
            assert value is None or all(value not in text for text in staged), value
    assert not list((stack.ROOT / "anonymized").glob("*"))  # the controller's copy is gone
    left = stack.docker("ps", "-aq", "--filter", f"label=greenlight.app={stack.APP}",
                        "--filter", "label=greenlight.part=anonymize")
    assert left.strip() == ""


@pytest.mark.parametrize("version, message", [
    ("v9", "app_version 'v9' is not a tag, branch or commit"),
    ("v1;rm -rf /", "is not a tag, branch or commit name"),
    ("$(reboot)", "is not a tag, branch or commit name"),
])
def test_bad_version_stops_before_anything_changes(version: str, message: str) -> None:
    before = stack.containers()
    run = stack.deploy("staging", version)
    assert run.rc != 0
    assert message in run.output
    assert stack.containers() == before


def test_docker_not_running_stops_before_anything_changes() -> None:
    before = stack.containers()
    run = stack.deploy("staging", "v1", env_vars={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert run.rc != 0
    assert "cannot reach Docker" in run.output
    assert stack.containers() == before


def test_port_in_use_stops_before_anything_changes() -> None:
    before = stack.containers()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = stack.deploy("staging", "v1", "-e", f"proxy_metrics_port={port}")
    assert run.rc != 0
    assert f"port {port} is already in use" in run.output
    assert stack.containers() == before
