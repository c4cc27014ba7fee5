"""The engine the commands run their stages on: a stage is one playbook (or a quick answer
without one), timed, checked for a signal that asks the run to stop, and turned into an
Outcome with an exit code. Which stages a command runs, in which order and when it stops is
the command's own module (greenlight/commands/); what every command shares is here: the
pair check of both inventories before the first playbook, a failure's message, recovery
after an interruption, and the notification of an outcome.

The pipeline never talks to Ansible itself; it asks a runner (greenlight.runner in real
use, a fake in the unit tests).
A playbook says what kind of failure it had as data (set_stats greenlight_result.code, see
roles/greenlight/tasks/failed.yml); the pipeline maps codes to exit codes and never reads
the playbooks' prose.
"""

from __future__ import annotations

import concurrent.futures
import getpass
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Protocol

from . import PROJECT_DIR, descriptor
from .notify import Notice, NotifyConfig, notify
from .runner import PlaybookResult

# The checks of greenlight's input are the playbooks' own (plugins/module_utils/settings.py).
from ansible_collections.greenlight.deploy.plugins.module_utils import settings  # noqa: I001  (greenlight/__init__.py puts it on the path)


ENVIRONMENTS = ("staging", "production")
# A backup's label, part of its file name; a backup's file name.
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.sql\.gz$")
# Playbooks that change an environment: an interrupted one is followed by recovery.
CHANGING = ("deploy.yml", "rollback.yml", "restore.yml")  # anonymize.yml changes no environment


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # a stage failed; the summary says which, and what it left live
    USAGE = 2  # bad input: unknown environment, version or ref; missing or malformed inventory
    UNREACHABLE = 3  # the host, or Docker on it, cannot be reached
    NO_ROLLBACK = 4  # nothing to roll back to
    LOCKED = 75  # another run holds this host's or the environment's lock (EX_TEMPFAIL: try later)
    INTERRUPTED = 130  # SIGINT (Ctrl-C): stopped, the environment put back on its recorded release
    TERMINATED = 143  # SIGTERM: the same


# The playbooks' failure codes (greenlight_result.code) and the exit codes they become.
CODES = {
    "usage": ExitCode.USAGE,
    "unreachable": ExitCode.UNREACHABLE,
    "nothing_to_roll_back": ExitCode.NO_ROLLBACK,
    "locked": ExitCode.LOCKED,
    "not_warm": ExitCode.FAILED,
    "failed": ExitCode.FAILED,
}


class Runner(Protocol):
    state_dir: Path

    def run(self, playbook: str, env: str, extravars: dict | None = None,
            cancellable: bool = True, secrets: dict[str, str] | None = None) -> PlaybookResult: ...
    def settings(self, env: str, extra_vars: dict) -> dict: ...


class UsageError(Exception):
    """Input a user got wrong; the message says what."""


class Interrupted(Exception):
    """A signal stopped the run; `env` had a playbook that changes it cancelled (None: nothing was running)."""

    def __init__(self, signum: int, env: str | None, stage: str) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}" + (f" during {stage}" if stage else ""))
        self.signum = signum
        self.env = env
        self.stage = stage


@dataclass
class Stage:
    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    command: str
    code: ExitCode
    message: str
    stages: list[Stage] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    quiet_ok: bool = False  # nothing happened worth printing (a no-op --latest)


def check_env(env: str, inventory_dir: Path) -> None:
    if env not in ENVIRONMENTS:
        raise UsageError(f"unknown environment {env!r}; use one of: {', '.join(ENVIRONMENTS)}")
    hosts = inventory_dir / env / "hosts.yml"
    if not hosts.is_file():
        raise UsageError(f"inventory {hosts} is missing")


def check_version(version: str) -> None:
    problem = settings.version_problem(version)
    if problem:
        raise UsageError(problem)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def engine(variables: dict) -> tuple[str, str]:
    """Which Docker engine an environment's inventory names: its host as greenlight reaches
    it (this machine, or user@host:port over SSH) and the daemon's socket there. Two
    environments on one engine share images; on two, promote moves them."""
    host = str(variables.get("ansible_host") or "localhost")
    connection = str(variables.get("ansible_connection") or "")
    local = connection == "local" or connection in ("", "smart") and host in LOCAL_HOSTS
    where = "this machine" if local else (f"{variables.get('ansible_user') or ''}@{host}:"
                                          f"{variables.get('ansible_port') or 22}")
    return where, str(variables.get("greenlight_docker_socket") or "/var/run/docker.sock")


