"""Host maintenance without downtime (docs/security.md).

Restarting the Docker daemon, what a docker.io security update does on the VPS, must drop no
request on the public ports. The client runs in a network namespace the test makes, behind a
veth pair, so its requests reach the proxy the way internet traffic does (through the host's
NAT), not over loopback. The daemon must run with live-restore and without the userland proxy
(scripts/ensure-docker.sh sets both in /etc/docker/daemon.json before it starts the daemon).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import stack
from .stack import BIN, PORTS, REPO

pytestmark = pytest.mark.usefixtures("both_on_v1")

NAMESPACE = "gl-e2e-client"
HOST_SIDE, CLIENT_SIDE = "gl-e2e-h", "gl-e2e-c"
HOST_ADDRESS, CLIENT_ADDRESS = "10.250.7.1", "10.250.7.2"
LOAD_SECONDS = 40
RATE = 50


@pytest.fixture
def client_namespace() -> Iterator[str]:
    with stack.veth_namespace(NAMESPACE, HOST_SIDE, CLIENT_SIDE, HOST_ADDRESS, CLIENT_ADDRESS):
        yield NAMESPACE


def restart_docker() -> float:
    """Stop the daemon and start it again as this machine starts it; the seconds it was away."""
    started = time.monotonic()
    if Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "restart", "docker"], check=True)
    else:
        pid = int(subprocess.run(["pgrep", "-xo", "dockerd"], capture_output=True, text=True, check=True).stdout)
        os.kill(pid, signal.SIGTERM)
        for _ in range(600):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        subprocess.run(["bash", str(REPO / "scripts/ensure-docker.sh")], check=True, capture_output=True,
                       stdin=subprocess.DEVNULL)
    return time.monotonic() - started


def test_restarting_the_docker_daemon_drops_no_request_from_outside(client_namespace: str) -> None:
    info = json.loads(stack.docker("info", "--format", "{{json .}}"))
    assert info["LiveRestoreEnabled"], "the daemon runs without live-restore: run scripts/ensure-docker.sh on a stopped daemon"
    before = stack.docker("ps", "-q", "--filter", f"label=greenlight.app={stack.APP}").split()
    received = Path(f"/sys/class/net/{HOST_SIDE}/statistics/rx_packets")
    packets_before = int(received.read_text())
    report = stack.ROOT / "host-load.json"
    port = PORTS["production"]["proxy_http_port"]
    load = subprocess.Popen(
        ["ip", "netns", "exec", client_namespace, str(BIN / "python"), "-m", "greenlight.load",
         f"http://{HOST_ADDRESS}:{port}", "--allow", HOST_ADDRESS, "--rate", str(RATE), "--report", str(report),
         "--", "sleep", str(LOAD_SECONDS)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)
    away = restart_docker()
    stdout, stderr = load.communicate(timeout=LOAD_SECONDS + 60)
    assert load.returncode == 0, stdout + stderr
    summary = json.loads(report.read_text())
    print(f"\ndocker daemon restarted in {away:.1f} s; load from {client_namespace}: {json.dumps(summary)}")

    # The requests came through the veth pair and the host's NAT, and every one was answered.
    assert summary["requests"] >= RATE * (LOAD_SECONDS - 5)
    assert int(received.read_text()) - packets_before >= summary["requests"]
    proxy_log = subprocess.run(["docker", "logs", "--since", "2m", f"{stack.APP}-production-proxy"],
                               capture_output=True, text=True).stderr.splitlines()
    events = [line for line in proxy_log if any(word in line for word in ("DOWN", "MAINT", "resolution", "UP", "alert"))]
    print("\n".join(["the production proxy's events:", *events[-20:]]))
    assert summary["failed"] == 0, summary["failed_at"][:5]
    assert summary["longest_gap_s"] < 1.0
    # The same containers run: they outlived the daemon.
    after = stack.docker("ps", "-q", "--filter", f"label=greenlight.app={stack.APP}").split()
    assert sorted(after) == sorted(before)


def fetch_from(namespace: str | None, url: str, auth: tuple[str, str] | None = None) -> int:
    """The HTTP status a GET of url gets from the namespace's client (None: from this machine)."""
    code = ("import base64, sys, urllib.error, urllib.request\n"
            "request = urllib.request.Request(sys.argv[1])\n"
            "if len(sys.argv) > 2: request.add_header('Authorization', 'Basic ' + base64.b64encode(sys.argv[2].encode()).decode())\n"
            "try:\n    print(urllib.request.urlopen(request, timeout=5).status)\n"
            "except urllib.error.HTTPError as error:\n    print(error.code)\n")
    argv = [str(BIN / "python"), "-c", code, url, *([":".join(auth)] if auth else [])]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    return int(subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout)


def test_a_public_staging_can_be_limited_to_an_allowlist_and_basic_auth(client_namespace: str) -> None:
    """A changed proxy setting reaches the running proxy (a graceful reload), even when the
    run that wrote it was killed before the reload."""
    version = stack.live_version("staging")
    port = PORTS["staging"]["proxy_http_port"]
    outside, here = f"http://{HOST_ADDRESS}:{port}/api/items", f"http://127.0.0.1:{port}/api/items"
    auth = ("team", "correct-horse-" + os.urandom(4).hex())
    limits = json.dumps({"proxy_basic_auth_user": auth[0], "proxy_basic_auth_password": auth[1],
                         "proxy_allow_from": [f"{CLIENT_ADDRESS}/32"]})
    config = stack.ROOT / f"{stack.APP}-staging" / "proxy" / "conf" / "haproxy.cfg"
    try:
        # Killed once the new configuration is on disk (recovery or the proxy role writes it)
        # and before the proxy reloaded: the next run must still reload it.
        command, environment = stack.playbook_command("deploy.yml", "staging", "-e", f"app_version={version}", "-e", limits)
        killed = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while "userlist public_users" not in config.read_text():
            assert killed.poll() is None and time.monotonic() < deadline, "the deploy never wrote the new configuration"
            time.sleep(0.02)
        stack.kill_tree(killed)
        assert fetch_from(client_namespace, outside) == 200, "the kill came after the reload: it tested nothing"

        limited = stack.deploy("staging", version, "-e", limits)
        assert limited.rc == 0, limited.output[-3000:]
        worker = stack.proxy_worker("staging")
        assert fetch_from(client_namespace, outside) == 401
        assert fetch_from(client_namespace, outside, ("team", "wrong")) == 401
        assert fetch_from(client_namespace, outside, auth) == 200
        assert fetch_from(None, here) == 200  # this machine (monitoring, greenlight verify) needs none
        assert auth[1] not in config.read_text() and "password $6$" in config.read_text()

        elsewhere = stack.deploy("staging", version, "-e", json.dumps({"proxy_allow_from": ["192.0.2.0/24"]}))
        assert elsewhere.rc == 0, elsewhere.output[-3000:]
        assert stack.proxy_worker("staging") != worker
        assert fetch_from(client_namespace, outside) == 403
        assert fetch_from(None, here) == 200
    finally:
        plain = stack.deploy("staging", version)
        assert plain.rc == 0, plain.output[-3000:]
    assert fetch_from(client_namespace, outside) == 200
    # That a deploy changing no setting does not reload the proxy is checked by
    # test_deploy.py::test_rerun_of_the_live_release_changes_nothing.
