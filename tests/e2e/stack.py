"""Drive the real playbooks against a test copy of both environments on this machine.

The tests use their own app name (`e2e`), state folder and ports, so they never touch the
demo (app `warehouse`) or Molecule's (`mol`); everything they start carries the label
greenlight.app=e2e and is removed by that label.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from greenlight.load import Load

REPO = Path(__file__).resolve().parents[2]
ROOT = Path("/tmp/greenlight-e2e")
APP = "e2e"
BIN = Path(sys.executable).parent
# The greenlight command's state folder (log, host lock) and its copy of the inventories.
STATE = ROOT / "state"
INVENTORIES = ROOT / "inventories"

PORTS = {
    "production": {"proxy_http_port": 18080, "proxy_https_port": 18443, "proxy_api_port": 18500,
                   "proxy_preview_port": 18900, "proxy_metrics_port": 18404, "mysql_port": 18307},
    "staging": {"proxy_http_port": 28080, "proxy_https_port": 28443, "proxy_api_port": 28500,
                "proxy_preview_port": 28900, "proxy_metrics_port": 28404, "mysql_port": 28308},
}


@dataclass
class Run:
    rc: int
    output: str

    @property
    def changed(self) -> int:
        match = re.search(r"changed=(\d+)", self.output.split("PLAY RECAP")[-1])
        return int(match.group(1)) if match else -1


# The bound on a window's hold in the tests that check what the judge catches.
JUDGE_MAX_HOLD = ["-e", "deploy_canary_max_hold=15"]


def extra_vars(env: str) -> dict:
    return {
        "greenlight_app": APP,
        "greenlight_root": str(ROOT),
        "app_repo": str(ROOT / "warehouse.git"),
        # Images are tagged by commit, so the tests can share the demo's.
        "release_images": {"backend": "warehouse-backend", "frontend": "warehouse-frontend"},
        "healthcheck_timeout": 15,
        # blue_green unless a test asks for another strategy; short windows keep the suite fast.
        "deploy_strategy": "blue_green",
        "deploy_canary_hold": 5,
        "deploy_watch_seconds": 3,
        "deploy_judge_min_requests": 30,
        # A hold waits for enough requests to judge (about 550 with the default settings),
        # sending synthetic GETs when live traffic is thin; bounded here to keep the suite fast
        # (each deploy's watch, each canary step). The tests of the judge's verdicts give
        # their windows JUDGE_MAX_HOLD.
        "deploy_canary_max_hold": 6,
        # The baseline's synthetic top-up when no load runs: 40 answers a route, 2 s at the
        # probe's 40/s, not the default 100's 5 s on every deploy (p50 is still compared; p95
        # needs 100). The tests under load take their baseline from the load's requests.
        "deploy_judge_baseline_requests": 40,
        # Wider latency floors than the defaults (5/25 ms): the suite's windows are a few
        # seconds long and often compare with a baseline taken at another moment, on a
        # 2-core host running the other environment's deploy and load. The defaults are
        # measured by the unit tests and `make bench`; `fault/slow` (p50 about 25 ms against
        # 8) still fails here.
        "deploy_judge_latency_floors_ms": [12, 60],
        **PORTS[env],
        # The host's monitoring stack of the tests (tests/e2e/test_monitoring.py).
        **MONITORING_PORTS,
        "monitoring_name": MONITORING,
        "monitoring_mysqld_exporter_port": MYSQLD_EXPORTER_PORTS[env],
    }


def playbook_command(name: str, env: str, *args: str, env_vars: dict | None = None) -> tuple[list[str], dict]:
    """The ansible-playbook command (and its environment) that runs a playbook on a test environment."""
    vars_file = ROOT / f"vars-{env}.json"
    vars_file.write_text(json.dumps(extra_vars(env)))
    command = [str(BIN / "ansible-playbook"), f"playbooks/{name}", "-i", f"inventories/{env}",
               "-e", f"@{vars_file}", *args]
    return command, {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", **(env_vars or {})}


def playbook(name: str, env: str, *args: str, env_vars: dict | None = None) -> Run:
    command, environment = playbook_command(name, env, *args, env_vars=env_vars)
    done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    (ROOT / "logs").mkdir(exist_ok=True)
    log = ROOT / "logs" / f"{len(list((ROOT / 'logs').iterdir())):03d}-{name}-{env}.log"
    log.write_text(" ".join(command) + "\n\n" + output)
    return Run(done.returncode, output)


def deploy(env: str, version: str, *args: str, env_vars: dict | None = None) -> Run:
    return playbook("deploy.yml", env, "-e", f"app_version={version}", *args, env_vars=env_vars)


def get(env: str, path: str, port_name: str = "proxy_http_port") -> tuple[int, str]:
    url = f"http://127.0.0.1:{PORTS[env][port_name]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# What users may see during a deploy under load on this busy 2-core machine (Ansible, Docker
# and both environments share it): measured from each request's due time, the longest wait
# between two successful answers and the 99th percentile stay under these. Measured values
# are printed by each test; these bounds are several times them, to fail on a stall, not noise.
MAX_GAP_S = 3.0
MAX_P99_MS = 1500.0


def assert_smooth(summary: dict) -> None:
    """No stall users would notice: the longest gap between successes and p99 within bounds,
    the rate held, over the whole of what was measured."""
    assert summary["seconds"] < LOAD_MAX_SECONDS, summary
    assert summary["longest_gap_s"] < MAX_GAP_S, summary
    assert summary["p99_ms"] < MAX_P99_MS, summary
    assert summary["rate_met"], summary


def assert_writes_kept(report, env: str = "production") -> int:
    """Every write the API acknowledged (201) under the load is in the database; their count."""
    stored = {item["sku"] for item in items(env)}
    missing = set(report.created_skus) - stored
    assert not missing, f"{len(missing)} acknowledged writes are missing, for example {sorted(missing)[:3]}"
    return len(report.created_skus)


def assert_no_failed(summary: dict, env: str = "production") -> None:
    """Not one failed request; else say when they failed and what the proxy logged then."""
    if summary["failed"]:
        logged = subprocess.run(["docker", "logs", "--since", "15m", f"{APP}-{env}-proxy"], capture_output=True,
                                text=True, check=False)
        errors = [line for line in (logged.stdout + logged.stderr).splitlines() if proxy_error(line)]
        raise AssertionError(f"{summary['failed']} failed: {summary['failed_at']}; the proxy's errors:\n"
                             + "\n".join(errors[-20:]) + f"\n{summary}")


# httplog: ... Tq/Tw/Tc/Tr/Ta status bytes cookie cookie flags ...
HTTPLOG = re.compile(r" -?\d+/-?\d+/-?\d+/-?\d+/\+?-?\d+ (-?\d+) \d+ \S+ \S+ (\S\S)")


def proxy_error(line: str) -> bool:
    """A proxy log line of a 5xx, or of a request that ended abnormally (termination flags)."""
    found = HTTPLOG.search(line)
    return bool(found) and (found.group(1).startswith("5") or found.group(1) == "-1" or found.group(2) != "--")


def items(env: str) -> list[dict]:
    """Every item of env's database, read page by page through the API."""
    found: list[dict] = []
    while True:
        status, body = get(env, f"/api/items?limit=1000&offset={len(found)}")
        assert status == 200, body
        page = json.loads(body)
        found += page
        if len(page) < 1000:
            return found


