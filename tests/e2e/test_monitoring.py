"""The monitoring stack on the real environments: Prometheus, Alertmanager and the exporters
(roles/monitoring), with a local webhook receiver, a local SMTP server and a ping receiver.

Short intervals for the test (scrape 2 s, `for` 6 s, group wait 2 s, group interval 10 s);
the repeat interval stays 10 minutes, so a second notification of an alert within the test is
a duplicate. The stack is removed after the module, so it costs nothing to the later tests.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from . import stack

NAME = stack.MONITORING
PORTS = stack.MONITORING_PORTS
EXPORTER_PORTS = stack.MYSQLD_EXPORTER_PORTS
SMTP_PORT = 19025
SMALL_DISK = stack.SMALL_DISK
PROMETHEUS = f"http://127.0.0.1:{PORTS['monitoring_prometheus_port']}"
STATUS_PAGE = f"http://127.0.0.1:{PORTS['monitoring_status_port']}/"


class Inbox:
    """What the receivers got: webhook posts (Alertmanager's JSON), pings and e-mails, with times."""

    def __init__(self) -> None:
        self.posts: list[tuple[float, str, dict]] = []
        self.mails: list[tuple[float, dict]] = []
        self.lock = threading.Lock()

    def notifications(self, path: str = "/hook", **labels: str) -> list[tuple[float, dict]]:
        """Alertmanager's notifications to `path` whose group carries all `labels`."""
        with self.lock:
            return [(at, body) for at, where, body in self.posts if where == path
                    and all(body.get("groupLabels", {}).get(k, body.get("commonLabels", {}).get(k)) == v
                            for k, v in labels.items())]


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    received = Inbox()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            with received.lock:
                received.posts.append((time.time(), self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Mailbox:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
            message = message_from_bytes(envelope.content)
            with received.lock:
                received.mails.append((time.time(), {"to": envelope.rcpt_tos, "subject": message["Subject"]}))
            return "250 OK"

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=SMTP_PORT)
    smtp.start()
    received.port = server.server_address[1]
    yield received
    smtp.stop()
    server.shutdown()


def monitoring_vars(env: str, hook_port: int) -> dict:
    return {  # the stack's name and ports are stack.extra_vars'
        "monitoring_scrape_interval": "2s",
        "monitoring_status_interval": 3,
        "monitoring_down_for": "6s",
        "monitoring_group_wait": "2s",
        "monitoring_group_interval": "10s",
        "monitoring_repeat_interval": "10m",
        # staging's backups count as old after one second: BackupTooOld fires for staging
        "monitoring_backup_max_age": 1 if env == "staging" else 93600,
        "monitoring_watchdog_url": f"http://127.0.0.1:{hook_port}/ping",
        "monitoring_watchdog_interval": "10s",
        # The promote notifications' settings: the alerts go where they go.
        "greenlight_notify_webhook_url": f"http://127.0.0.1:{hook_port}/hook",
        "greenlight_notify_email_to": "ops@example.test",
        "greenlight_notify_smtp_host": "127.0.0.1",
        "greenlight_notify_smtp_port": SMTP_PORT,
    }


def converge(env: str, hook_port: int) -> stack.Run:
    settings = stack.ROOT / f"monitoring-{env}.json"
    settings.write_text(json.dumps(monitoring_vars(env, hook_port)))
    return stack.playbook("monitoring.yml", env, "-e", f"@{settings}")


def remove_stack() -> None:
    ids = stack.docker("ps", "-aq", "--filter", f"label=greenlight.monitoring={NAME}").split()
    ids += [cid for name, cid in stack.containers().items() if name.endswith("-mysqld-exporter")]
    if ids:
        stack.docker("rm", "-f", *ids)


def mount_small_disk() -> None:
    """A 32 MiB ext4 filesystem on a loop device, mounted while the stack runs."""
    image = stack.ROOT / "small-disk.img"
    subprocess.run(["truncate", "-s", "32M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    SMALL_DISK.mkdir(exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(SMALL_DISK)], check=True)


@pytest.fixture(scope="module")
def monitored(both_on_v1: None, inbox: Inbox) -> Iterator[Inbox]:
    stack.unmount(SMALL_DISK)
    for env in ("staging", "production"):
        run = converge(env, inbox.port)
        assert run.rc == 0, run.output[-3000:]
    yield inbox
    remove_stack()
    stack.unmount(SMALL_DISK)


def api(path: str) -> dict:
    with urllib.request.urlopen(PROMETHEUS + path, timeout=10) as response:
        return json.loads(response.read())["data"]


def firing(alertname: str, **labels: str) -> list[dict]:
    return [a for a in api("/api/v1/alerts")["alerts"] if a["state"] == "firing"
            and a["labels"]["alertname"] == alertname and all(a["labels"].get(k) == v for k, v in labels.items())]


def wait_for(what, seconds: float, message: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = what()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{message} within {seconds:.0f} s")


def backends(env: str) -> list[str]:
    rows = stack.docker("ps", "--filter", f"label=greenlight.app={stack.APP}", "--filter", f"label=greenlight.env={env}",
                        "--filter", "label=greenlight.part=backend", "--format", "{{.Names}}")
    return rows.split()


def test_every_target_is_scraped_and_every_port_is_on_loopback(monitored: Inbox) -> None:
    def all_up() -> list[dict]:
        targets = api("/api/v1/targets")["activeTargets"]
        jobs = {(t["labels"]["job"], t["labels"].get("env", "")) for t in targets if t["health"] == "up"}
        wanted = {(job, env) for job in ("haproxy", "mysqld", "blackbox_http", "blackbox_tls") for env in ("staging", "production")}
        return targets if wanted | {("node", ""), ("monitoring", "")} <= jobs and all(t["health"] == "up" for t in targets) else []

    targets = wait_for(all_up, 60, "every target up")
    assert len([t for t in targets if t["labels"]["job"] == "blackbox_http"]) == 6  # 3 probes x 2 environments
    expiry = {r["metric"]["env"]: float(r["value"][1]) for r in api("/api/v1/query?query=probe_ssl_earliest_cert_expiry")["result"]}
    assert set(expiry) == {"staging", "production"} and min(expiry.values()) > time.time() + 14 * 86400, expiry
    rules = [rule["name"] for group in api("/api/v1/rules")["groups"] for rule in group["rules"]]
    assert {"EnvironmentDown", "BackupTooOld", "DiskAlmostFull", "DeployLockHeld", "Watchdog"} <= set(rules)
    again = converge("production", monitored.port)
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    for port in [*PORTS.values(), *EXPORTER_PORTS.values()]:
        bound = [line.split()[3] for line in listening.splitlines() if line.split()[3].endswith(f":{port}")]
        assert bound == [f"127.0.0.1:{port}"], (port, bound)


def test_the_exporter_user_sees_server_status_but_not_the_apps_data(monitored: Inbox) -> None:
    mysql = f"{stack.APP}-production-mysql"
    hosts = stack.docker("exec", mysql, "mariadb", "--batch", "-N", "-e",
                         "SELECT host FROM mysql.user WHERE user = 'exporter'").split()
    gateway = stack.docker("network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}",
                           f"{stack.APP}-production-net").strip()
    assert hosts == [gateway]  # from the host's side of the network only
    status = stack.docker("exec", mysql, "mariadb", "--batch", "-N", "-e", f"SHOW GRANTS FOR 'exporter'@'{gateway}'")
    assert "PROCESS" in status and "`performance_schema`" in status
    assert stack.DATABASES["production"] not in status and "ON *.* TO" in status and "SELECT ON *.*" not in status
    value = api('/api/v1/query?query=mysql_up{env="production"}')["result"]
    assert value and value[0]["value"][1] == "1"


def test_down_environments_notify_once_production_pages_staging_does_not_then_resolve(monitored: Inbox) -> None:
    stopped = {env: backends(env) for env in ("production", "staging")}
    assert all(stopped.values()), stopped
    began = time.time()
    try:
        for env, names in stopped.items():
            stack.docker("stop", *names)
        page = wait_for(lambda: monitored.notifications(alertname="EnvironmentDown", env="production"), 120,
                        "production's EnvironmentDown notification")
        ticket = wait_for(lambda: monitored.notifications(alertname="EnvironmentDown", env="staging"), 120,
                          "staging's EnvironmentDown notification")
        fired_after = page[0][0] - began
        # No duplicate: the group does not change, and the repeat interval (10 minutes) is far.
        time.sleep(25)
    finally:
        for env, names in stopped.items():
            stack.docker("start", *names)
    print(f"EnvironmentDown notified {fired_after:.1f} s after the backends stopped")
    production = monitored.notifications(alertname="EnvironmentDown", env="production")
    staging = monitored.notifications(alertname="EnvironmentDown", env="staging")
    assert [body["status"] for _, body in production] == ["firing"], production
    assert [body["status"] for _, body in staging] == ["firing"], staging
    assert production[0][1]["commonLabels"]["severity"] == "page"
    assert staging[0][1]["commonLabels"]["severity"] == "ticket"
    assert production[0][1]["receiver"] == f"{stack.APP}-production" and staging[0][1]["receiver"] == f"{stack.APP}-staging"
    mails = [subject for _, mail in monitored.mails if "EnvironmentDown" in (subject := mail["subject"] or "")]
    assert mails, monitored.mails

    restarted = time.time()
    for env in ("production", "staging"):
        resolved = wait_for(lambda env=env: [n for n in monitored.notifications(alertname="EnvironmentDown", env=env)
                                             if n[1]["status"] == "resolved"], 120, f"{env}'s resolved notification")
        assert len(resolved) == 1
    print(f"resolved notified {time.time() - restarted:.1f} s after the backends started")


def test_the_watchdog_pings_the_outside_url(monitored: Inbox) -> None:
    pings = wait_for(lambda: monitored.notifications("/ping", alertname="Watchdog"), 60, "a watchdog ping")
    assert pings[0][1]["status"] == "firing"


def test_an_old_backup_raises_its_alert(monitored: Inbox, command_inventories: None) -> None:
    # staging's max age is 1 s in this test (monitoring_vars); production's is the default 26 h.
    wait_for(lambda: firing("BackupTooOld", env="staging"), 60, "BackupTooOld for staging")
    assert not firing("BackupTooOld", env="production")
    notified = wait_for(lambda: monitored.notifications(alertname="BackupTooOld", env="staging"), 60,
                        "a BackupTooOld notification")
    assert notified[0][1]["commonLabels"]["severity"] == "ticket"
    status = stack.run_greenlight("status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    staging = lines.index(next(line for line in lines if line.startswith("staging")))
    assert "BackupTooOld (ticket)" in lines[staging + 1], status.stdout
    production = lines.index(next(line for line in lines if line.startswith("production")))
    assert "alerts:" in lines[production + 1] and "BackupTooOld" not in lines[production + 1], status.stdout


def test_a_filesystem_filled_past_the_floor_raises_its_alert(monitored: Inbox) -> None:
    mount_small_disk()
    wait_for(lambda: api(f'/api/v1/query?query=node_filesystem_avail_bytes{{mountpoint="{SMALL_DISK}"}}')["result"], 60,
             "node exporter seeing the new filesystem")
    assert not firing("DiskAlmostFull", mountpoint=str(SMALL_DISK))
    with open(SMALL_DISK / "fill", "wb") as out:  # until less than 10% is left
        while True:
            stats = os.statvfs(SMALL_DISK)
            if stats.f_bavail < stats.f_blocks * 0.05:
                break
            out.write(b"\0" * 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
    wait_for(lambda: firing("DiskAlmostFull", mountpoint=str(SMALL_DISK)), 60, "DiskAlmostFull for the small disk")
    notified = wait_for(lambda: [n for n in monitored.notifications(alertname="DiskAlmostFull")
                                 if any(a["labels"].get("mountpoint") == str(SMALL_DISK) for a in n[1]["alerts"])],
                        60, "a DiskAlmostFull notification")
    assert notified[0][1]["receiver"] == f"{stack.APP}-production"  # the host's alerts go to the paging environment


def test_the_status_page_in_a_browser_shows_both_environments_and_a_firing_alert(monitored: Inbox) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    wait_for(lambda: firing("BackupTooOld", env="staging"), 60, "BackupTooOld for staging")
    versions = {env: stack.live_version(env) for env in ("production", "staging")}
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        def shown() -> dict | None:
            browser.get(STATUS_PAGE)
            columns = {env: browser.find_elements(By.ID, f"env-{stack.APP}-{env}") for env in versions}
            if not all(columns.values()):
                return None
            seen = {env: found[0] for env, found in columns.items()}
            alerts = seen["staging"].find_element(By.CLASS_NAME, "alerts").text
            live = {env: column.find_element(By.CLASS_NAME, "version").text for env, column in seen.items()}
            return {"live": live, "alerts": alerts} if live == versions and "BackupTooOld" in alerts else None

        page = wait_for(shown, 30, f"the status page showing {versions} and staging's BackupTooOld")
        production = browser.find_element(By.ID, f"env-{stack.APP}-production").text
        assert "health now" in production and "newest backup" in production and "requests/s" in production
        assert browser.find_element(By.ID, f"env-{stack.APP}-production").location["x"] < \
            browser.find_element(By.ID, f"env-{stack.APP}-staging").location["x"]  # side by side, production first
        print(f"status page: {page}")
    finally:
        browser.quit()


def test_every_container_greenlight_starts_is_hardened(monitored: Inbox) -> None:
    containers = stack.inspect_labelled(f"greenlight.app={stack.APP}", f"greenlight.monitoring={NAME}")
    parts = {c["Config"]["Labels"].get("greenlight.part") for c in containers}
    assert {"proxy", "mysql", "backend", "frontend", "mysqld-exporter", "prometheus", "alertmanager", "blackbox",
            "node", "docker-api", "status"} <= parts, parts
    # The one-offs and throwaways, caught while they run: a backup's verification database.
    verifying = stack.greenlight("backup", "verify", "production")
    containers.append(stack.caught(f"{stack.APP}-production-backup-verify", verifying))
    assert verifying.wait(timeout=600) == 0, verifying.communicate()
    problems = [problem for container in containers for problem in stack.hardening_problems(container)]
    assert problems == [], "\n".join(problems)


def test_the_status_page_sees_docker_read_only_and_the_stack_takes_no_order_from_local_users(monitored: Inbox) -> None:
    def status_python(code: str) -> str:
        return stack.docker("exec", f"{NAME}-status", "python3", "-c", code).strip()

    # A connection per request: what is tested is each request's answer, not keep-alive (the
    # proxy may close an idle connection, and http.client would then reconnect to host "x").
    listed = status_python("import http.client, socket\n"
                           "for method, path in (('GET', '/containers/json'), ('POST', '/containers/create'), "
                           "('POST', '/containers/x/kill'), ('GET', '/images/json')):\n"
                           "    c = http.client.HTTPConnection('x'); c.sock = socket.socket(socket.AF_UNIX)\n"
                           "    c.sock.connect('/run/docker-api/docker.sock')\n"
                           "    c.request(method, path, body=b'{}' if method == 'POST' else None); r = c.getresponse(); r.read()\n"
                           "    print(method, path, r.status); c.close()")
    assert listed.splitlines() == ["GET /containers/json 200", "POST /containers/create 403",
                                   "POST /containers/x/kill 403", "GET /images/json 403"], listed
    assert not stack.docker("exec", f"{NAME}-status", "sh", "-c", "ls /var/run/docker.sock 2>/dev/null || true").strip()
    # Prometheus's lifecycle API is off; Alertmanager wants its password.
    quit_request = urllib.request.Request(f"http://127.0.0.1:{PORTS['monitoring_prometheus_port']}/-/quit", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(quit_request, timeout=10)
    assert refused.value.code == 403
    silence = urllib.request.Request(f"http://127.0.0.1:{PORTS['monitoring_alertmanager_port']}/api/v2/silences",
                                     method="POST", data=b"{}", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as unauthorized:
        urllib.request.urlopen(silence, timeout=10)
    assert unauthorized.value.code == 401
