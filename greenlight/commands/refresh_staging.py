"""greenlight refresh-staging [--yes]: staging's database from an anonymized copy of production's."""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, UsageError, check_env
from .restore import ask_restore

NAME = "refresh-staging"
HELP = "staging's database from an anonymized copy of production's newest backup (asks first)"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask (for scripts); without it, a terminal must answer")


def run(args, pipeline):
    if not args.yes and not sys.stdin.isatty():
        raise UsageError("greenlight refresh-staging asks before it replaces staging's database; "
                         "with no terminal to answer, pass --yes")
    return refresh_staging(pipeline, confirm=(lambda backup: True) if args.yes
                           else (lambda backup: ask_restore("staging", backup, anonymized=True)))


def refresh_staging(pipeline: Pipeline, confirm: Callable[[dict], bool] = lambda backup: False) -> Outcome:
    """Staging's database replaced by an anonymized copy of production's newest backup
    (docs/operations.md), once `confirm` (shown that backup) says yes."""
    command = "refresh-staging"
    for env in ENVIRONMENTS:
        check_env(env, pipeline.inventory_dir)
    stages: list[Stage] = []
    listed = pipeline.list_backups(stages, "production")
    if not listed.ok:
        return pipeline.failed(command, stages, listed, "cannot list the backups of production")
    found = listed.stats["greenlight_backups"].get("backups", [])
    if not found:
        raise UsageError("production has no backup to anonymize; take one first: greenlight backup production")
    if not confirm(found[0]):
        return Outcome(command, ExitCode.FAILED, "refresh of staging not confirmed; nothing was changed", stages)
    anonymized = pipeline.stage(stages, "anonymize production's newest backup", "anonymize.yml", "production", {})
    if not anonymized.ok:
        return pipeline.failed(command, stages, anonymized, "anonymizing production's newest backup failed; "
                                                            "staging was not touched")
    copy = anonymized.stats.get("greenlight_anonymized", {})
    result = pipeline.stage(stages, "restore the anonymized copy to staging", "restore.yml", "staging",
                            {"restore_import": copy.get("file", "")})
    if not result.ok:
        return pipeline.failed(command, stages, result, "restoring the anonymized copy to staging failed")
    info = result.stats.get("greenlight_restore", {})
    restored = info.get("restored", {})
    return Outcome(command, ExitCode.OK,
                   f"staging: restored an anonymized copy of production's {copy.get('source', {}).get('file', '?')} "
                   f"({restored.get('rows', 0)} rows, kept as {restored.get('file', '?')}); staging's database as it "
                   f"was is in {info.get('safety', {}).get('file', '?')}", stages, {"restore": info, "anonymized": copy})
