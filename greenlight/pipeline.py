"""What greenlight decides: which playbooks run, in which order, and when to stop.

The pipeline never talks to Ansible itself; it asks a runner (greenlight.runner in real
use, a fake in the unit tests) and turns the results into an Outcome with an exit code.
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


from . import PROJECT_DIR, descriptor, host
from .notify import Notice, NotifyConfig, notify
from .runner import PlaybookResult
from .scrub import scrub

# The checks of greenlight's input are the playbooks' own (plugins/module_utils/settings.py).
from ansible_collections.greenlight.deploy.plugins.module_utils import settings  # noqa: I001  (greenlight/__init__.py puts it on the path)

from . import fast

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
            cancellable: bool = True) -> PlaybookResult: ...
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

    def _stage(self, stages: list[Stage], name: str, playbook: str, env: str,
               extravars: dict | None = None) -> PlaybookResult:
        signum = self.stop_requested()
        if signum:
            raise Interrupted(signum, None, name)
        if not self.pair_checked:
            self.check_pair()
        self.progress("stage", name)
        started = self.clock()
        result = self.runner.run(playbook, env, {"greenlight_actor": self.actor, **self.extra_vars, **(extravars or {})})
        if result.ok and not result.hosts:
            # Ansible skips a play with no host and calls that a success.
            result.status, result.error = "failed", f"inventories/{env} has no host; check its hosts.yml"
            result.stats = {"greenlight_result": {"code": "usage", "message": result.error}}
        stages.append(Stage(name, self.clock() - started, result.ok, "" if result.ok else result.error))
        if result.ok and result.stats.get("greenlight_environment") and not self._overridden():
            descriptor.save(self.runner.state_dir, self.inventory_dir, env, PROJECT_DIR, result.stats["greenlight_environment"])
        if result.canceled:
            raise Interrupted(self.stop_requested() or signal.SIGTERM, env if playbook in CHANGING else None, name)
        return result

    # -- without a playbook (greenlight/fast.py) ----------------------------------------------

    def _overridden(self) -> bool:
        """Whether `-e` changes settings (--wait only waits longer for a lock)."""
        return any(key != "greenlight_lock_wait" for key in self.extra_vars)

    def _described(self, env: str) -> dict | None:
        """The environment as its last playbook resolved it, when a command may go without one."""
        if self._overridden():
            return None
        return descriptor.load(self.runner.state_dir, self.inventory_dir, env, PROJECT_DIR)

    def _quick(self, stages: list[Stage], name: str, env: str, work: Callable[[], dict], key: str) -> PlaybookResult:
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
    def _failed(command: str, stages: list[Stage], result: PlaybookResult, what: str) -> Outcome:
        message = result.stats.get("greenlight_result", {}).get("message") or result.error or result.status
        if result.unreachable:
            reason = message.strip().splitlines()[-1].removeprefix("Task failed: ") if message.strip() else "?"
            message = (f"cannot reach the host of {result.env}: {reason}; "
                       f"check ansible_host (and ansible_user) in its inventory and that the host answers over SSH")
        return Outcome(command, classify(result), f"{what}: {message}", stages,
                       {"release": result.stats.get("greenlight_release", {})})

    # -- commands -----------------------------------------------------------------------

    def deploy(self, env: str, version: str) -> Outcome:
        check_env(env, self.inventory_dir)
        check_version(version)
        command = f"deploy {env} {version}"
        stages: list[Stage] = []
        result = self._stage(stages, f"deploy {env}", "deploy.yml", env, {"app_version": version})
        if not result.ok:
            return self._failed(command, stages, result, f"deploy of {version} to {env} failed")
        deployed = result.stats.get("greenlight_deploy", {})
        verb = "deployed" if deployed.get("changed") else "already live:"
        return Outcome(command, ExitCode.OK, f"{env}: {verb} {version} ({deployed.get('commit', '')[:12]})"
                       + _interruption_note(deployed), stages, {"deploy": deployed})

    def promote(self, version: str, commit: str = "", name: str = "") -> Outcome:
        check_version(version)
        for env in ENVIRONMENTS:
            check_env(env, self.inventory_dir)
        name = name or version
        command = f"promote {name}"
        stages: list[Stage] = []
        started = now()
        outcome = self._promote(command, version, stages, name)
        self._record_promote(name, commit, started, outcome)
        self._notify("promote", outcome, name)
        return outcome

    def _promote(self, command: str, version: str, stages: list[Stage], name: str) -> Outcome:
        staging = self._stage(stages, "deploy staging", "deploy.yml", "staging",
                              {"app_version": version, "deploy_release_name": name})
        if not staging.ok:
            return self._failed(command, stages, staging, f"promote of {name} stopped at staging; production untouched")
        release = staging.stats.get("greenlight_deploy", {})

        # Staging must answer the release it just got (its version path, where the inventory has one).
        verify = self._stage(stages, "verify staging", "verify.yml", "staging",
                             {"verify_expected_version": name, "verify_expected_commit": release.get("commit", "")})
        if not verify.ok:
            outcome = self._failed(command, stages, verify,
                                   f"promote of {name} stopped: staging failed verification; production untouched")
            outcome.data["staging"] = release
            return outcome
        verified = verify.stats.get("greenlight_verify", {})

        # Staging on another Docker engine (a second VPS): its images go to production's.
        if engine(self.runner.settings("staging", self.extra_vars)) != engine(self.runner.settings("production", self.extra_vars)):
            error = self._move_images(stages, release, version)
            if error:
                return Outcome(command, ExitCode.FAILED, f"promote of {name} stopped: staging's images did not reach "
                                                         f"production's host; production untouched: {error}", stages,
                               {"staging": release})

        # Production runs the very images staging ran: same commit, digests checked on the host.
        production = self._stage(stages, "deploy production", "deploy.yml", "production", {
            "app_version": version,
            "deploy_release_name": name,
            "release_expected_commit": release.get("commit", ""),
            "release_expected_digests": release.get("digests", {}),
        })
        if not production.ok:
            outcome = self._failed(command, stages, production, f"promote of {name} failed at production")
            outcome.data.update({"staging": release, "verified": verified})
            return outcome
        live = production.stats.get("greenlight_deploy", {})
        return Outcome(command, ExitCode.OK,
                       f"promoted {name} ({live.get('commit', '')[:12]}) to staging and production"
                       + _interruption_note(live),
                       stages, {"staging": release, "verified": verified, "production": live})

    def _move_images(self, stages: list[Stage], release: dict, version: str) -> str:
        """The images staging ran, onto production's engine: where each runs (locate.yml), then
        docker save there streamed into docker load here (host.move_images). What gets through
        is decided here, not by staging: the tags are production's own for the commit it
        resolves the version to (which must be the one staging reports), the IDs those staging
        ran; a tag production has as another image is refused. Production's deploy then checks
        them by digest, as on one engine. '' when done, else why not."""
        located = {}
        for env in ENVIRONMENTS:
            result = self._stage(stages, f"locate {env}", "locate.yml", env,
                                 {"locate_release": version} if env == "production" else {})
            if not result.ok:
                return result.stats.get("greenlight_result", {}).get("message") or result.error or f"cannot locate {env}"
            located[env] = result.stats.get("greenlight_locate", {})
        ours = located["production"].get("release") or {}
        commit, digests = str(release.get("commit", "")), release.get("digests") or {}
        if not re.fullmatch(r"[0-9a-f]{40}", commit) or commit != ours.get("commit"):
            return (f"staging reports commit {commit[:40]!r} for {version}, but {version} is "
                    f"{str(ours.get('commit', '?'))[:12]} in production's reading of the repository")
        expected = {str(ref): str(digests.get(part, "")) for part, ref in (ours.get("images") or {}).items()}
        self.progress("stage", "images from staging to production")
        started = self.clock()
        error = host.move_images(host.Host.from_report(located["staging"].get("host") or {}),
                                 host.Host.from_report(located["production"].get("host") or {}), expected)
        stages.append(Stage("images from staging to production", self.clock() - started, not error, error))
        return error

    def promote_latest(self, ref: str, retry: bool = False) -> Outcome:
        check_version(ref)
        check_env("production", self.inventory_dir)
        stages: list[Stage] = []
        command = f"promote --latest ({ref})"
        # What cron finds most of the time (the ref live, or failed before) is decided without a
        # playbook when the environment's descriptor allows it; anything else resolves it in one.
        described = self._described("production")
        commit = fast.resolve_ref(described, ref) if described else ""
        if commit:
            known = {"commit": commit, "live_commit": fast.live_commit(described),
                     "promotions": fast.promotions(described, commit)}
            settled = self._settled(command, ref, known, retry, stages)
            if settled:
                return settled
        resolved = self._stage(stages, "resolve", "resolve.yml", "production", {"app_version": ref})
        if not resolved.ok:
            return self._failed(command, stages, resolved, f"cannot resolve {ref}")
        info = resolved.stats.get("greenlight_resolve", {})
        commit = info.get("commit", "")
        settled = self._settled(command, ref, info, retry, stages)
        if settled:
            return settled
        # Named as people name it: a tag at the commit, else the ref and the short commit.
        tags = [tag for tag in info.get("tags", []) if not settings.version_problem(tag)]
        outcome = self.promote(commit, commit, name=tags[0] if tags else f"{ref}@{commit[:12]}")
        outcome.stages[:0] = stages
        return outcome

    @staticmethod
    def _settled(command: str, ref: str, info: dict, retry: bool, stages: list[Stage]) -> Outcome | None:
        """`--latest`'s no-op, when there is one: the ref's commit is live, or its promotion
        failed before. Failure memory: the same commit would fail the same way, again and
        again, each time with a backup, migrations and a notification. A new commit, or --retry."""
        commit = info.get("commit", "")
        if commit and commit == info.get("live_commit"):
            return Outcome(command, ExitCode.OK, f"{ref} ({commit[:12]}) is already live in production", stages,
                           {"resolve": info}, quiet_ok=True)
        failed = [p for p in info.get("promotions", []) if p.get("outcome") == "failed"]
        if failed and not retry:
            return Outcome(command, ExitCode.OK,
                           f"{ref} ({commit[:12]}) failed its promotion at {failed[-1].get('ended', '?')}; "
                           f"waiting for a new commit (--retry tries it again)", stages,
                           {"resolve": info}, quiet_ok=True)
        return None

    def verify(self, env: str) -> Outcome:
        check_env(env, self.inventory_dir)
        stages: list[Stage] = []
        result = self._stage(stages, f"verify {env}", "verify.yml", env, {})
        if not result.ok:
            return self._failed(f"verify {env}", stages, result, f"{env} failed verification")
        return Outcome(f"verify {env}", ExitCode.OK, f"{env} passed verification", stages,
                       {"verify": result.stats.get("greenlight_verify", {})})

    def backup(self, env: str, label: str = "manual") -> Outcome:
        """Dump and record the database now, under the environment's deploy lock."""
        check_env(env, self.inventory_dir)
        if not LABEL.match(label):
            raise UsageError(f"backup label {label!r}: letters, digits and . _ - only (at most 40)")
        command = f"backup {env}"
        stages: list[Stage] = []
        result = self._stage(stages, f"backup {env}", "backup.yml", env, {"backup_label": label})
        if not result.ok:
            return self._failed(command, stages, result, f"backup of {env} failed")
        info = result.stats.get("greenlight_backup", {})
        return Outcome(command, ExitCode.OK,
                       f"{env}: backed up {info.get('database', '?')} to {info.get('file', '?')} "
                       f"({contents(info)}, "
                       f"{info.get('size', 0) / 1048576:.1f} MiB)", stages, {"backup": info})

    def scheduled_backup(self, env: str) -> Outcome:
        """What cron runs (roles/backup/tasks/schedule.yml): a backup (stored in restic too), its
        verification in a throwaway database, and `restic check`; a failure notifies."""
        outcome = self.backup(env, "scheduled")
        if outcome.code == ExitCode.OK:
            name = outcome.data["backup"].get("file", "")
            stages = list(outcome.stages)
            result = self._stage(stages, f"verify backup of {env}", "verify-backup.yml", env,
                                 {"backup_verify_file": name, "backup_restic_check": True})
            if result.ok:
                info = result.stats.get("greenlight_backup", {})
                outcome = Outcome(f"backup {env} --scheduled", ExitCode.OK,
                                  f"{outcome.message}; it restores ({info.get('verified', {}).get('seconds', 0):.0f} s) "
                                  f"and the restic repository checks", stages, {"backup": info})
            else:
                outcome = self._failed(f"backup {env} --scheduled", stages, result,
                                       f"the scheduled backup {name} of {env} did not verify")
        if outcome.code != ExitCode.OK:
            self._notify("backup", outcome, "scheduled", env)
        return outcome

    def verify_backup(self, env: str, name: str = "") -> Outcome:
        """Restore a backup (default: the newest) into a throwaway database and compare its rows."""
        check_env(env, self.inventory_dir)
        if name:
            check_backup_name(name, env)
        command = f"backup verify {env}"
        stages: list[Stage] = []
        result = self._stage(stages, f"verify backup of {env}", "verify-backup.yml", env, {"backup_verify_file": name})
        if not result.ok:
            return self._failed(command, stages, result, f"verification of {name or 'the newest backup'} of {env} failed")
        info = result.stats.get("greenlight_backup", {})
        return Outcome(command, ExitCode.OK,
                       f"{env}: {info.get('file', '?')} restores: {contents(info)}, as the dump holds "
                       f"({info.get('verified', {}).get('seconds', 0):.0f} s)", stages, {"backup": info})

    def restore(self, env: str, name: str, force_from: str = "",
                confirm: Callable[[dict], bool] = lambda backup: False) -> Outcome:
        """Replace ENV's database with its backup NAME, once `confirm` (shown the backup's
        metadata) says yes. The playbook checks the backup again and takes a backup first."""
        check_env(env, self.inventory_dir)
        check_backup_name(name, env)
        if force_from and force_from not in ENVIRONMENTS:
            raise UsageError(f"--force-from {force_from!r}: an environment ({', '.join(ENVIRONMENTS)})")
        command = f"restore {env}"
        stages: list[Stage] = []
        listed = self._list_backups(stages, env)
        if not listed.ok:
            return self._failed(command, stages, listed, f"cannot list the backups of {env}")
        backup = next((b for b in listed.stats["greenlight_backups"].get("backups", []) if b.get("file") == name), None)
        if backup is None:
            raise UsageError(f"{env} has no backup {name} (greenlight backups {env} lists them)")
        if backup.get("env") != env and backup.get("env") != force_from:
            raise UsageError(f"{name} is a backup of {backup.get('env')}, not of {env}: it would put "
                             f"{backup.get('env')}'s data into {env}'s database. Nothing was changed. If that is "
                             f"what you want: greenlight restore {env} {name} --force-from {backup.get('env')}")
        if not confirm(backup):
            return Outcome(command, ExitCode.FAILED, f"restore of {name} to {env} not confirmed; nothing was changed", stages)
        result = self._stage(stages, f"restore {name} to {env}", "restore.yml", env,
                             {"restore_file": name, "restore_from": force_from})
        if not result.ok:
            return self._failed(command, stages, result, f"restore of {name} to {env} failed")
        info = result.stats.get("greenlight_restore", {})
        restored, safety = info.get("restored", {}), info.get("safety", {})
        return Outcome(command, ExitCode.OK,
                       f"{env}: restored {name} ({contents(restored)}, checked after loading, {restored.get('verified', {}).get('seconds', 0):.0f} s behind "
                       f"the maintenance page); the database as it was is in {safety.get('file', '?')}",
                       stages, {"restore": info})

    def refresh_staging(self, confirm: Callable[[dict], bool] = lambda backup: False) -> Outcome:
        """Staging's database replaced by an anonymized copy of production's newest backup
        (docs/operations.md), once `confirm` (shown that backup) says yes."""
        command = "refresh-staging"
        for env in ENVIRONMENTS:
            check_env(env, self.inventory_dir)
        stages: list[Stage] = []
        listed = self._list_backups(stages, "production")
        if not listed.ok:
            return self._failed(command, stages, listed, "cannot list the backups of production")
        found = listed.stats["greenlight_backups"].get("backups", [])
        if not found:
            raise UsageError("production has no backup to anonymize; take one first: greenlight backup production")
        if not confirm(found[0]):
            return Outcome(command, ExitCode.FAILED, "refresh of staging not confirmed; nothing was changed", stages)
        anonymized = self._stage(stages, "anonymize production's newest backup", "anonymize.yml", "production", {})
        if not anonymized.ok:
            return self._failed(command, stages, anonymized, "anonymizing production's newest backup failed; "
                                                             "staging was not touched")
        copy = anonymized.stats.get("greenlight_anonymized", {})
        result = self._stage(stages, "restore the anonymized copy to staging", "restore.yml", "staging",
                             {"restore_import": copy.get("file", "")})
        if not result.ok:
            return self._failed(command, stages, result, "restoring the anonymized copy to staging failed")
        info = result.stats.get("greenlight_restore", {})
        restored = info.get("restored", {})
        return Outcome(command, ExitCode.OK,
                       f"staging: restored an anonymized copy of production's {copy.get('source', {}).get('file', '?')} "
                       f"({restored.get('rows', 0)} rows, kept as {restored.get('file', '?')}); staging's database as it "
                       f"was is in {info.get('safety', {}).get('file', '?')}", stages, {"restore": info, "anonymized": copy})

    def backups(self, env: str) -> Outcome:
        check_env(env, self.inventory_dir)
        stages: list[Stage] = []
        result = self._list_backups(stages, env)
        if not result.ok:
            return self._failed(f"backups {env}", stages, result, f"cannot list the backups of {env}")
        return Outcome(f"backups {env}", ExitCode.OK, "", stages, result.stats["greenlight_backups"])

    def _list_backups(self, stages: list[Stage], env: str) -> PlaybookResult:
        """The backups.yml stage; when it is ok, its stats hold greenlight_backups."""
        result = self._stage(stages, f"backups {env}", "backups.yml", env, {})
        result.stats.setdefault("greenlight_backups", {})
        return result

    def status(self) -> Outcome:
        stages: list[Stage] = []
        report: dict[str, dict] = {}
        codes = []
        for env in ENVIRONMENTS:
            check_env(env, self.inventory_dir)
            described = self._described(env)
            if described:
                result = self._quick(stages, f"status {env}", env, lambda: fast.report(described, 20), "greenlight_status")
            else:
                result = self._stage(stages, f"status {env}", "status.yml", env, {})
            report[env] = result.stats.get("greenlight_status", {}) if result.ok else {"error": result.error}
            codes.append(classify(result))
        code = next((c for c in codes if c != ExitCode.OK), ExitCode.OK)
        return Outcome("status", code, "", stages, report)

    def check(self, env: str = "") -> Outcome:
        """Every problem of the inventories, the vault and the hosts (playbooks/check.yml), changing nothing."""
        command = "check" + (f" {env}" if env else "")
        self.pair_checked = True  # the pair's problems are listed below, with the others
        names = [env] if env else list(ENVIRONMENTS)
        report: dict[str, list[str]] = {}
        variables: dict[str, dict] = {}
        for name in names:
            check_env(name, self.inventory_dir)
            try:
                variables[name] = self.runner.settings(name, self.extra_vars)
            except ValueError as exc:
                report[name] = [str(exc)]
        if not env and len(variables) == 2:
            report["both"] = settings.pair_problems(variables["staging"], variables["production"])
        stages: list[Stage] = []
        for name in names:
            if name not in variables:
                continue  # its inventory cannot be read: nothing more to ask
            ports = {key: variables[name][key] for key in settings.PUBLISHED_PORTS if key in variables[name]}
            result = self._stage(stages, f"check {name}", "check.yml", name, {"preflight_ports": ports})
            if result.ok:
                report[name] = result.stats.get("greenlight_check", {}).get("problems", [])
            elif result.unreachable:
                return self._failed(command, stages, result, f"cannot check {name}")
            else:
                report[name] = [result.stats.get("greenlight_result", {}).get("message") or result.error]
        count = sum(len(found) for found in report.values())
        return Outcome(command, ExitCode.USAGE if count else ExitCode.OK,
                       f"{count} problem{'s' if count != 1 else ''} found" if count else "no problem found",
                       stages, {"problems": report})

    def prune(self, env: str = "", dry_run: bool = False) -> Outcome:
        """Remove what no environment needs (playbooks/prune.yml), on one environment's host or both."""
        command = " ".join(["prune", *([env] if env else []), *(["--dry-run"] if dry_run else [])])
        stages: list[Stage] = []
        report: dict[str, dict] = {}
        for name in [env] if env else ENVIRONMENTS:
            check_env(name, self.inventory_dir)
            result = self._stage(stages, f"prune {name}", "prune.yml", name, {"release_prune_dry_run": dry_run})
            if not result.ok:
                return self._failed(command, stages, result, f"cannot prune {name}")
            report[name] = result.stats.get("greenlight_prune", {})
        # Images and source trees are the app's, shared by both environments: a dry run lists them under each.
        images = {i["ref"]: i.get("freed", 0) for r in report.values() for i in r.get("images", [])}
        trees = {t["name"]: t.get("size", 0) for r in report.values() for t in r.get("trees", [])}
        freed = sum(images.values()) + sum(trees.values())
        return Outcome(command, ExitCode.OK, f"{'would free' if dry_run else 'freed'} {freed / 1048576:.1f} MiB",
                       stages, {"prune": report})

    def locate(self, env: str, command: str) -> Outcome:
        """Where the environment's containers run (playbooks/locate.yml), for logs and exec."""
        check_env(env, self.inventory_dir)
        stages: list[Stage] = []
        result = self._stage(stages, f"locate {env}", "locate.yml", env, {})
        if not result.ok:
            return self._failed(command, stages, result, f"cannot find where {env} runs")
        return Outcome(command, ExitCode.OK, "", stages, {"locate": result.stats.get("greenlight_locate", {})})

    def history(self, env: str, limit: int) -> Outcome:
        check_env(env, self.inventory_dir)
        stages: list[Stage] = []
        described = self._described(env)
        if described:
            result = self._quick(stages, f"history {env}", env, lambda: fast.report(described, limit), "greenlight_status")
        else:
            result = self._stage(stages, f"history {env}", "status.yml", env, {"deploy_status_history": limit})
        if not result.ok:
            return self._failed(f"history {env}", stages, result, f"cannot read the history of {env}")
        report = result.stats.get("greenlight_status", {})
        return Outcome(f"history {env}", ExitCode.OK, "", stages,
                       {"history": report.get("history", []), "history_skipped": report.get("history_skipped", 0)})

    def rollback(self, env: str, version: str = "") -> Outcome:
        check_env(env, self.inventory_dir)
        if version:
            # A name promote --latest recorded: <ref>@<commit[:12]>.
            check_version(version.split("@", 1)[0])
            if "@" in version and not re.fullmatch(r"[0-9a-f]{7,40}", version.split("@", 1)[1]):
                raise UsageError(f"{version!r} is not a release name: a version, or <ref>@<commit>")
        command = f"rollback {env}" + (f" {version}" if version else "")
        stages: list[Stage] = []
        described = self._described(env)
        if described and not described.get("workers"):
            # One switch, here: no playbook to start (the workers, when the app has some, need one).
            wait = float(self.extra_vars.get("greenlight_lock_wait", 0) or 0)
            instant = self._quick(stages, f"rollback {env} (switch to the warm color)", env,
                                  lambda: fast.roll_back(described, self.actor, version, wait, self.runner.run_id),
                                  "greenlight_rollback")
        else:
            instant = self._stage(stages, f"rollback {env} (switch to the warm color)", "rollback.yml", env,
                                  {"deploy_rollback_version": version})
        info = instant.stats.get("greenlight_rollback") or instant.data
        if instant.ok and info.get("mode") == "recovered":
            outcome = Outcome(command, ExitCode.OK,
                              f"{env}: the interrupted deploy of {info.get('from_version', '?')} was undone; "
                              f"{info.get('to_version', '?')} serves again ({info.get('color', '?')})",
                              stages, {"rollback": info})
        elif instant.ok:
            outcome = Outcome(command, ExitCode.OK,
                              f"{env}: rolled back from {info.get('from_version', '?')} to {info.get('to_version', '?')}",
                              stages, {"rollback": info})
        elif instant.code == "not_warm" and info.get("to_version"):
            # The old color is not warm any more: deploy the previous release again, the same commit.
            previous = info["to_version"]
            # The recorded commit is what is checked out; the name stays as it was recorded.
            redeploy = self._stage(stages, f"redeploy {previous} to {env}", "deploy.yml", env,
                                   {"app_version": info.get("to_commit") or previous, "deploy_release_name": previous,
                                    "release_expected_commit": info.get("to_commit", "")})
            outcome = (Outcome(command, ExitCode.OK, f"{env}: rolled back to {previous} by a redeploy", stages,
                               {"rollback": info, "deploy": redeploy.stats.get("greenlight_deploy", {})})
                       if redeploy.ok else self._failed(command, stages, redeploy, f"rollback of {env} failed"))
        else:
            outcome = self._failed(command, stages, instant, f"rollback of {env} failed")
        self._notify("rollback", outcome, outcome.data.get("rollback", {}).get("to_version", ""), env)
        return outcome

    def lock(self, action: str, env: str | None, force: bool = False) -> Outcome:
        """Read the environments' deploy locks, or release one whose holder is gone."""
        stages: list[Stage] = []
        envs = [env] if env else list(ENVIRONMENTS)
        report: dict[str, dict] = {}
        for name in envs:
            check_env(name, self.inventory_dir)
            result = self._stage(stages, f"lock {action} {name}", "lock.yml", name,
                                 {"lock_action": action, "lock_force": force})
            if not result.ok:
                return self._failed(f"lock {action} {name}", stages, result, f"cannot {action} the lock of {name}")
            report[name] = result.stats.get("greenlight_lock", {})
        if action == "release":
            found = report[envs[0]]
            message = (f"{envs[0]}: released the lock of {found.get('lock', {}).get('holder', {}).get('user', '?')}"
                       if found.get("released") else f"{envs[0]}: no lock to release")
            return Outcome(f"lock release {envs[0]}", ExitCode.OK, message, stages, report)
        return Outcome("lock status", ExitCode.OK, "", stages, report)

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

    def _record_promote(self, version: str, commit: str, started: str, outcome: Outcome) -> None:
        """One promote record in production's history, success or failure (the --latest memory reads it)."""
        live = outcome.data.get("production", {})
        staging = outcome.data.get("staging", {})
        release = outcome.data.get("release", {})
        record = {
            "kind": "promote", "env": "staging -> production", "version": version,
            "commit": live.get("commit") or staging.get("commit") or release.get("commit") or commit,
            "digests": live.get("digests") or staging.get("digests") or {},
            "backup": live.get("backup", ""), "actor": self.actor, "started": started, "ended": now(),
            "outcome": "success" if outcome.code == ExitCode.OK else "failed",
            "error": "" if outcome.code == ExitCode.OK else scrub(outcome.message)[:1500],
            "stages": {s.name: round(s.seconds, 1) for s in outcome.stages},
            "verified": outcome.data.get("verified", {}),
        }
        if outcome.code in (ExitCode.LOCKED, ExitCode.UNREACHABLE, ExitCode.USAGE):
            return  # not the release's fault: nothing to remember about it
        written = self.runner.run("record.yml", "production", {**self.extra_vars, "greenlight_record": record},
                                  cancellable=False)
        if not written.ok:
            # promote --latest decides from these records: say so, even under --quiet.
            self.record_errors.append(f"the promotion's history record was not written: {scrub(written.error or written.status)}")

    def _notify(self, kind: str, outcome: Outcome, version: str, env: str = "staging -> production") -> None:
        try:
            config = NotifyConfig.from_vars(self.runner.settings("production", self.extra_vars))
        except ValueError as exc:
            self.notify_errors.append(f"notification settings: {exc}")
            return
        notice = Notice(kind=kind, outcome="success" if outcome.code == ExitCode.OK else "failed",
                        env=env, version=version, summary=outcome.message,
                        details={"stages": ", ".join(f"{s.name} {s.seconds:.0f}s" for s in outcome.stages)})
        self.notify_errors.extend(notify(config, notice))


def _interruption_note(deployed: dict) -> str:
    interrupted = deployed.get("interrupted") or {}
    if not interrupted:
        return ""
    return (f" (first recovered from an interrupted {interrupted.get('kind', 'run')} of "
            f"{interrupted.get('version') or '?'}: {'; '.join(interrupted.get('recovered', [])) or 'nothing to undo'})")
