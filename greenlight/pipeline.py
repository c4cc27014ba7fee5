"""What greenlight decides: which playbooks run, in which order, and when to stop.

The pipeline never talks to Ansible itself; it asks a runner (greenlight.runner in real
use, a fake in the unit tests) and turns the results into an Outcome with an exit code.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Protocol

from .notify import Notice, NotifyConfig, notify
from .runner import PlaybookResult

ENVIRONMENTS = ("staging", "production")
# What the playbooks say when the input, not the host, is wrong.
USAGE_ERRORS = ("is not a tag, branch or commit", "cannot read the app's repository", "has no host")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # a stage failed; the summary says which, and what it left live
    USAGE = 2  # bad input: unknown environment, version or ref; missing or malformed inventory
    UNREACHABLE = 3  # the host, or Docker on it, cannot be reached
    NO_ROLLBACK = 4  # nothing to roll back to
    LOCKED = 75  # another greenlight run holds this host's lock (EX_TEMPFAIL: try later)


class Runner(Protocol):
    def run(self, playbook: str, env: str, extravars: dict | None = None) -> PlaybookResult: ...
    def inventory_vars(self, env: str) -> dict: ...


class UsageError(Exception):
    """Input a user got wrong; the message says what."""


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
    if not VERSION.match(version) or ".." in version:
        raise UsageError(f"version {version!r} is not a tag, branch or commit name (letters, digits and . _ / - only)")


def classify(result: PlaybookResult) -> ExitCode:
    if result.ok:
        return ExitCode.OK
    if result.unreachable or "cannot reach Docker" in result.error:
        return ExitCode.UNREACHABLE
    if any(sign in result.error for sign in USAGE_ERRORS):
        return ExitCode.USAGE
    return ExitCode.FAILED


class Pipeline:
    def __init__(self, runner: Runner, inventory_dir: Path,
                 progress: Callable[[str, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 extra_vars: dict | None = None) -> None:
        self.runner = runner
        self.extra_vars = extra_vars or {}
        self.inventory_dir = inventory_dir
        self.progress = progress or (lambda kind, text: None)
        self.clock = clock
        self.actor = os.environ.get("SUDO_USER") or getpass.getuser()
        self.notify_errors: list[str] = []

    # -- stages -------------------------------------------------------------------------

    def _stage(self, stages: list[Stage], name: str, playbook: str, env: str,
               extravars: dict | None = None) -> PlaybookResult:
        self.progress("stage", name)
        started = self.clock()
        result = self.runner.run(playbook, env, {"greenlight_actor": self.actor, **self.extra_vars, **(extravars or {})})
        if result.ok and not result.hosts:
            # Ansible skips a play with no host and calls that a success.
            result.status, result.error = "failed", f"inventories/{env} has no host; check its hosts.yml"
        stages.append(Stage(name, self.clock() - started, result.ok, "" if result.ok else result.error))
        return result

    @staticmethod
    def _failed(command: str, stages: list[Stage], result: PlaybookResult, what: str) -> Outcome:
        return Outcome(command, classify(result), f"{what}: {result.error or result.status}", stages)

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
        return Outcome(command, ExitCode.OK, f"{env}: {verb} {version} ({deployed.get('commit', '')[:12]})",
                       stages, {"deploy": deployed})

    def promote(self, version: str) -> Outcome:
        check_version(version)
        for env in ENVIRONMENTS:
            check_env(env, self.inventory_dir)
        command = f"promote {version}"
        stages: list[Stage] = []
        outcome = self._promote(command, version, stages)
        self._notify("promote", outcome, version)
        return outcome

    def _promote(self, command: str, version: str, stages: list[Stage]) -> Outcome:
        staging = self._stage(stages, "deploy staging", "deploy.yml", "staging", {"app_version": version})
        if not staging.ok:
            return self._failed(command, stages, staging, f"promote of {version} stopped at staging; production untouched")
        release = staging.stats.get("greenlight_deploy", {})

        verify = self._stage(stages, "verify staging", "verify.yml", "staging", {})
        if not verify.ok:
            return self._failed(command, stages, verify,
                                f"promote of {version} stopped: staging failed verification; production untouched")

        # Production runs the very images staging ran: same commit, digests checked on the host.
        production = self._stage(stages, "deploy production", "deploy.yml", "production", {
            "app_version": version,
            "release_expected_commit": release.get("commit", ""),
            "release_expected_digests": release.get("digests", {}),
        })
        if not production.ok:
            return self._failed(command, stages, production, f"promote of {version} failed at production")
        live = production.stats.get("greenlight_deploy", {})
        self._record("production", {
            "kind": "promote", "env": "staging -> production", "version": version,
            "commit": live.get("commit", ""), "digests": live.get("digests", {}),
            "backup": live.get("backup", ""), "outcome": "success",
            "stages": {s.name: round(s.seconds, 1) for s in stages},
        })
        return Outcome(command, ExitCode.OK,
                       f"promoted {version} ({live.get('commit', '')[:12]}) to staging and production",
                       stages, {"staging": release, "production": live})

    def promote_latest(self, ref: str) -> Outcome:
        check_version(ref)
        check_env("production", self.inventory_dir)
        stages: list[Stage] = []
        resolved = self._stage(stages, "resolve", "resolve.yml", "production", {"app_version": ref})
        if not resolved.ok:
            return self._failed(f"promote --latest ({ref})", stages, resolved, f"cannot resolve {ref}")
        info = resolved.stats.get("greenlight_resolve", {})
        commit = info.get("commit", "")
        if commit and commit == info.get("live_commit"):
            return Outcome(f"promote --latest ({ref})", ExitCode.OK,
                           f"{ref} ({commit[:12]}) is already live in production", stages, {"resolve": info},
                           quiet_ok=True)
        outcome = self.promote(commit)
        outcome.stages[:0] = stages
        return outcome

    def verify(self, env: str) -> Outcome:
        check_env(env, self.inventory_dir)
        stages: list[Stage] = []
        result = self._stage(stages, f"verify {env}", "verify.yml", env, {})
        if not result.ok:
            return self._failed(f"verify {env}", stages, result, f"{env} failed verification")
        return Outcome(f"verify {env}", ExitCode.OK, f"{env} passed verification", stages,
                       {"verify": result.stats.get("greenlight_verify", {})})

    def status(self) -> Outcome:
        stages: list[Stage] = []
        report: dict[str, dict] = {}
        for env in ENVIRONMENTS:
            check_env(env, self.inventory_dir)
            result = self._stage(stages, f"status {env}", "status.yml", env, {})
            report[env] = result.stats.get("greenlight_status", {}) if result.ok else {"error": result.error}
        code = ExitCode.OK if all(s.ok for s in stages) else ExitCode.UNREACHABLE
        return Outcome("status", code, "", stages, report)

    def history(self, env: str, limit: int) -> Outcome:
        check_env(env, self.inventory_dir)
        stages: list[Stage] = []
        result = self._stage(stages, f"history {env}", "status.yml", env, {"history_limit": limit})
        if not result.ok:
            return self._failed(f"history {env}", stages, result, f"cannot read the history of {env}")
        return Outcome(f"history {env}", ExitCode.OK, "", stages,
                       {"history": result.stats.get("greenlight_status", {}).get("history", [])})

    def rollback(self, env: str) -> Outcome:
        check_env(env, self.inventory_dir)
        command = f"rollback {env}"
        stages: list[Stage] = []
        instant = self._stage(stages, f"rollback {env} (switch to the warm color)", "rollback.yml", env, {})
        info = instant.stats.get("greenlight_rollback", {})
        if instant.ok:
            outcome = Outcome(command, ExitCode.OK,
                              f"{env}: rolled back from {info.get('from_version', '?')} to {info.get('to_version', '?')}",
                              stages, {"rollback": info})
        elif "nothing to roll back to" in instant.error:
            outcome = Outcome(command, ExitCode.NO_ROLLBACK, f"{env}: {instant.error}", stages)
        elif info.get("mode") == "redeploy" and info.get("to_version"):
            # The old color is not warm any more: deploy the previous release again, the same commit.
            previous = info["to_version"]
            redeploy = self._stage(stages, f"redeploy {previous} to {env}", "deploy.yml", env,
                                   {"app_version": previous, "release_expected_commit": info.get("to_commit", "")})
            outcome = (Outcome(command, ExitCode.OK, f"{env}: rolled back to {previous} by a redeploy", stages,
                               {"rollback": info, "deploy": redeploy.stats.get("greenlight_deploy", {})})
                       if redeploy.ok else self._failed(command, stages, redeploy, f"rollback of {env} failed"))
        else:
            outcome = self._failed(command, stages, instant, f"rollback of {env} failed")
        self._notify("rollback", outcome, outcome.data.get("rollback", {}).get("to_version", ""), env)
        return outcome

    # -- side effects -------------------------------------------------------------------

    def _record(self, env: str, record: dict) -> None:
        record = {**record, "actor": self.actor, "ended": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.runner.run("record.yml", env, {**self.extra_vars, "greenlight_record": record})

    def _notify(self, kind: str, outcome: Outcome, version: str, env: str = "staging -> production") -> None:
        try:
            config = NotifyConfig.from_vars({**self.runner.inventory_vars("production"), **self.extra_vars})
        except ValueError as exc:
            self.notify_errors.append(f"notification settings: {exc}")
            return
        notice = Notice(kind=kind, outcome="success" if outcome.code == ExitCode.OK else "failed",
                        env=env, version=version, summary=outcome.message,
                        details={"stages": ", ".join(f"{s.name} {s.seconds:.0f}s" for s in outcome.stages)})
        self.notify_errors.extend(notify(config, notice))