def classify(result: PlaybookResult) -> ExitCode:
    if result.ok:
        return ExitCode.OK
    if result.unreachable:
        return ExitCode.UNREACHABLE
    return CODES.get(result.code, ExitCode.FAILED)


def check_backup_name(name: str, env: str) -> None:
    """A backup's file name as `greenlight backups` lists it: no folder, no `..`."""
    if not BACKUP_NAME.match(name) or ".." in name:
        raise UsageError(f"backup {name!r} is not a backup's file name (NAME.sql.gz, as `greenlight backups {env}` lists)")


def contents(backup: dict) -> str:
    """What a backup holds, as its record counted it: "N rows in M tables"."""
    return f"{backup.get('rows', 0)} rows in {len(backup.get('tables', {}))} tables"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Pipeline:
    def __init__(self, runner: Runner, inventory_dir: Path,
                 progress: Callable[[str, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 extra_vars: dict | None = None,
                 stop_requested: Callable[[], int] | None = None) -> None:
        self.runner = runner
        self.extra_vars = extra_vars or {}
        self.inventory_dir = inventory_dir
        self.progress = progress or (lambda kind, text: None)
        self.clock = clock
        # The signal number that asked the run to stop, 0 while none did.
        self.stop_requested = stop_requested or (lambda: 0)
        # Recorded in the history and the lock; a name is data, never a template (settings.actor_name).
        self.actor = settings.actor_name(os.environ.get("SUDO_USER") or getpass.getuser())
        self.notify_errors: list[str] = []
        # What went wrong after the outcome was settled and must still be seen (cli: finish).
        self.record_errors: list[str] = []
        self.pair_checked = False

    # -- stages -------------------------------------------------------------------------

    def stage(self, stages: list[Stage], name: str, playbook: str, env: str,
              extravars: dict | None = None, secrets: dict[str, str] | None = None) -> PlaybookResult:
        signum = self.stop_requested()
        if signum:
            raise Interrupted(signum, None, name)
        if not self.pair_checked:
            self.check_pair()
        self.progress("stage", name)
        started = self.clock()
        result = self.runner.run(playbook, env, {"greenlight_actor": self.actor, **self.extra_vars, **(extravars or {})},
                                 secrets=secrets)
        if result.ok and not result.hosts:
            # Ansible skips a play with no host and calls that a success.
            result.status, result.error = "failed", f"inventories/{env} has no host; check its hosts.yml"
            result.stats = {"greenlight_result": {"code": "usage", "message": result.error}}
        stages.append(Stage(name, self.clock() - started, result.ok, "" if result.ok else result.error))
        if result.ok and result.stats.get("greenlight_environment") and not self.overridden():
            descriptor.save(self.runner.state_dir, self.inventory_dir, env, PROJECT_DIR, result.stats["greenlight_environment"])
        if result.canceled:
            raise Interrupted(self.stop_requested() or signal.SIGTERM, env if playbook in CHANGING else None, name)
        return result

    # -- without a playbook (greenlight/fast.py) ----------------------------------------------

    def overridden(self) -> bool:
        """Whether `-e` changes settings (--wait only waits longer for a lock)."""
        return any(key != "greenlight_lock_wait" for key in self.extra_vars)

    def described(self, env: str) -> dict | None:
        """The environment as its last playbook resolved it, when a command may go without one."""
        if self.overridden():
            return None
        return descriptor.load(self.runner.state_dir, self.inventory_dir, env, PROJECT_DIR)

    def quick(self, stages: list[Stage], name: str, env: str, work: Callable[[], dict], key: str) -> PlaybookResult:
        """A stage done here without a playbook: its answer as a playbook's would come back."""
        self.progress("stage", name)
        started = self.clock()
        answer = work()
        if answer.get("failed"):
            result = PlaybookResult(playbook=f"{name} (no playbook)", env=env, status="failed", rc=2, failures=1,
                                    hosts=1, error=str(answer.get("msg", "")),
                                    stats={"greenlight_result": {"code": answer.get("greenlight_error", "failed"),
                                                                 "message": str(answer.get("msg", "")),
                                                                 "data": answer.get("greenlight_data", {})}})
        else:
            result = PlaybookResult(playbook=f"{name} (no playbook)", env=env, status="successful", rc=0, hosts=1,
                                    stats={key: answer})
        stages.append(Stage(name, self.clock() - started, result.ok, "" if result.ok else result.error))
        return result

    def check_pair(self) -> None:
        """Before the first playbook: both inventories read (a vault that cannot be opened is
        refused here), and what two environments on one host must not share (docs/security.md).
        Only the command reads both inventories, so only it can check this."""
        self.pair_checked = True
        if not all((self.inventory_dir / env / "hosts.yml").is_file() for env in ENVIRONMENTS):
            return
        try:
            # Each read is most of a second of Ansible (greenlight/variables.py): both at once.
            with concurrent.futures.ThreadPoolExecutor(len(ENVIRONMENTS)) as pool:
                inventories = list(pool.map(lambda env: self.runner.settings(env, self.extra_vars), ENVIRONMENTS))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if not all(inventories):
            return  # an inventory with no host: its playbook says so
        found = settings.pair_problems(*inventories)
        if found:
            raise UsageError(found[0])

    @staticmethod
    def failed(command: str, stages: list[Stage], result: PlaybookResult, what: str) -> Outcome:
        message = result.stats.get("greenlight_result", {}).get("message") or result.error or result.status
        if result.unreachable:
            reason = message.strip().splitlines()[-1].removeprefix("Task failed: ") if message.strip() else "?"
            message = (f"cannot reach the host of {result.env}: {reason}; "
                       f"check ansible_host (and ansible_user) in its inventory and that the host answers over SSH")
        return Outcome(command, classify(result), f"{what}: {message}", stages,
                       {"release": result.stats.get("greenlight_release", {})})

    def list_backups(self, stages: list[Stage], env: str) -> PlaybookResult:
        """The backups.yml stage; when it is ok, its stats hold greenlight_backups."""
        result = self.stage(stages, f"backups {env}", "backups.yml", env, {})
        result.stats.setdefault("greenlight_backups", {})
        return result

    def recover(self, stop: Interrupted) -> Outcome:
        """After a signal cancelled a playbook that changes `stop.env`: put it back on its recorded release."""
        name = f"recover {stop.env}"
        stages: list[Stage] = []
        code = ExitCode.INTERRUPTED if stop.signum == signal.SIGINT else ExitCode.TERMINATED
        self.progress("stage", f"{stop}: putting {stop.env} back on its recorded release")
        started = self.clock()
        result = self.runner.run("recover.yml", stop.env, {
            "greenlight_actor": self.actor, **self.extra_vars,
            "deploy_interrupted_reason": f"stopped by {signal.Signals(stop.signum).name} during {stop.stage}",
        }, cancellable=False)
        stages.append(Stage(name, self.clock() - started, result.ok, "" if result.ok else result.error))
        recovered = result.stats.get("greenlight_recover", {})
        live = recovered.get("live") or {}
        if not result.ok:
            message = result.stats.get("greenlight_result", {}).get("message") or result.error
            return Outcome(name, code, f"{stop}; recovery failed, the next run retries it: {message}", stages)
        where = (f"{stop.env} serves {live.get('version', '?')} ({', '.join(live.get('serving', []))})"
                 if live else f"{stop.env} has no recorded release")
        done = "; ".join(recovered.get("notes", []) + recovered.get("problems", [])) or "nothing had to change"
        return Outcome(name, code, f"{stop}; {where}: {done}", stages, {"recover": recovered})

    # -- side effects -------------------------------------------------------------------

    def notify_outcome(self, kind: str, outcome: Outcome, version: str, env: str = "staging -> production") -> None:
        try:
            config = NotifyConfig.from_vars(self.runner.settings("production", self.extra_vars))
        except ValueError as exc:
            self.notify_errors.append(f"notification settings: {exc}")
            return
        notice = Notice(kind=kind, outcome="success" if outcome.code == ExitCode.OK else "failed",
                        env=env, version=version, summary=outcome.message,
                        details={"stages": ", ".join(f"{s.name} {s.seconds:.0f}s" for s in outcome.stages)})
        self.notify_errors.extend(notify(config, notice))


def interruption_note(deployed: dict) -> str:
    interrupted = deployed.get("interrupted") or {}
    if not interrupted:
        return ""
    return (f" (first recovered from an interrupted {interrupted.get('kind', 'run')} of "
            f"{interrupted.get('version') or '?'}: {'; '.join(interrupted.get('recovered', [])) or 'nothing to undo'})")
