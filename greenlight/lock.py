"""One greenlight run per host at a time.

An flock on a file: the kernel drops it when the holder exits, however it exits, so a
lock left by a killed run is recovered by the next run with nothing to clean. The holder
writes who it is into the file, for the message the next run prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import IO


class LockHeld(Exception):
    def __init__(self, path: Path, holder: dict) -> None:
        self.path = path
        self.holder = holder
        since = holder.get("since")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "an unknown time"
        super().__init__(
            f"another greenlight run holds {path}: pid {holder.get('pid', '?')} of "
            f"{holder.get('user', '?')}, '{holder.get('command', '?')}', since {when}"
        )


class HostLock:
    def __init__(self, path: Path, command: str) -> None:
        self.path = path
        self.command = command
        self._file: IO[str] | None = None

    def __enter__(self) -> HostLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                holder = json.loads(handle.read() or "{}")
            except json.JSONDecodeError:
                holder = {}
            handle.close()
            raise LockHeld(self.path, holder) from None
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
