"""The deploy lock: a holder that is gone is told from one that runs, and only then taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils import deploy_lock
from ansible_collections.greenlight.deploy.plugins.module_utils.deploy_lock import acquire, alive, holds, identity, read, release, run_holder, take


@pytest.fixture
def sleeper():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def test_a_running_holder_is_alive_and_a_killed_one_is_gone(sleeper: subprocess.Popen) -> None:
    holder = identity(sleeper.pid, "ana")
    assert holder["host"] == socket.gethostname() and holder["boot_id"] and holder["pid_start"]
    assert alive(holder) is True
    sleeper.kill()
    sleeper.wait()
    assert alive(holder) is False


def test_a_killed_holder_nobody_reaped_yet_is_gone(sleeper: subprocess.Popen) -> None:
    # Its zombie keeps the pid and start time until a parent or init reaps it (some containers'
    # init never does): it can hold nothing.
    holder = identity(sleeper.pid)
    sleeper.kill()
    while Path(f"/proc/{sleeper.pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
        pass
    assert alive(holder) is False


def test_a_reused_pid_is_not_the_holder(sleeper: subprocess.Popen) -> None:
    holder = identity(sleeper.pid)
    assert alive({**holder, "pid_start": "1"}) is False


def test_a_holder_of_a_previous_boot_is_gone() -> None:
    holder = identity(os.getpid())
    assert alive({**holder, "boot_id": "another-boot"}) is False


def test_a_holder_on_another_machine_cannot_be_judged_here() -> None:
    assert alive({**identity(os.getpid()), "host": "elsewhere.example", "machine_id": ""}) is None


def test_a_machine_is_told_by_its_machine_id_not_its_host_name(monkeypatch) -> None:
    """Two controllers may share a host name (both "vps", a cloned image): the one that is not
    the holder's machine must not judge the holder gone because it has no such pid."""
    holder = {**identity(os.getpid()), "pid": 999999999}
    assert holder["machine_id"] and alive(holder) is False
    assert alive({**holder, "machine_id": "another-machine"}) is None
    # A lock written before machine ids were recorded is judged by its host name.
    assert alive({**holder, "machine_id": ""}) is False
    monkeypatch.setattr(deploy_lock, "machine_id", lambda: "")
    assert alive({**holder, "machine_id": "whatever"}) is False


def test_the_holder_is_the_greenlight_command_that_started_the_playbook(monkeypatch, sleeper) -> None:
    # This test process plays the worker; its parent plays greenlight (an ancestor).
    monkeypatch.setenv("GREENLIGHT_PID", str(os.getppid()))
    monkeypatch.setenv("GREENLIGHT_RUN", "run-1")
    holder = run_holder("ana")
    assert (holder["pid"], holder["run"], holder["user"]) == (os.getppid(), "run-1", "ana")
    # A GREENLIGHT_PID that is not an ancestor is not believed: the parent holds it, with no run.
    monkeypatch.setenv("GREENLIGHT_PID", str(sleeper.pid))
    assert (run_holder()["pid"], run_holder()["run"]) == (os.getppid(), "")
    monkeypatch.delenv("GREENLIGHT_PID")
    assert run_holder()["pid"] == os.getppid()


def test_taking_over_a_gone_commands_lock_first_ends_what_its_run_left() -> None:
    """A killed greenlight's playbook may run on (its own session): it must stop before the
    next run takes the lock, or two runs would move the same traffic."""
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              env={**os.environ, "GREENLIGHT_RUN": "run-of-the-dead"})
    try:
        gone = {"token": "t-gone", "holder": {**identity(os.getpid(), run="run-of-the-dead"), "boot_id": "previous"},
                "purpose": {}}

        def execute(takeover: str) -> dict:
            if takeover:
                assert orphan.poll() is not None, "the lock was taken over while the gone run still ran"
                return {"acquired": True, "took_over": gone}
            return {"acquired": False, "held_by": gone}

        assert take(execute, 0, "/x")["took_over"] == gone
        assert orphan.wait(timeout=5) == -9
    finally:
        orphan.kill()
        orphan.wait()


