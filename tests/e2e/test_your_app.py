"""Another app's shape, from `greenlight init` to a promote under load, through its inventories
only: examples/notes, one image with a web part (pages and API on port 3000, health at /up,
its Dockerfile at the repository's root) and a worker (no port) consuming a jobs table, its
own schema command, no test data. No role or code changes for it (docs/your-app.md).

What the user writes after `greenlight init` is one more group_vars file per environment
(USER_SETTINGS): the worker, the schema command, the reads verify makes, and the suite's
short windows. notes reads its database settings from DB_HOST, ... and its password from
DB_PASSWORD when DB_PASSWORD_FILE is not set: its parts name those variables (database:
a mapping, docs/your-app.md), so the password goes into DB_PASSWORD inside each container
through greenlight's entrypoint, for the web part, the worker and the schema command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from greenlight.load import Load

from . import stack
from .stack import BIN, REPO, ROOT, STATE

APP = "notes-e2e"  # not e2e-...: the e2e app's environments are e2e-<env>
INVENTORIES = ROOT / "notes-inventories"
# A folder of the app's repository named like a template (docs/security.md): greenlight init
# says it skips it (greenlight takes a-z, A-Z, 0-9, . _ - in app_images), and nothing runs it.
HOSTILE_FOLDER = "{{ lookup('ansible.builtin.pipe', 'touch greenlight-init-ran') }}"
MARKERS = [Path(where) / "greenlight-init-ran" for where in ("/", str(REPO), str(ROOT))]

# What a user of notes adds to the inventories init wrote (one file per environment).
OWN_NAMES = {"host": "DB_HOST", "port": "DB_PORT", "name": "DB_NAME", "user": "DB_USER", "password": "DB_PASSWORD"}
USER_SETTINGS = {
    "app_parts": [
        {"name": "web", "image": "app", "port": 3000, "health": "/up", "database": OWN_NAMES, "cpus": 0.5,
         "memory": "256m", "stop_timeout": 25},
        {"name": "worker", "image": "app", "command": ["python3", "-m", "notes.worker"], "database": OWN_NAMES,
         "env": {"PYTHONUNBUFFERED": "1"}, "cpus": 0.25, "memory": "128m", "stop_timeout": 10},
    ],
    "backend_migrate_command": ["python3", "-m", "notes.schema"],
    "healthcheck_smoke_checks": [{"path": "/api/version", "status": 200}, {"path": "/api/notes", "status": 200},
                                 {"path": "/", "status": 200}],
    "deploy_judge_synthetic_paths": ["/api/notes", "/api/version"],
    "verify_reads": [{"path": "/up"}, {"path": "/api/notes"}, {"path": "/", "match": '<meta name="app-version"'}],
    "verify_version_path": "/api/version",
    "deploy_canary_steps": [25, 100],
}


def greenlight(*args: str) -> subprocess.CompletedProcess:
    return stack.app_greenlight(APP, INVENTORIES, *args)


def remove() -> None:
    stack.remove_app(APP)


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, dict]]:
    """The app's repository, and `greenlight init` of its inventories plus the user's file."""
    remove()
    ROOT.mkdir(parents=True, exist_ok=True)
    # The example as it is, with one more image in a folder named like a template: every release has it.
    example = ROOT / "notes-example"
    shutil.rmtree(example, ignore_errors=True)
    shutil.copytree(REPO / "examples/notes", example)
    (example / "app" / HOSTILE_FOLDER).mkdir()
    (example / "app" / HOSTILE_FOLDER / "Dockerfile").write_text(
        "ARG BASE_IMAGE=debian:bookworm-slim\nFROM ${BASE_IMAGE}\nCMD [\"sleep\", \"infinity\"]\n")
    for marker in MARKERS:
        marker.unlink(missing_ok=True)
    subprocess.run(["bash", str(REPO / "examples/make-repo.sh"), str(example), str(ROOT / "notes.git")],
                   check=True, capture_output=True)
    subprocess.run(["rm", "-rf", "--", str(INVENTORIES)], check=True)
    done = greenlight("init", str(INVENTORIES), "--repo", str(ROOT / "notes.git"), "--app", APP)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Dockerfile: web part on port 3000, health /up" in done.stdout
    assert f"{HOSTILE_FOLDER + '/Dockerfile'!r}: skipped" in done.stdout, done.stdout
    assert [line.split()[:2] for line in done.stdout.splitlines()[-3:]] == [["both", "ok"], ["staging", "ok"],
                                                                             ["production", "ok"]]
    chosen = {}
    for env in ("staging", "production"):
        written = yaml.safe_load((INVENTORIES / env / "group_vars/all/main.yml").read_text())
        chosen[env] = {key: value for key, value in written.items() if key.endswith("_port")}
        suite = stack.suite_settings(env)
        (INVENTORIES / env / "group_vars/all/zz-user.yml").write_text(yaml.safe_dump({**USER_SETTINGS, **suite}))
    yield chosen
    remove()


def url(ports: dict, env: str = "production") -> str:
    return f"http://127.0.0.1:{ports[env]['proxy_http_port']}"


def worker(env: str = "production") -> dict:
    """The worker's container: its release, and when it started."""
    found = json.loads(stack.docker("inspect", f"{APP}-{env}-worker"))[0]
    return {"version": found["Config"]["Labels"].get("greenlight.version"), "started": found["State"]["StartedAt"],
            "running": found["State"]["Running"], "health": found["Config"].get("Healthcheck", {}).get("Test")}


