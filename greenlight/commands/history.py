"""greenlight history ENV [--limit N]."""

from __future__ import annotations

from .. import fast
from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env
from .status import warn_skipped

NAME = "history"
HELP = "deploys, promotions and rollbacks of an environment"
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("--limit", type=int, default=20)


def run(args, pipeline):
    return history(pipeline, args.env, args.limit)


def warn(args, outcome) -> None:
    warn_skipped([(args.env, outcome.data)])


def render(args, outcome) -> None:
    for record in outcome.data.get("history", []):
        print(f"{record.get('ended', '?'):<21} {record.get('kind', 'deploy'):<9} {record.get('version', '?'):<14}"
              f" {record.get('outcome', '?'):<11} {str(record.get('commit', ''))[:12]:<13}"
              f" by {record.get('actor', '?')}  {record.get('error', '')[:80]}")


def history(pipeline: Pipeline, env: str, limit: int) -> Outcome:
    check_env(env, pipeline.inventory_dir)
    stages: list[Stage] = []
    described = pipeline.described(env)
    if described:
        result = pipeline.quick(stages, f"history {env}", env, lambda: fast.report(described, limit), "greenlight_status")
    else:
        result = pipeline.stage(stages, f"history {env}", "status.yml", env, {"deploy_status_history": limit})
    if not result.ok:
        return pipeline.failed(f"history {env}", stages, result, f"cannot read the history of {env}")
    report = result.stats.get("greenlight_status", {})
    return Outcome(f"history {env}", ExitCode.OK, "", stages,
                   {"history": report.get("history", []), "history_skipped": report.get("history_skipped", 0)})
