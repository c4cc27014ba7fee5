"""greenlight refresh-staging [--yes]: staging's database from an anonymized copy of production's."""

from __future__ import annotations

import sys

from ..pipeline import UsageError
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
    return pipeline.refresh_staging(
        confirm=(lambda backup: True) if args.yes else (lambda backup: ask_restore("staging", backup, anonymized=True)))
