"""One greenlight run per host: a second one is refused and told who holds the lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from greenlight.lock import HostLock, LockHeld, host_lock_holder


def test_second_holder_is_refused_with_the_first_holders_name(tmp_path: Path) -> None:
    path = tmp_path / "greenlight.lock"
    with HostLock(path, "greenlight promote v2"):
        with pytest.raises(LockHeld, match="greenlight promote v2") as refused:
            with HostLock(path, "greenlight promote v3"):
                pass
    assert refused.value.holder["command"] == "greenlight promote v2"


def test_lock_is_free_again_after_release(tmp_path: Path) -> None:
    path = tmp_path / "greenlight.lock"
    with HostLock(path, "first"):
        pass
    with HostLock(path, "second"):
        pass


def test_lock_of_a_killed_process_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "greenlight.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from greenlight.lock import HostLock;"
        "lock = HostLock(__import__('pathlib').Path(sys.argv[2]), 'killed run').__enter__();"
        "print('held', flush=True); time.sleep(60)"),
        str(Path(__file__).resolve().parents[2]), str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(LockHeld, match="killed run"):
        with HostLock(path, "while it runs"):
            pass
    holder.kill()
    holder.wait()
    time.sleep(0.1)
    with HostLock(path, "after the kill"):
        pass


def test_wait_gets_the_lock_once_its_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "greenlight.lock"
    first = HostLock(path, "first").__enter__()
    releaser = threading.Timer(1.0, first.__exit__, args=(None, None, None))
    releaser.start()
    started = time.monotonic()
    with HostLock(path, "second", wait=10):
        waited = time.monotonic() - started
    assert 0.8 < waited < 5
    with pytest.raises(LockHeld):
        with HostLock(path, "holder"):
            with HostLock(path, "impatient", wait=0.6):
                pass


def test_the_holder_can_be_read_without_taking_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "greenlight.lock"
    assert host_lock_holder(path) == {}
    with HostLock(path, "greenlight promote v2"):
        assert host_lock_holder(path)["command"] == "greenlight promote v2"
    assert host_lock_holder(path) == {}
