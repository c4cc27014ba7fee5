"""greenlight logs ENV [PART] [-f] [--since] [--tail] [--color]."""

from __future__ import annotations

import re

from .. import host
from ..pipeline import ENVIRONMENTS, UsageError
from .containers import attach as attach_to, complete_parts, locate

NAME = "logs"
HELP = "an environment's container logs: every part, or one"
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("part", nargs="?", default="", help="one of the app's parts, or proxy or mysql (default: every part)"
                        ).completer = complete_parts  # type: ignore[attr-defined]
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl-C ends)")
    parser.add_argument("--since", default="", help="only lines since: 10m, 2h, 2026-11-28T10:00:00 (default: the --tail newest)")
    parser.add_argument("--tail", default="100", help="lines of each container to start from (default: 100; all: every line)")
    parser.add_argument("--color", choices=host.COLOR_CHOICES, default="live",
                        help="which color's container of a part that has one per color (default: live)")


def run(args, pipeline):
    if not re.match(host.SINCE, args.since or "0"):
        raise UsageError(f"--since takes a duration (10m, 2h30m) or a time (2026-11-28T10:00:00), not {args.since!r}")
    if not re.match(r"^([0-9]+|all)$", args.tail):
        raise UsageError(f"--tail takes a number of lines or all, not {args.tail!r}")
    return locate(pipeline, args.env, f"logs {args.env}")


def attach(args, outcome) -> int:
    return attach_to(args, outcome, lambda environment, chosen: host.logs(
        environment, chosen, follow=args.follow, since=args.since, tail=args.tail))
