"""greenlight's commands, one module each (docs/commands.md): its name and help, its
arguments, whether it changes anything, its run and its rendering. greenlight/cli.py builds
the parser from COMMANDS and hands each parsed command to its module; adding a command is a
module here and its line in COMMANDS.

A module holds:
    NAME, HELP                      the command and its line in --help
    arguments(parser)               its arguments (the common options come from cli.py)
    READ_ONLY or read_only(args)    True: no host lock, no progress around its report
    run(args, pipeline) -> Outcome  what it does: its stages, run on greenlight/pipeline.py
and where it has them:
    USAGE                           argparse's usage line
    COMMON = False                  no common options (completion)
    render(args, outcome)           its report as text (--json prints outcome.data instead)
    warn(args, outcome)             warnings on stderr, with --json too (status, history)
    REPORTS_FAILURE = True          its report prints when it fails too (check)
    attach(args, outcome) -> int    what follows a located environment (logs, exec)
    direct(args) -> int | None      runs before any pipeline: an exit code, or None to go on
                                    as the command args names now (init goes on as check)
"""

from __future__ import annotations

from types import ModuleType

from . import (adopt, backup, backups, certificate, check, completion, deploy, execute, history, import_data, init, lock, logs, promote,
               prune, refresh_staging, restore, rollback, status, verify)

# --help lists them in this order.
COMMANDS: dict[str, ModuleType] = {module.NAME: module for module in (
    deploy, promote, verify, backup, certificate, restore, import_data, refresh_staging, backups, status, history, rollback, logs, execute,
    check, init, adopt, prune, completion, lock)}


def read_only(module: ModuleType, args: object) -> bool:
    return module.read_only(args) if hasattr(module, "read_only") else bool(getattr(module, "READ_ONLY", False))
