"""One greenlight run per host at a time (the host lock, on the machine greenlight runs on).

An flock on a file: the kernel drops it when the holder exits, however it exits, so a
lock left by a killed run is recovered by the next run with nothing to clean. The holder
writes who it is into the file, for the message the next run prints and for
`greenlight lock status`. Each environment has its own deploy lock besides, on its host
(plugins/module_utils/deploy_lock.py), held by the playbook that changes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import IO


# The host lock's file, in the command's state folder (runner.state_dir).
HOST_LOCK = "greenlight.lock"


class LockHeld(Exception):
    def __init__(self, path: Path, holder: dict) -> None:
        self.path = path
        self.holder = holder
        super().__init__(f"another greenlight run holds {path}: {describe(holder)}")


def describe(holder: dict) -> str:
    since = holder.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "an unknown time"
    return f"pid {holder.get('pid', '?')} of {holder.get('user', '?')}, '{holder.get('command', '?')}', since {when}"


class HostLock:
    def __init__(self, path: Path, command: str, wait: float = 0.0) -> None:
        self.path = path
        self.command = command
        self.wait = wait
        self._file: IO[str] | None = None

    def __enter__(self) -> HostLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(descriptor, 0o600)
        handle = os.fdopen(descriptor, "a+")
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_holder(handle)
                    handle.close()
                    raise LockHeld(self.path, holder) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({
            "pid": os.getpid(), "user": os.environ.get("SUDO_USER") or os.environ.get("USER") or str(os.getuid()),
            "host": socket.gethostname(), "command": self.command, "since": time.time(),
        }))
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def read_holder(handle: IO[str]) -> dict:
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except json.JSONDecodeError:
        holder = {}
    return holder if isinstance(holder, dict) else {}


def host_lock_holder(path: Path) -> dict:
    """Who holds the host lock now ({} when nobody does), without taking it."""
    if not path.exists():
        return {}
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(handle) or {"pid": "?"}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return {}