def post(env: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{PORTS[env]['proxy_http_port']}{path}",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


# Longest a test's load runs; a test that needs longer fails (see covered()) rather than
# counting requests over part of what it measures.
LOAD_MAX_SECONDS = 3600.0


# The suite's load: 50 requests/s, half the benchmark's 100. This 2-core machine serves about
# 250/s when idle; a deploy's Ansible takes about one core, and a CI host shared with other work
# has been measured serving under 100/s (p50 4-9 s at 100/s, 7 tests failed at 7587225). What
# these tests check (no failed request, no stall) does not depend on the rate; the numbers at
# 100/s are the benchmark's (make bench).
LOAD_RATE = 50.0


def load(env: str, rate: float = LOAD_RATE, port_name: str = "proxy_http_port") -> Load:
    """Steady reads and writes on env: writes create items, reads fetch one item by id (its cost
    does not grow with the writes, so the rate holds on a busy 2-core machine)."""
    status, created = post(env, "/api/items", {"sku": f"LOAD-READ-{time.time_ns()}", "name": "read by the load",
                                              "quantity": 1, "location": "L-1"})
    assert status == 201, created
    return Load(f"http://127.0.0.1:{PORTS[env][port_name]}", rate=rate, workers=16,
                read_path=f"/api/items/{created['id']}", max_seconds=LOAD_MAX_SECONDS)


DATABASES = {"staging": "warehouse_wms_staging", "production": "warehouse_wms"}  # the inventories' mysql_database


def sql(env: str, query: str) -> list[list[str]]:
    """Rows of a query run as the database's root, through its socket (docker exec)."""
    out = docker("exec", f"{APP}-{env}-mysql", "mariadb", "--batch", "--skip-column-names",
                 "--database", DATABASES[env], "--execute", query)
    return [line.split("\t") for line in out.splitlines()]


def live_version(env: str) -> str:
    status, body = get(env, "/api/version")
    assert status == 200, body
    return json.loads(body)["version"]


def history(env: str) -> list[dict]:
    path = ROOT / f"{APP}-{env}" / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    if done.returncode != 0:
        # The CLI's and the command's own error output, which CalledProcessError's message leaves out.
        raise AssertionError(f"docker {' '.join(args[:3])} ... exited {done.returncode}:\n{done.stderr}{done.stdout}")
    return done.stdout


def docker_logs(name: str) -> str:
    """A container's log, standard output and error together."""
    done = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


def containers() -> dict[str, str]:
    """Name -> ID of every container of the test app."""
    rows = docker("ps", "-a", "--filter", f"label=greenlight.app={APP}", "--format", "{{.Names}} {{.ID}}")
    return dict(line.split() for line in rows.splitlines())


def vault_value(env: str, key: str) -> str:
    text = subprocess.run([str(BIN / "ansible-vault"), "view", f"inventories/{env}/group_vars/all/vault.yml"],
                          cwd=REPO, check=True, capture_output=True, text=True).stdout
    return re.search(rf"^{key}:\s*(\S+)", text, re.MULTILINE).group(1)


# production's backup folder is a small filesystem of its own, mounted before the database
# container is created (which then sees it), so a test can fill it (tests/e2e/test_backups.py).
SMALL_BACKUPS = ROOT / f"{APP}-production" / "backups"
SMALL_BACKUPS_MB = 64


def mount_small_backups() -> None:
    SMALL_BACKUPS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL_BACKUPS_MB}m,mode=0700", "greenlight-e2e-backups",
                    str(SMALL_BACKUPS)], check=True, capture_output=True)


