"""greenlight check [ENV]: every problem, changing nothing; its report prints even when problems are found."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS
from ..scrub import scrub

NAME = "check"
HELP = "every problem of the inventories, the vault and the hosts, changing nothing"
READ_ONLY = True
# The report is the answer, problems or not.
REPORTS_FAILURE = True


def arguments(parser) -> None:
    parser.add_argument("env", nargs="?", default="", choices=("", *ENVIRONMENTS), help="one environment (default: both)")


def run(args, pipeline):
    return pipeline.check(args.env)


def render(args, outcome) -> None:
    for env, found in outcome.data.get("problems", {}).items():
        print(f"{env:<11} " + ("ok" if not found else f"{len(found)} problem{'s' if len(found) > 1 else ''}"))
        for problem in found:
            print(f"  - {scrub(problem)}")