def worked(base: str, note_id: int, field: str, timeout: float = 20) -> dict:
    """The note once the worker has done its job (field set), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        status, note = stack.call(base, f"/api/notes/{note_id}")
        if note.get(field) is not None or time.monotonic() > deadline:
            return note
        time.sleep(0.2)


def loaded(ports: dict, *command: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run greenlight under 50 reads/s on production; the command's result and the load's summary."""
    load = Load(url(ports), rate=stack.LOAD_RATE, workers=16, write_every=0, read_path="/api/notes",
                max_seconds=stack.LOAD_MAX_SECONDS)
    load.start()
    try:
        done = greenlight(*command)
    finally:
        load.stop()
    return done, load.report.summary()


def test_an_app_of_another_shape_from_init_to_a_promote_under_load_with_its_worker(ports: dict) -> None:
    first = greenlight("promote", "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    # Nothing ran the folder named like a template, from init to the promote.
    assert [marker for marker in MARKERS if marker.exists()] == []
    base = url(ports)
    assert stack.call(base, "/api/version") == (200, {"version": "v1"})
    assert sorted(stack.docker("ps", "--filter", f"label=greenlight.app={APP}", "--filter",
                               f"label=greenlight.env=production", "--format", "{{.Names}}").split()) == [
        f"{APP}-production-mysql", f"{APP}-production-proxy", f"{APP}-production-web-blue", f"{APP}-production-worker"]
    # The worker has no health check of its own (the image's is the web part's) and runs v1.
    assert worker() == {**worker(), "version": "v1", "running": True, "health": ["NONE"]}
    # The password reached DB_PASSWORD inside the containers (the app reads it: /up checks the
    # database), and nothing Docker shows or keeps holds it: not the container's environment,
    # entrypoint, command or env file, not the process's argv.
    password = (ROOT / f"{APP}-production" / "secrets" / "backend.password").read_text()
    assert len(password) >= 16
    for part in ("web-blue", "worker"):
        found = json.loads(stack.docker("inspect", f"{APP}-production-{part}"))[0]
        assert found["Config"]["Entrypoint"] == ["/bin/sh", "/run/greenlight/with-password"]
        assert "GREENLIGHT_PASSWORD_VARIABLE=DB_PASSWORD" in found["Config"]["Env"]
        assert password not in json.dumps(found), part
        argv = stack.docker("exec", f"{APP}-production-{part}", "cat", "/proc/1/cmdline")
        assert password not in argv and "notes" in argv, part
        seen = stack.docker("exec", f"{APP}-production-{part}", "sh", "-c", 'test "$(cat /proc/1/environ | tr "\\0" "\\n" '
                            '| grep -c "^DB_PASSWORD=")" = 1 && echo ok')
        assert seen.strip() == "ok", part
    for env_file in (ROOT / f"{APP}-production" / "secrets").glob("*.env"):
        assert password not in env_file.read_text(), env_file
    status, note = stack.call(base, "/api/notes", "POST", {"title": "kept", "body": "through every release, four words"})
    assert status == 201
    assert worked(base, note["id"], "words")["words"] == 5
    status, page = stack.call(base, "/")
    assert status == 200 and '<meta name="app-version" content="v1">' in page

    # v2 adds a column (its own schema command) and a reading time the worker computes:
    # promoted (staging, verify of staging's /api/version, production by canary) under reads.
    before = worker()
    second, summary = loaded(ports, "promote", "v2")
    print(f"\n{APP} promote v1 -> v2 under load: {json.dumps(summary)}")
    assert second.returncode == 0, second.stdout + second.stderr
    assert summary["failed"] == 0 and summary["rate_met"], summary
    assert stack.call(base, "/api/version") == (200, {"version": "v2"})
    assert stack.call(url(ports, "staging"), "/api/version") == (200, {"version": "v2"})
    # The worker was replaced in place, after the switch, by v2's.
    after = worker()
    assert after["version"] == "v2" and after["running"] and after["started"] > before["started"], (before, after)
    status, note = stack.call(base, "/api/notes", "POST", {"title": "timed", "body": " ".join(["word"] * 400)})
    assert worked(base, note["id"], "reading_seconds")["reading_seconds"] == 120
    assert stack.call(base, "/api/jobs") == (200, {"pending": 0, "done": 2})

    # greenlight rollback: the instant switch to the warm v1, and the worker follows it.
    back = greenlight("rollback", "production")
    assert back.returncode == 0, back.stdout + back.stderr
    assert stack.call(base, "/api/version") == (200, {"version": "v1"})
    assert worker()["version"] == "v1" and worker()["running"]
    status, note = stack.call(base, "/api/notes", "POST", {"title": "after the rollback", "body": "v1 counts words"})
    assert worked(base, note["id"], "words")["words"] == 3

    # Killed (SIGKILL, the whole tree) as it replaces the worker, after the deploy's record:
    # the next run's recovery puts the worker on the release the history says is live.
    after = len(stack.log_lines())
    process = subprocess.Popen([str(BIN / "greenlight"), "--inventories", str(INVENTORIES), "deploy", "production", "v2",
                                "-e", "deploy_strategy=blue_green"], cwd="/", stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "GREENLIGHT_STATE_DIR": str(STATE)})
    recorded = stack.wait_for_log(r"Record the deploy", after, timeout=300, process=process)
    stack.wait_for_log(r"Start the part worker", recorded, timeout=120, process=process)
    stack.kill_tree(process)
    assert stack.call(base, "/api/version") == (200, {"version": "v2"})
    again = greenlight("deploy", "production", "v2")
    assert again.returncode == 0 and "already live" in again.stdout, again.stdout + again.stderr
    assert worker()["version"] == "v2" and worker()["running"]
    status, note = stack.call(base, "/api/notes", "POST", {"title": "after the kill", "body": " ".join(["word"] * 200)})
    assert worked(base, note["id"], "reading_seconds")["reading_seconds"] == 60

    # faulty fails one read in five after its first ten: the canary's judge takes it back,
    # and the worker, which only follows a live release, was never touched.
    steady = worker()
    third, summary = loaded(ports, "deploy", "production", "faulty", "-e", "deploy_canary_hold=10",
                            *stack.JUDGE_MAX_HOLD)
    print(f"{APP} v2 -> faulty by canary under load: {json.dumps(summary)}")
    assert third.returncode != 0
    assert "the new release is worse: 5xx rate too high" in third.stdout + third.stderr, third.stdout + third.stderr
    time.sleep(0.5)
    assert stack.call(base, "/api/version") == (200, {"version": "v2"})
    assert worker() == steady
    assert summary["failed"] / summary["requests"] < 0.01, summary
