"""Another app's shape, through its inventory only: examples/notes, one web part that serves
pages and API on port 3000, health at /up, its Dockerfile at the repository's root, its own
schema command, no test data. No role or code changes for it: app_images, app_parts, the
smoke checks and verify's reads are settings (README: Your app). Its worker is not run yet (parts without a port are
not supported): its jobs stay pending.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from greenlight.load import Load

from . import stack
from .stack import BIN, REPO, ROOT

APP = "notes-e2e"  # not e2e-...: the e2e app's environments are e2e-<env>
PORTS = {"proxy_http_port": 19080, "proxy_https_port": 19443, "proxy_api_port": 19500,
         "proxy_preview_port": 19900, "proxy_metrics_port": 19404, "mysql_port": 19307}


def settings() -> dict:
    base = {key: value for key, value in stack.extra_vars("production").items() if key != "release_images"}
    return {
        **base, **PORTS,
        "greenlight_app": APP,
        "app_repo": str(ROOT / "notes.git"),
        "mysql_database": "notes",
        "monitoring_mysqld_exporter_port": 19105,
        "app_images": {"notes": {"context": "."}},
        "app_parts": [{"name": "web", "image": "notes", "port": 3000, "health": "/up", "database": True,
                       "cpus": 0.5, "memory": "256m", "stop_timeout": 25}],
        "app_migrate_image": "notes",
        "backend_migrate_command": ["python3", "-m", "notes.schema"],
        "backend_seed_test_data": False,
        "healthcheck_smoke_checks": [{"path": "/api/version", "status": 200}, {"path": "/api/notes", "status": 200},
                                     {"path": "/", "status": 200}],
        "deploy_judge_synthetic_paths": ["/api/notes", "/api/version"],
        "verify_reads": [{"path": "/up"}, {"path": "/api/notes"}, {"path": "/", "match": '<meta name="app-version"'}],
        "verify_write": False,
    }


def remove() -> None:
    subprocess.run(["bash", str(REPO / "scripts/remove-app.sh"), APP], check=True, capture_output=True,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "GREENLIGHT_ROOT": str(ROOT),
                        "GREENLIGHT_MONITORING": stack.MONITORING})


@pytest.fixture(scope="module", autouse=True)
def notes_repo() -> Iterator[None]:
    remove()
    ROOT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", str(REPO / "examples/notes/make-repo.sh"), str(ROOT / "notes.git")],
                   check=True, capture_output=True)
    yield
    remove()


def playbook(name: str, *args: str) -> stack.Run:
    vars_file = ROOT / "vars-notes.json"
    vars_file.write_text(json.dumps(settings()))
    command = [str(BIN / "ansible-playbook"), f"playbooks/{name}", "-i", "inventories/production",
               "-e", f"@{vars_file}", *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"})
    (ROOT / "logs").mkdir(exist_ok=True)
    (ROOT / "logs" / f"{len(list((ROOT / 'logs').iterdir())):03d}-{name}-{APP}.log").write_text(
        " ".join(command) + "\n\n" + done.stdout + done.stderr)
    return stack.Run(done.returncode, done.stdout + done.stderr)


def deploy(version: str, *args: str) -> stack.Run:
    return playbook("deploy.yml", "-e", f"app_version={version}", *args)


def get(path: str, method: str = "GET", body: dict | None = None) -> tuple[int, object]:
    request = urllib.request.Request(f"http://127.0.0.1:{PORTS['proxy_http_port']}{path}", method=method,
                                     data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
        return response.status, json.loads(text) if response.headers.get_content_type() == "application/json" else text


def containers() -> list[str]:
    return stack.docker("ps", "--filter", f"label=greenlight.app={APP}", "--format", "{{.Names}}").split()


def test_an_app_of_another_shape_deploys_promotes_under_load_and_its_faulty_release_is_rolled_back() -> None:
    first = deploy("v1")
    assert first.rc == 0, first.output[-3000:]
    assert get("/api/version") == (200, {"version": "v1"})
    assert sorted(containers()) == [f"{APP}-production-mysql", f"{APP}-production-proxy", f"{APP}-production-web-blue"]
    status, note = get("/api/notes", "POST", {"title": "kept", "body": "through every release"})
    assert status == 201, note
    status, page = get("/")
    assert status == 200 and '<meta name="app-version" content="v1">' in page

    # v2 adds a column (its own schema command), by canary, under reads only: the app has no
    # /api/items to write to.
    load = Load(f"http://127.0.0.1:{PORTS['proxy_http_port']}", rate=stack.LOAD_RATE, workers=16, write_every=0,
                read_path="/api/notes", max_seconds=stack.LOAD_MAX_SECONDS)
    load.start()
    try:
        second = deploy("v2", "-e", "deploy_strategy=canary", "-e", '{"deploy_canary_steps": [25, 100]}')
    finally:
        load.stop()
    summary = load.report.summary()
    print(f"\n{APP} v1 -> v2 by canary under load: {json.dumps(summary)}")
    assert second.rc == 0, second.output[-3000:]
    assert summary["failed"] == 0 and summary["rate_met"], summary
    assert get("/api/version") == (200, {"version": "v2"})
    status, notes = get("/api/notes")
    assert "reading_seconds" in notes[0] and "kept" in [n["title"] for n in notes]
    # greenlight verify (what promote runs between staging and production), with the app's own reads.
    verified = playbook("verify.yml", "-e", "verify_expected_version=v2")
    assert verified.rc == 0, verified.output[-3000:]
    wrong = playbook("verify.yml", "-e", "verify_expected_version=v1")
    assert wrong.rc != 0 and 'answers version "v2" on /api/version, expected "v1"' in wrong.output, wrong.output[-3000:]

    # faulty fails one read in five after its first ten: the canary's judge takes it back.
    load = Load(f"http://127.0.0.1:{PORTS['proxy_http_port']}", rate=stack.LOAD_RATE, workers=16, write_every=0,
                read_path="/api/notes", max_seconds=stack.LOAD_MAX_SECONDS)
    load.start()
    try:
        third = deploy("faulty", "-e", "deploy_strategy=canary", "-e", "deploy_canary_hold=10", *stack.JUDGE_MAX_HOLD)
    finally:
        load.stop()
    summary = load.report.summary()
    print(f"{APP} v2 -> faulty by canary under load: {json.dumps(summary)}")
    assert third.rc != 0
    assert "the new release is worse: 5xx rate too high" in third.output, third.output[-3000:]
    time.sleep(0.5)
    assert get("/api/version") == (200, {"version": "v2"})
    assert summary["failed"] / summary["requests"] < 0.01, summary
