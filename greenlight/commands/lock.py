"""greenlight lock status [ENV] | greenlight lock release ENV [--force]."""

from __future__ import annotations

from ..lock import HOST_LOCK, describe, host_lock_holder
from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, UsageError, check_env
from ..runner import state_dir

NAME = "lock"
HELP = "who holds the locks; release one whose holder is gone"


def arguments(parser) -> None:
    parser.add_argument("action", choices=("status", "release"))
    parser.add_argument("env", nargs="?", choices=ENVIRONMENTS)
    parser.add_argument("--force", action="store_true",
                        help="release: also a lock taken from another machine, which greenlight cannot see run")


def read_only(args) -> bool:
    return args.action == "status"


def run(args, pipeline):
    if args.action == "release" and not args.env:
        raise UsageError("lock release needs the environment: greenlight lock release ENV")
    outcome = lock(pipeline, args.action, args.env, args.force)
    if args.action == "status" and outcome.code == ExitCode.OK:
        outcome.data["host"] = host_lock_holder(state_dir() / HOST_LOCK)
    return outcome


def render(args, outcome) -> None:
    if args.action != "status":
        return
    holder = outcome.data.get("host", {})
    print(f"{'host':<11} {('held by ' + describe(holder)) if holder else 'free'}")
    for env in ENVIRONMENTS:
        if env not in outcome.data:
            continue
        found = outcome.data[env]
        state = {True: "its holder runs", False: "its holder is gone: the next run takes it over",
                 None: "held from another machine"}.get(found.get("alive"))
        print(f"{env:<11} " + (f"held by {found.get('description', '?')} ({state})" if found.get("lock") else "free"))


def lock(pipeline: Pipeline, action: str, env: str | None, force: bool = False) -> Outcome:
    """Read the environments' deploy locks, or release one whose holder is gone."""
    stages: list[Stage] = []
    envs = [env] if env else list(ENVIRONMENTS)
    report: dict[str, dict] = {}
    for name in envs:
        check_env(name, pipeline.inventory_dir)
        result = pipeline.stage(stages, f"lock {action} {name}", "lock.yml", name,
                                {"lock_action": action, "lock_force": force})
        if not result.ok:
            return pipeline.failed(f"lock {action} {name}", stages, result, f"cannot {action} the lock of {name}")
        report[name] = result.stats.get("greenlight_lock", {})
    if action == "release":
        found = report[envs[0]]
        message = (f"{envs[0]}: released the lock of {found.get('lock', {}).get('holder', {}).get('user', '?')}"
                   if found.get("released") else f"{envs[0]}: no lock to release")
        return Outcome(f"lock release {envs[0]}", ExitCode.OK, message, stages, report)
    return Outcome("lock status", ExitCode.OK, "", stages, report)
