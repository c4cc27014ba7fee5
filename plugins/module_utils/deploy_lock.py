"""The environment's deploy lock: who holds it, whether they still live, and a safe take-over.

A lock is a JSON file on the environment's host:
  {"token", "holder": {"pid", "host", "machine_id", "boot_id", "pid_start", "user", "run"},
   "since", "purpose": {...}}
The holder is the greenlight command that started the playbook (GREENLIGHT_PID, when it is an
ancestor of the process taking the lock), else the process that runs the play
(ansible-playbook on the controller). It is gone when the controller booted since (another
boot id) or when, on the same boot, no process has its pid and start time. A lock of a
holder that is gone is taken over by the next run, which first ends every process the gone
holder's run left (they carry GREENLIGHT_RUN=<run> in their environment, see `end_run`),
then puts the environment back on its recorded release (recovery) and records the
interrupted run (see greenlight.deploy.recover); the lock's `purpose` says what it was.

Whether a holder lives can only be told on its own machine (its machine id, else its host
name): `alive()` answers None for a holder of another machine. Every change of the file
happens under an flock of a sidecar file, so two runs deciding at the same moment cannot
both take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator

from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically

BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
# The environment variables greenlight gives every process of a run (greenlight/runner.py).
RUN_VARIABLE = "GREENLIGHT_RUN"
PID_VARIABLE = "GREENLIGHT_PID"


def _first_line(paths: tuple[str, ...]) -> str:
    for path in paths:
        try:
            with open(path) as stream:
                found = stream.read().strip()
        except OSError:
            continue
        if found:
            return found
    return ""


def boot_id() -> str:
    return _first_line((BOOT_ID_FILE,))


def machine_id() -> str:
    """This machine's id (systemd's, or D-Bus's); "" where it has none (the host name then tells)."""
    return _first_line(MACHINE_ID_FILES)


PF_EXITING = 0x4  # linux/sched.h: set by do_exit() before it closes the process's files


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" when there is no such process,
    or only its zombie: a killed process whose parent died too waits there until an init
    reaps it, and some containers' init never does; it can hold nothing. "" too for a process
    on its way out: the kernel closes a dying process's files, a pipe's write end among them,
    before it turns into a zombie, so the reaper woken by that pipe may look while the state
    still says running; the PF_EXITING flag is set before any file is closed)."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            stat = stream.read()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] in ("Z", "X") or int(fields[6]) & PF_EXITING:
        return ""
    return fields[19]


def parent(pid: int) -> int:
    """The pid of the process's parent (0 when there is no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return int(stream.read().rsplit(")", 1)[-1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def identity(pid: int, user: str = "", run: str = "") -> dict:
    """Who a process is, in a form another process on another boot or machine can check."""
    return {"pid": pid, "host": socket.gethostname(), "machine_id": machine_id(), "boot_id": boot_id(),
            "pid_start": process_start(pid), "user": user, "run": run}


def run_holder(user: str = "") -> dict:
    """Who holds a lock this process (a worker of ansible-playbook) takes: the greenlight command
    that started the playbook when there is one among its ancestors, so that the lock's holder
    dies with the command however it ends; else ansible-playbook itself (our parent)."""
    given = os.environ.get(PID_VARIABLE, "")
    ancestor, pid = os.getppid(), int(given) if given.isdigit() and int(given) > 1 else 0
    while pid and ancestor > 1 and ancestor != pid:
        ancestor = parent(ancestor)
    holder = pid if pid and ancestor == pid else os.getppid()
    return identity(holder, user, os.environ.get(RUN_VARIABLE, "") if holder == pid else "")


def same_machine(holder: dict) -> bool:
    """Whether a holder was on this machine: its machine id, or for a lock written before
    greenlight recorded one (or on a machine without one), its host name."""
    if holder.get("machine_id") and machine_id():
        return holder["machine_id"] == machine_id()
    return holder.get("host") == socket.gethostname()


def run_processes(run: str | None, orphans_only: bool = False) -> list[int]:
    """The processes of this machine whose environment names greenlight's run `run` (None: any
    run); with `orphans_only`, only those whose greenlight command (GREENLIGHT_PID) is gone:
    whatever a lock file says, a run whose command still runs is never one to end."""
    needle = f"{RUN_VARIABLE}={run or ''}".encode()
    names_the_run = (lambda entry: entry.startswith(needle)) if run is None else (lambda entry: entry == needle)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as stream:
                variables = stream.read().split(b"\0")
        except OSError:
            continue
        if not any(names_the_run(entry) for entry in variables):
            continue
        command = next((v.split(b"=", 1)[1] for v in variables if v.startswith(f"{PID_VARIABLE}=".encode())), b"")
        if orphans_only and command.isdigit() and process_start(int(command)):
            continue
        found.append(int(entry))
    return found


def end_run(run: str, timeout: float = 10.0, sleep=time.sleep) -> int:
    """SIGKILL every process left of greenlight's run `run` whose command is gone: ansible-playbook,
    its workers and the modules they run, whatever session each is in. Returns how many are
    left (0: none; the caller must not take the lock over while any is)."""
    if not run:
        return 0
    deadline = time.monotonic() + timeout
    while True:
        found = run_processes(run, orphans_only=True)
        if not found or time.monotonic() > deadline:
            return len(found)
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        sleep(0.05)


def alive(holder: dict) -> bool | None:
    """True or False for a holder of this machine; None when it belongs to another machine."""
    if not same_machine(holder):
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
    write_atomically(path, json.dumps(lock), 0o600)


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
        holder = held_by.get("holder") or {}
        # Our own command's lock: a playbook of this command held it and ended (cancelled by a
        # signal; recovery runs next, in the same command): ours to take over at once.
        own = bool(holder.get("run")) and holder.get("run") == os.environ.get(RUN_VARIABLE) \
            and str(holder.get("pid")) == os.environ.get(PID_VARIABLE) and same_machine(holder)
        if own:
            takeover = held_by.get("token", "")
            continue
        holder_alive = alive(holder)
        if holder_alive is False:
            # What the gone command's run left (a killed greenlight's playbook) stops first.
            left = end_run(str((held_by.get("holder") or {}).get("run") or ""))
            if left:
                return {"failed": True, "changed": False, "held_by": held_by, "greenlight_error": "locked",
                        "msg": f"{path} is held by a run that is gone, but {left} of its processes will not end; "
                               f"nothing was changed: end them (their environment holds GREENLIGHT_RUN), then run again"}
            takeover = held_by.get("token", "")
            continue
        takeover = ""
        if time.monotonic() >= deadline:
            where = "" if holder_alive else " (from another machine, so greenlight cannot tell whether it still runs)"
            return {"failed": True, "changed": False, "held_by": held_by, "greenlight_error": "locked",
                    "msg": f"another run holds {path}: {describe(held_by)}{where}; try again when it is done"
                           f"{', or wait for it with --wait SECONDS' if not wait else ''}"}
        sleep(1)
