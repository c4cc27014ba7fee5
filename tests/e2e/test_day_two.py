"""The day-two commands on the shared test environments: `greenlight logs` and `greenlight exec`
reach the right container (the live color's unless told otherwise) and pass its output and
exit code back. test_ssh.py runs both over SSH."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from . import stack
from .stack import greenlight
from .stack import run_greenlight as run

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")


def hostname(container: str) -> str:
    return stack.docker("inspect", "-f", "{{.Config.Hostname}}", container).strip()


def test_exec_runs_in_the_live_colors_container_and_passes_its_exit_code_back() -> None:
    color = stack.live_color("staging")
    done = run("exec", "staging", "backend", "--", "hostname")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == hostname(f"{stack.APP}-staging-backend-{color}")
    named = run("exec", "staging", "frontend", "--color", color, "--", "hostname")
    assert named.stdout.strip() == hostname(f"{stack.APP}-staging-frontend-{color}")
    mysql = run("exec", "staging", "mysql", "--", "hostname")
    assert mysql.stdout.strip() == hostname(f"{stack.APP}-staging-mysql")
    assert run("exec", "staging", "backend", "--", "sh", "-c", "exit 7").returncode == 7
    assert run("exec", "staging", "backend", "--", "id", "-u").stdout.strip() != "0"  # the image's user
    assert run("exec", "staging", "backend", "--user", "root", "--", "id", "-u").stdout.strip() == "0"
    unknown = run("exec", "staging", "worker", "--", "true")
    assert unknown.returncode == 2
    assert "staging has no worker container; its parts: " in unknown.stderr and "backend" in unknown.stderr


def test_logs_show_what_each_part_printed() -> None:
    marker = f"/api/version?probe={os.urandom(4).hex()}"
    assert stack.get("staging", marker)[0] == 200
    proxy = run("logs", "staging", "proxy", "--since", "10m")
    assert proxy.returncode == 0, proxy.stderr
    assert marker in proxy.stdout
    every = run("logs", "staging", "--tail", "5")
    assert every.returncode == 0, every.stderr
    labels = {line.split(" | ", 1)[0].strip() for line in every.stdout.splitlines() if " | " in line}
    assert {"proxy", "mysql", f"backend-{stack.live_color('staging')}"} <= labels, every.stdout[-2000:]
    assert run("logs", "staging", "--since", "yesterday").returncode == 2


def test_logs_follow_prints_new_lines_until_interrupted() -> None:
    follow = greenlight("logs", "staging", "proxy", "-f", "--tail", "0")
    seen: list[str] = []

    def read() -> None:
        for line in follow.stdout:  # type: ignore[union-attr]
            seen.append(line)

    threading.Thread(target=read, daemon=True).start()
    marker = f"/api/version?follow={os.urandom(4).hex()}"
    deadline = time.monotonic() + 60
    while not any(marker in line for line in seen):
        assert time.monotonic() < deadline and follow.poll() is None, "the followed log never showed the request"
        stack.get("staging", marker)
        time.sleep(0.5)
    follow.send_signal(signal.SIGINT)
    assert follow.wait(timeout=20) == 130


def test_the_wheel_installed_outside_the_checkout_checks_reports_and_deploys(tmp_path) -> None:
    """pipx install of the built wheel (the distribution greenlight-deploy) gives a working
    command: the playbooks, roles, modules and filters travel in it; the inventories stay
    wherever the user keeps them."""
    import subprocess
    import sys

    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(stack.REPO)],
                   check=True, capture_output=True, timeout=300, cwd=tmp_path)
    wheel = next(wheels.glob("greenlight_deploy-*.whl"))  # "greenlight" on PyPI is another project
    pipx = {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}
    installed = subprocess.run(["pipx", "install", str(wheel)], capture_output=True, text=True, timeout=900, env=pipx,
                               cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    venv = tmp_path / "pipx" / "venvs" / "greenlight-deploy"
    assert (tmp_path / "bin" / "greenlight").resolve() == (venv / "bin" / "greenlight").resolve()
    # The user's environment: no PYTHONPATH of a checkout (a test run may have one) reaches the command.
    user = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    located = subprocess.run([str(venv / "bin" / "python"), "-c", "import greenlight; print(greenlight.PROJECT_DIR)"],
                             capture_output=True, text=True, check=True, cwd=tmp_path, env=user).stdout.strip()
    assert located.startswith(str(venv)), located
    environment = {**user, "GREENLIGHT_INVENTORIES": str(stack.INVENTORIES), "GREENLIGHT_STATE_DIR": str(stack.STATE),
                   "ANSIBLE_VAULT_PASSWORD_FILE": str(stack.REPO / ".greenlight" / "demo-vault-password"),
                   "PATH": f"{venv / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin"}
    check = subprocess.run([str(venv / "bin" / "greenlight"), "check", "staging"], capture_output=True, text=True,
                           cwd=tmp_path, env=environment, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines() == ["staging     ok"]
    status = subprocess.run([str(venv / "bin" / "greenlight"), "status", "--json"], capture_output=True, text=True,
                            cwd=tmp_path, env=environment, timeout=300)
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["staging"]["live"]["color"] == stack.live_color("staging")
    assert report["production"]["live"]["color"] == stack.live_color("production")
    # A deploy runs every role of the engine (the release's images by the filters, the proxy,
    # the database, recovery, the lock); of the live release, it changes nothing.
    version = report["staging"]["live"]["version"]
    deployed = subprocess.run([str(venv / "bin" / "greenlight"), "deploy", "staging", version], capture_output=True,
                              text=True, cwd=tmp_path, env=environment, timeout=600)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"staging: already live: {version}" in deployed.stdout
