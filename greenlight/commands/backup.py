"""greenlight backup ENV [--label WORD] [--scheduled] | greenlight backup verify ENV [BACKUP]."""

from __future__ import annotations

from ..pipeline import (ExitCode, LABEL, Outcome, Pipeline, Stage, UsageError, check_backup_name, check_env, contents)

NAME = "backup"
HELP = "back up an environment's database now; `backup verify ENV [BACKUP]` proves one restores"
USAGE = "greenlight backup [verify] ENV [BACKUP] [--label WORD]"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("target", nargs="+", metavar="[verify] ENV [BACKUP]",
                        help="ENV: take a backup; verify ENV [BACKUP]: restore BACKUP (default: the newest) "
                             "into a throwaway database and compare its rows with the dump's")
    parser.add_argument("--label", default="manual", help="word in a new backup's name (default: manual)")
    parser.add_argument("--scheduled", action="store_true",
                        help="what cron runs: the backup, its verification and restic check; a failure notifies")


def run(args, pipeline):
    verify, rest = (True, args.target[1:]) if args.target[0] == "verify" else (False, args.target)
    if not rest or len(rest) > (2 if verify else 1):
        raise UsageError("usage: greenlight backup ENV | greenlight backup verify ENV [BACKUP]")
    if verify:
        return verify_backup(pipeline, rest[0], rest[1] if len(rest) > 1 else "")
    return scheduled_backup(pipeline, rest[0]) if args.scheduled else backup(pipeline, rest[0], args.label)


def backup(pipeline: Pipeline, env: str, label: str = "manual") -> Outcome:
    """Dump and record the database now, under the environment's deploy lock."""
    check_env(env, pipeline.inventory_dir)
    if not LABEL.match(label):
        raise UsageError(f"backup label {label!r}: letters, digits and . _ - only (at most 40)")
    command = f"backup {env}"
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"backup {env}", "backup.yml", env, {"backup_label": label})
    if not result.ok:
        return pipeline.failed(command, stages, result, f"backup of {env} failed")
    info = result.stats.get("greenlight_backup", {})
    return Outcome(command, ExitCode.OK,
                   f"{env}: backed up {info.get('database', '?')} to {info.get('file', '?')} "
                   f"({contents(info)}, "
                   f"{info.get('size', 0) / 1048576:.1f} MiB)", stages, {"backup": info})


def scheduled_backup(pipeline: Pipeline, env: str) -> Outcome:
    """What cron runs (roles/backup/tasks/schedule.yml): a backup (stored in restic too), its
    verification in a throwaway database, and `restic check`; a failure notifies."""
    outcome = backup(pipeline, env, "scheduled")
    if outcome.code == ExitCode.OK:
        name = outcome.data["backup"].get("file", "")
        stages = list(outcome.stages)
        result = pipeline.stage(stages, f"verify backup of {env}", "verify-backup.yml", env,
                                {"backup_verify_file": name, "backup_restic_check": True})
        if result.ok:
            info = result.stats.get("greenlight_backup", {})
            outcome = Outcome(f"backup {env} --scheduled", ExitCode.OK,
                              f"{outcome.message}; it restores ({info.get('verified', {}).get('seconds', 0):.0f} s) "
                              f"and the restic repository checks", stages, {"backup": info})
        else:
            outcome = pipeline.failed(f"backup {env} --scheduled", stages, result,
                                      f"the scheduled backup {name} of {env} did not verify")
    if outcome.code != ExitCode.OK:
        pipeline.notify_outcome("backup", outcome, "scheduled", env)
    return outcome


def verify_backup(pipeline: Pipeline, env: str, name: str = "") -> Outcome:
    """Restore a backup (default: the newest) into a throwaway database and compare its rows."""
    check_env(env, pipeline.inventory_dir)
    if name:
        check_backup_name(name, env)
    command = f"backup verify {env}"
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"verify backup of {env}", "verify-backup.yml", env, {"backup_verify_file": name})
    if not result.ok:
        return pipeline.failed(command, stages, result, f"verification of {name or 'the newest backup'} of {env} failed")
    info = result.stats.get("greenlight_backup", {})
    return Outcome(command, ExitCode.OK,
                   f"{env}: {info.get('file', '?')} restores: {contents(info)}, as the dump holds "
                   f"({info.get('verified', {}).get('seconds', 0):.0f} s)", stages, {"backup": info})
