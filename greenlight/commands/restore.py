"""greenlight restore ENV BACKUP [--yes] [--force-from ENV]: asks first (docs/operations.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..pipeline import (ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, UsageError, check_backup_name,
                        check_env, contents)

NAME = "restore"
HELP = "replace an environment's database with one of its backups (asks first)"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("backup", help="a backup's file name, as `greenlight backups ENV` lists it")
    parser.add_argument("--yes", action="store_true", help="do not ask (for scripts); without it, a terminal must answer")
    parser.add_argument("--force-from", choices=ENVIRONMENTS, default="", metavar="ENV",
                        help="restore a backup of this other environment (its data replaces ENV's)")


def run(args, pipeline):
    if not args.yes and not sys.stdin.isatty():
        raise UsageError("greenlight restore asks before it replaces a database; with no terminal to answer, pass --yes")
    return restore(pipeline, args.env, args.backup, args.force_from,
                   confirm=(lambda backup: True) if args.yes else (lambda backup: ask_restore(args.env, backup)))


def ask_restore(env: str, backup: dict, anonymized: bool = False) -> bool:
    """Show what a restore replaces the database with; yes only when the user types ENV."""
    release = (backup.get("release") or {}).get("version") or "unknown"
    what = f"an anonymized copy of {backup.get('file', '?')}" if anonymized else backup.get("file", "?")
    print(f"This replaces {env}'s database with {what}:\n"
          f"  taken {backup.get('created', '?')} from {backup.get('env', '?')} (release {release}), "
          f"{contents(backup)}\n"
          f"Users get the maintenance page while it loads; the database as it is now is backed up first.",
          file=sys.stderr)
    return typed(env, "restore")


def typed(env: str, verb: str) -> bool:
    """Yes only when the user types the environment's name (restore, import)."""
    try:
        answer = input(f"Type {env} to {verb}: ")
    except EOFError:
        return False
    return answer.strip() == env


def restore(pipeline: Pipeline, env: str, name: str, force_from: str = "",
            confirm: Callable[[dict], bool] = lambda backup: False) -> Outcome:
    """Replace ENV's database with its backup NAME, once `confirm` (shown the backup's
    metadata) says yes. The playbook checks the backup again and takes a backup first."""
    check_env(env, pipeline.inventory_dir)
    check_backup_name(name, env)
    if force_from and force_from not in ENVIRONMENTS:
        raise UsageError(f"--force-from {force_from!r}: an environment ({', '.join(ENVIRONMENTS)})")
    command = f"restore {env}"
    stages: list[Stage] = []
    listed = pipeline.list_backups(stages, env)
    if not listed.ok:
        return pipeline.failed(command, stages, listed, f"cannot list the backups of {env}")
    backup = next((b for b in listed.stats["greenlight_backups"].get("backups", []) if b.get("file") == name), None)
    if backup is None:
        raise UsageError(f"{env} has no backup {name} (greenlight backups {env} lists them)")
    if backup.get("env") != env and backup.get("env") != force_from:
        raise UsageError(f"{name} is a backup of {backup.get('env')}, not of {env}: it would put "
                         f"{backup.get('env')}'s data into {env}'s database. Nothing was changed. If that is "
                         f"what you want: greenlight restore {env} {name} --force-from {backup.get('env')}")
    if not confirm(backup):
        return Outcome(command, ExitCode.FAILED, f"restore of {name} to {env} not confirmed; nothing was changed", stages)
    result = pipeline.stage(stages, f"restore {name} to {env}", "restore.yml", env,
                            {"restore_file": name, "restore_from": force_from})
    if not result.ok:
        return pipeline.failed(command, stages, result, f"restore of {name} to {env} failed")
    info = result.stats.get("greenlight_restore", {})
    restored, safety = info.get("restored", {}), info.get("safety", {})
    return Outcome(command, ExitCode.OK,
                   f"{env}: restored {name} ({contents(restored)}, checked after loading, {float(info.get('page_seconds') or 0):.0f} s behind "
                   f"the maintenance page); the database as it was is in {safety.get('file', '?')}",
                   stages, {"restore": info})
