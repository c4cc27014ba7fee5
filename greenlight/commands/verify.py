"""greenlight verify ENV."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS

NAME = "verify"
HELP = "smoke checks through the environment's proxy"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)


def run(args, pipeline):
    return pipeline.verify(args.env)
