"""greenlight history ENV [--limit N]."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS
from .status import warn_skipped

NAME = "history"
HELP = "deploys, promotions and rollbacks of an environment"
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("--limit", type=int, default=20)


def run(args, pipeline):
    return pipeline.history(args.env, args.limit)


def warn(args, outcome) -> None:
    warn_skipped([(args.env, outcome.data)])


def render(args, outcome) -> None:
    for record in outcome.data.get("history", []):
        print(f"{record.get('ended', '?'):<21} {record.get('kind', 'deploy'):<9} {record.get('version', '?'):<14}"
              f" {record.get('outcome', '?'):<11} {str(record.get('commit', ''))[:12]:<13}"
              f" by {record.get('actor', '?')}  {record.get('error', '')[:80]}")
