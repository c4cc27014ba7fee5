"""greenlight rollback ENV [VERSION]."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS

NAME = "rollback"
HELP = "put the previous release (or a named earlier one) back"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("version", nargs="?", default="",
                        help="an earlier release of the environment: its version as deployed, or its commit "
                             "(default: the previous one)")


def run(args, pipeline):
    return pipeline.rollback(args.env, args.version)