def unmount(path: Path) -> None:
    mounted = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    while str(path) in mounted:
        subprocess.run(["umount", str(path)], check=True, capture_output=True)
        mounted.remove(str(path))


# The monitoring stack of the tests (tests/e2e/test_monitoring.py), and the small filesystem it fills.
MONITORING = f"{APP}-monitoring"
MONITORING_PORTS = {"monitoring_prometheus_port": 19090, "monitoring_alertmanager_port": 19093,
                    "monitoring_blackbox_port": 19115, "monitoring_node_port": 19100, "monitoring_status_port": 19099}
MYSQLD_EXPORTER_PORTS = {"production": 18104, "staging": 28104}
SMALL_DISK = ROOT / "small-disk"


# The last run's playbook logs and greenlight log, kept when ROOT is removed (to read a failure).
LAST_LOGS = Path("/tmp/greenlight-e2e-last-logs")


def keep_logs() -> None:
    """Copy the playbook logs and greenlight's log of the run ending to LAST_LOGS (no run
    folders: ansible-runner keeps the extra variables there)."""
    if not (ROOT / "logs").is_dir():
        return
    shutil.rmtree(LAST_LOGS, ignore_errors=True)
    shutil.copytree(ROOT / "logs", LAST_LOGS)
    if (STATE / "greenlight.log").is_file():
        shutil.copy2(STATE / "greenlight.log", LAST_LOGS / "greenlight.log")


