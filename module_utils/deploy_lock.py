"""The environment's deploy lock: who holds it, whether they still live, and a safe take-over.

A lock is a JSON file on the environment's host:
  {"token", "holder": {"pid", "host", "boot_id", "pid_start", "user"}, "since", "purpose": {...}}
The holder is the process that runs the play (ansible-playbook on the controller). It is
gone when the controller booted since (another boot id) or when, on the same boot, no
process has its pid and start time. A lock of a holder that is gone is taken over by the
next run, which then puts the environment back on its recorded release (recovery) and
records the interrupted run (see greenlight_recover); the lock's `purpose` says what it was.

Whether a holder lives can only be told on its own host: `alive()` answers None for a
holder of another host. Every change of the file happens under an flock of a sidecar
file, so two runs deciding at the same moment cannot both take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator

BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def boot_id() -> str:
    try:
        with open(BOOT_ID_FILE) as stream:
            return stream.read().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" when there is no such process,
    or only its zombie: a killed process whose parent died too waits there until an init
    reaps it, and some containers' init never does; it can hold nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            stat = stream.read()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    return "" if fields[0] in ("Z", "X") else fields[19]


def identity(pid: int, user: str = "") -> dict:
    """Who a process is, in a form another process on another boot can check."""
    return {"pid": pid, "host": socket.gethostname(), "boot_id": boot_id(),
            "pid_start": process_start(pid), "user": user}


def alive(holder: dict) -> bool | None:
    """True or False for a holder of this host; None when it belongs to another host."""
    if holder.get("host") != socket.gethostname():
        return None
    if holder.get("boot_id") and holder.get("boot_id") != boot_id():
        return False
    try:
        pid = int(holder.get("pid", 0))
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    start = process_start(pid)
    if not start:
        return False
    # A pid reused by another process since is not the holder.
    return not holder.get("pid_start") or start == holder["pid_start"]


class LockError(Exception):
    """The lock file cannot be read or written."""


def read(path: str) -> dict | None:
    try:
        with open(path) as stream:
            text = stream.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LockError(f"cannot read the lock {path}: {exc}") from exc
    try:
        lock = json.loads(text or "{}")
    except ValueError:
        # Half written by a crash: nobody can hold it.
        return {"token": "", "holder": {}, "since": 0, "purpose": {}, "corrupt": True}
    return lock if isinstance(lock, dict) else {"token": "", "holder": {}, "since": 0, "purpose": {}, "corrupt": True}


@contextlib.contextmanager
def _guard(path: str) -> Iterator[None]:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path + ".guard", "a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def _write(path: str, lock: dict) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump(lock, stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def acquire(path: str, holder: dict, purpose: dict, takeover: str = "") -> tuple[dict, dict | None]:
    """Take the lock.

    Returns (our lock, None) when it was free, ({}, current) when another holds it. With `takeover` equal to the
    current lock's token (its holder was found gone), that lock is replaced by ours and
    returned as the second value too, so the caller can recover and record it.
    """
    with _guard(path):
        current = read(path)
        if current is not None and current.get("token") != takeover and not current.get("corrupt"):
            return {}, current
        lock = {"token": uuid.uuid4().hex, "holder": holder, "since": time.time(), "purpose": purpose}
        _write(path, lock)
        return lock, current


def release(path: str, token: str) -> bool:
    """Remove the lock whose token is `token` (ours, or a gone holder's); False when it is not that lock."""
    with _guard(path):
        current = read(path)
        if current is None or current.get("token") != token:
            return False
        os.unlink(path)
        return True


def holds(path: str, token: str) -> bool:
    """Whether the lock is still the one with `token` (a long step checks it is still the owner)."""
    try:
        current = read(path)
    except LockError:
        return False
    return current is not None and current.get("token") == token


def describe(lock: dict) -> str:
    holder = lock.get("holder") or {}
    since = lock.get("since") or 0
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)) if since else "an unknown time"
    purpose = lock.get("purpose") or {}
    what = " ".join(str(purpose.get(key, "")) for key in ("kind", "version") if purpose.get(key)) or "a run"
    return (f"{what} by {holder.get('user') or 'unknown'} (pid {holder.get('pid', '?')} on "
            f"{holder.get('host') or '?'}) since {when}")


def take(execute, wait: float, path: str, sleep=time.sleep) -> dict:
    """On the controller: run a module that takes the lock until it holds it.

    `execute(takeover)` runs the module once on the environment's host; the module answers
    `held_by` (and does nothing else) when another run holds the lock. A holder found gone
    is taken over (the module is run again with its token), a live one is waited for up to
    `wait` seconds, then the run is refused with greenlight_error "locked".
    """
    deadline = time.monotonic() + wait
    takeover = ""
    while True:
        answer = execute(takeover)
        held_by = answer.get("held_by") or {}
        if answer.get("failed") or not held_by:
            return answer
        holder_alive = alive(held_by.get("holder") or {})
        if holder_alive is False:
            takeover = held_by.get("token", "")
            continue
        takeover = ""
        if time.monotonic() >= deadline:
            where = "" if holder_alive else " (from another machine, so greenlight cannot tell whether it still runs)"
            return {"failed": True, "changed": False, "held_by": held_by, "greenlight_error": "locked",
                    "msg": f"another run holds {path}: {describe(held_by)}{where}; try again when it is done"
                           f"{', or wait for it with --wait SECONDS' if not wait else ''}"}
        sleep(1)