def test_a_held_lock_is_refused_and_taken_over_only_with_its_token(tmp_path: Path) -> None:
    path = str(tmp_path / "locks" / "shop-production.json")
    first, previous = acquire(path, identity(os.getpid()), {"kind": "deploy", "version": "v2"})
    assert first and previous is None and holds(path, first["token"])
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"

    refused, current = acquire(path, identity(os.getpid()), {"kind": "rollback"})
    assert refused == {} and current["token"] == first["token"]
    refused, _ = acquire(path, identity(os.getpid()), {"kind": "rollback"}, takeover="stale-token")
    assert refused == {}

    second, replaced = acquire(path, identity(os.getpid()), {"kind": "rollback"}, takeover=first["token"])
    assert second and replaced["purpose"] == {"kind": "deploy", "version": "v2"}
    assert not holds(path, first["token"]) and holds(path, second["token"])
    assert release(path, first["token"]) is False  # somebody else's lock now
    assert release(path, second["token"]) is True and read(path) is None


def test_a_half_written_lock_is_nobodys(tmp_path: Path) -> None:
    path = tmp_path / "shop-production.json"
    path.write_text('{"token": "abc", "holder": {"pi')
    lock, previous = acquire(str(path), identity(os.getpid()), {})
    assert lock and previous.get("corrupt")


def test_two_runs_taking_the_lock_at_once_get_it_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shop-production.json")
    won = []
    barrier = threading.Barrier(8)

    def contend() -> None:
        barrier.wait()
        lock, _ = acquire(path, identity(os.getpid()), {})
        if lock:
            won.append(lock["token"])

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and json.loads(Path(path).read_text())["token"] == won[0]


def test_take_takes_over_a_gone_holder_and_refuses_a_live_one(sleeper: subprocess.Popen) -> None:
    gone = {"token": "t-gone", "holder": {**identity(os.getpid()), "boot_id": "previous-boot"}, "purpose": {}}
    running = {"token": "t-live", "holder": identity(sleeper.pid, "ana"), "since": 0, "purpose": {"kind": "deploy"}}
    calls = []

    def module(current: dict):
        def execute(takeover: str) -> dict:
            calls.append(takeover)
            if takeover == current["token"]:
                return {"acquired": True, "took_over": current}
            return {"acquired": False, "held_by": current}
        return execute

    assert take(module(gone), 0, "/x")["took_over"] == gone and calls == ["", "t-gone"]
    refused = take(module(running), 0, "/x")
    assert refused["failed"] and refused["greenlight_error"] == "locked"
    assert f"pid {sleeper.pid}" in refused["msg"] and "--wait" in refused["msg"]


def test_take_waits_for_a_live_holder_up_to_the_limit(sleeper: subprocess.Popen) -> None:
    running = {"token": "t", "holder": identity(sleeper.pid), "purpose": {}}
    answers = iter([{"held_by": running}, {"held_by": running}, {"acquired": True}])
    slept = []
    assert take(lambda takeover: next(answers), 30, "/x", sleep=slept.append) == {"acquired": True}
    assert slept == [1, 1]


def test_a_lock_of_a_playbook_of_this_same_command_is_taken_over_at_once(monkeypatch) -> None:
    """SIGTERM cancels the command's playbook, whose lock names the command (alive): the
    recovery the same command runs next takes it over."""
    monkeypatch.setenv("GREENLIGHT_PID", str(os.getpid()))
    monkeypatch.setenv("GREENLIGHT_RUN", "run-this")
    ours = {"token": "t-ours", "holder": identity(os.getpid(), run="run-this"), "purpose": {}}
    others = {"token": "t-other", "holder": identity(os.getpid(), run="run-other"), "purpose": {}}

    def module(current: dict):
        return lambda takeover: ({"acquired": True, "took_over": current} if takeover == current["token"]
                                 else {"acquired": False, "held_by": current})

    assert take(module(ours), 0, "/x")["took_over"] == ours
    assert take(module(others), 0, "/x")["greenlight_error"] == "locked"