def remove_everything() -> None:
    """Remove what the tests made: containers, volumes and networks labelled app=e2e, and ROOT."""
    label = f"label=greenlight.app={APP}"
    monitoring = docker("ps", "-aq", "--filter", f"label=greenlight.monitoring={MONITORING}").split()
    if monitoring:  # the host's monitoring stack of tests/e2e/test_monitoring.py
        docker("rm", "-f", *monitoring)
    for kind, listing in (("container", ["ps", "-aq"]), ("volume", ["volume", "ls", "-q"]),
                          ("network", ["network", "ls", "-q"])):
        ids = docker(*listing, "--filter", label).split()
        if ids:
            remove = ["rm", "-f"] if kind == "container" else [kind, "rm"]
            docker(*remove, *ids)
    images = docker("images", "-q", f"{APP}-anonymizer").split()  # roles/backup/tasks/anonymize.yml
    if images:
        docker("rmi", "-f", *sorted(set(images)))
    unmount(SMALL_BACKUPS)
    unmount(SMALL_DISK)
    keep_logs()
    shutil.rmtree(ROOT, ignore_errors=True)
    for env in ("staging", "production"):  # the scheduled backups' entries (roles/backup/tasks/schedule.yml)
        Path(f"/etc/cron.d/greenlight-{APP}-{env}").unlink(missing_ok=True)


def make_app_repo() -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", str(REPO / "examples/warehouse/make-repo.sh"), str(ROOT / "warehouse.git")],
                   check=True, capture_output=True)


def admin_socket(env: str) -> str:
    return str(ROOT / f"{APP}-{env}" / "proxy" / "run" / "admin.sock")


def proxy_worker(env: str) -> str:
    """The pid of the proxy's worker: a reload starts a new one."""
    from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import send

    info = dict(line.split(": ", 1) for line in send(admin_socket(env), ["show info"]).splitlines() if ": " in line)
    return info["Pid"]


def backend_versions(env: str) -> dict[str, str]:
    """Color -> version label of the environment's backend containers."""
    rows = docker("ps", "--filter", f"label=greenlight.app={APP}", "--filter", f"label=greenlight.env={env}",
                  "--filter", "label=greenlight.part=backend",
                  "--format", '{{.Names}} {{.Label "greenlight.version"}}')
    return {name.rsplit("-", 1)[1]: version for name, version in (line.split() for line in rows.splitlines())}


def live_color(env: str) -> str:
    """The color the environment's proxy sends users to (its live-color file)."""
    return (ROOT / f"{APP}-{env}" / "proxy" / "live-color").read_text().split()[0]


def git_commit_of(repository: Path, ref: str) -> str:
    """The commit a ref of a repository names."""
    return subprocess.run(["git", "-C", str(repository), "rev-parse", f"{ref}^{{commit}}"],
                          check=True, capture_output=True, text=True).stdout.strip()


def git_commit(ref: str) -> str:
    """The commit a ref of the test app's repository names."""
    return git_commit_of(ROOT / "warehouse.git", ref)


def lock_file(env: str) -> Path:
    return ROOT / "locks" / f"{APP}-{env}.json"


# -- the greenlight command --------------------------------------------------------------

def write_command_inventories() -> None:
    """A copy of the real inventories with the test overrides as one more group_vars file,
    which is also how a user keeps inventories outside this repository."""
    shutil.rmtree(INVENTORIES, ignore_errors=True)
    shutil.copytree(REPO / "inventories", INVENTORIES)
    for env in ("staging", "production"):
        (INVENTORIES / env / "group_vars" / "all" / "zz-e2e.yml").write_text(yaml.safe_dump(extra_vars(env)))


