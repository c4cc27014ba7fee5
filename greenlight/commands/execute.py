"""greenlight exec ENV PART [--color] [--user] -- COMMAND..."""

from __future__ import annotations

import re

from .. import host
from ..pipeline import ENVIRONMENTS, UsageError
from .containers import attach as attach_to, complete_parts, locate

NAME = "exec"
HELP = "run a command in one of an environment's containers"
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("part", help="one of the app's parts, or proxy or mysql").completer = complete_parts  # type: ignore[attr-defined]
    parser.add_argument("--color", choices=host.COLOR_CHOICES, default="live",
                        help="which color's container of a part that has one per color (default: live)")
    parser.add_argument("--user", default="", metavar="USER[:GROUP]",
                        help="run it as this user (name or uid), e.g. root (default: the image's user)")
    parser.add_argument("argv", nargs="*", metavar="COMMAND", help="the command and its arguments")


def run(args, pipeline):
    if not args.argv:
        raise UsageError("exec needs a command: greenlight exec ENV PART -- COMMAND...")
    if args.user and not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$", args.user):
        raise UsageError(f"--user takes a user name or uid, optionally :group, not {args.user!r}")
    return locate(pipeline, args.env, f"exec {args.env}")


def attach(args, outcome) -> int:
    return attach_to(args, outcome, lambda environment, chosen: host.execute(environment, chosen[0], args.argv,
                                                                              user=args.user))