def greenlight(*args: str, session: bool = False) -> subprocess.Popen:
    """Start the greenlight command on the test environments (with `session`, in a session and
    process group of its own, as a login shell or cron starts it)."""
    return subprocess.Popen(
        [str(BIN / "greenlight"), "--inventories", str(INVENTORIES), *args],
        cwd="/", env={**os.environ, "GREENLIGHT_STATE_DIR": str(STATE)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=session)


def run_greenlight(*args: str) -> subprocess.CompletedProcess:
    process = greenlight(*args)
    stdout, stderr = process.communicate(timeout=900)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def log_lines() -> list[str]:
    path = STATE / "greenlight.log"
    return path.read_text().splitlines() if path.exists() else []


def wait_for_log(pattern: str, after: int, timeout: float = 600, process: subprocess.Popen | None = None) -> int:
    """Index of the first log line after line `after` matching the regular expression."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log_lines()
        for index in range(after, len(lines)):
            if re.search(pattern, lines[index]):
                return index
        if process is not None and process.poll() is not None:
            raise AssertionError(f"greenlight ended ({process.returncode}) before {pattern!r}")
        time.sleep(0.05)
    raise AssertionError(f"no {pattern!r} in the greenlight log within {timeout} s")


def descendants(pid: int) -> list[int]:
    """Every process below pid, found through /proc (ansible-playbook runs in its own session)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[-1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL greenlight and everything it started, as an OOM kill or a power cut would:
    all of them frozen first, so none can react or start another."""
    tree = [process.pid, *descendants(process.pid)]
    for pid in tree:
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            pass
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.communicate(timeout=60)


# -- a webhook receiver --------------------------------------------------------------------

@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[int, list[bytes]]]:
    """An HTTP server on 127.0.0.1 that keeps the body of every POST; yields (port, bodies)."""
    bodies: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], bodies
    finally:
        server.shutdown()


# -- Every container greenlight starts, hardened (docs/security.md) -------------------------
# The expected table: what each part may add to "no capability, no-new-privileges, read-only
# root, memory, CPU and process limits, a rotated log, its environment's CPU weight".
ADDED_CAPABILITIES = {"mysql": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
                      "backup-verify": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
                      "status": {"DAC_READ_SEARCH"}}
NOT_ROOT = {"node": "65534", "docker-api": "10093", "mysqld-exporter": "65534"}
# The only container with Docker's socket: the read-only API's filter.
DOCKER_SOCKET_PARTS = {"docker-api"}
CPU_SHARES = {"staging": 256, "production": 1024}


def hardening_problems(container: dict) -> list[str]:
    labels = container["Config"]["Labels"]
    part = labels.get("greenlight.part", "?")
    host = container["HostConfig"]
    name = container["Name"].lstrip("/")
    found = []
    if host.get("CapDrop") != ["ALL"]:
        found.append(f"{name}: capabilities not all dropped ({host.get('CapDrop')})")
    if set(host.get("CapAdd") or []) - ADDED_CAPABILITIES.get(part, set()):
        found.append(f"{name}: adds {host.get('CapAdd')}")
    if "no-new-privileges:true" not in (host.get("SecurityOpt") or []):
        found.append(f"{name}: no no-new-privileges")
    if not host.get("ReadonlyRootfs"):
        found.append(f"{name}: writable root")
    if not host.get("Memory") or not (host.get("NanoCpus") or host.get("CpuQuota")) or not host.get("PidsLimit"):
        found.append(f"{name}: limits memory {host.get('Memory')}, cpus {host.get('NanoCpus')}, pids {host.get('PidsLimit')}")
    if host.get("LogConfig", {}).get("Type") != "json-file" or not host["LogConfig"].get("Config", {}).get("max-size"):
        found.append(f"{name}: log not rotated ({host.get('LogConfig')})")
    if host.get("Privileged") or host.get("PidMode") == "host":
        found.append(f"{name}: privileged or in the host's processes")
    env = labels.get("greenlight.env")
    if env and host.get("CpuShares") != CPU_SHARES[env]:
        found.append(f"{name}: CPU weight {host.get('CpuShares')}, not {env}'s {CPU_SHARES[env]}")
    if part in NOT_ROOT and not str(container["Config"].get("User", "")).startswith(NOT_ROOT[part]):
        found.append(f"{name}: runs as {container['Config'].get('User') or 'root'}")
    sockets = [m for m in container.get("Mounts", []) if m.get("Source", "").endswith("docker.sock")]
    if sockets and part not in DOCKER_SOCKET_PARTS:
        found.append(f"{name}: has Docker's socket")
    return found


def inspect_labelled(*labels: str) -> list[dict]:
    ids = [i for label in labels for i in docker("ps", "-aq", "--filter", f"label={label}").split()]
    return json.loads(docker("inspect", *ids)) if ids else []


def caught(name: str, process: subprocess.Popen, seconds: float = 120) -> dict:
    """A throwaway container's inspect, caught while the command that made it runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        found = subprocess.run(["docker", "inspect", name], capture_output=True, text=True)
        if found.returncode == 0:
            return json.loads(found.stdout)[0]
        time.sleep(0.1)
    raise AssertionError(f"{name} never ran")


# -- a private git repository over HTTP -------------------------------------------------------

@contextlib.contextmanager
def git_http(repository: Path, user: str, token: str) -> Iterator[str]:
    """The repository served read-only over git's HTTPS protocol on 127.0.0.1, to requests with
    Basic user:token only (401 to others); yields its URL, credentials included, as a user
    writes app_repo for a private repository. Its certificate is self-signed: git trusts it
    through GIT_SSL_CAINFO, set in this process's environment (the greenlight command's, and
    through it the modules') while the server runs."""
    subprocess.run(["git", "-C", str(repository), "update-server-info"], check=True, capture_output=True)
    certificate, key = ROOT / "git-https.pem", ROOT / "git-https.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
    served = repository / ".git" if (repository / ".git").is_dir() else repository

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self) -> None:  # noqa: N802
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.end_headers()
                return
            self.path = self.path.removeprefix("/app.git")
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    before = os.environ.get("GIT_SSL_CAINFO")
    os.environ["GIT_SSL_CAINFO"] = str(certificate)
    try:
        yield f"https://{user}:{token}@127.0.0.1:{server.server_address[1]}/app.git"
    finally:
        server.shutdown()
        if before is None:
            os.environ.pop("GIT_SSL_CAINFO", None)
        else:
            os.environ["GIT_SSL_CAINFO"] = before


# -- an app of its own (examples/notes, examples/shop) beside the suite's ----------------------

# What such an app's inventories take of the suite's settings: its state folder, its
# monitoring stack and the short windows (extra_vars).
SUITE_KEYS = ("greenlight_root", "healthcheck_timeout", "deploy_canary_hold", "deploy_watch_seconds",
              "deploy_judge_min_requests", "deploy_canary_max_hold", "deploy_judge_baseline_requests",
              "deploy_judge_latency_floors_ms", *MONITORING_PORTS, "monitoring_name")


def suite_settings(env: str) -> dict:
    return {key: value for key, value in extra_vars(env).items() if key in SUITE_KEYS}


def app_greenlight(app: str, inventories: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The greenlight command on an app's own inventories (`env`: more environment variables);
    its output kept under ROOT/logs."""
    done = subprocess.run([str(BIN / "greenlight"), "--inventories", str(inventories), *args], cwd="/",
                          env={**os.environ, "GREENLIGHT_STATE_DIR": str(STATE), **(env or {})}, capture_output=True,
                          text=True, timeout=900)
    (ROOT / "logs").mkdir(parents=True, exist_ok=True)
    (ROOT / "logs" / f"{len(list((ROOT / 'logs').iterdir())):03d}-{app}-{args[0]}.log").write_text(
        " ".join(args) + "\n\n" + done.stdout + done.stderr)
    return done


def remove_app(app: str) -> None:
    subprocess.run(["bash", str(REPO / "scripts/remove-app.sh"), app], check=True, capture_output=True,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "GREENLIGHT_ROOT": str(ROOT),
                        "GREENLIGHT_MONITORING": MONITORING})


def call(base: str, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, object]:
    """One HTTP request to an app; its status and its JSON (or text)."""
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
        return response.status, json.loads(text) if response.headers.get_content_type() == "application/json" else text


@contextlib.contextmanager
def veth_namespace(namespace: str, host_side: str, client_side: str, host_address: str,
                   client_address: str) -> Iterator[None]:
    """A network namespace behind a veth pair (a /30 of the two addresses): its requests to
    host_address reach this machine as a user's do, through its prerouting and forwarding."""
    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)

    def remove() -> None:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", host_side], capture_output=True)

    remove()
    try:
        ip("netns", "add", namespace)
        ip("link", "add", host_side, "type", "veth", "peer", "name", client_side)
        ip("link", "set", client_side, "netns", namespace)
        ip("addr", "add", f"{host_address}/30", "dev", host_side)
        ip("link", "set", host_side, "up")
        ip("-n", namespace, "addr", "add", f"{client_address}/30", "dev", client_side)
        ip("-n", namespace, "link", "set", client_side, "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        ip("-n", namespace, "route", "add", "default", "via", host_address)
        yield
    finally:
        remove()
