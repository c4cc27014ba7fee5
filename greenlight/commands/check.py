"""greenlight check [ENV]: every problem, changing nothing; its report prints even when problems are found."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env, settings
from ..scrub import scrub

NAME = "check"
HELP = "every problem of the inventories, the vault and the hosts, changing nothing"
READ_ONLY = True
# The report is the answer, problems or not.
REPORTS_FAILURE = True


def arguments(parser) -> None:
    parser.add_argument("env", nargs="?", default="", choices=("", *ENVIRONMENTS), help="one environment (default: both)")


def run(args, pipeline):
    return check(pipeline, args.env)


def render(args, outcome) -> None:
    for env, found in outcome.data.get("problems", {}).items():
        print(f"{env:<11} " + ("ok" if not found else f"{len(found)} problem{'s' if len(found) > 1 else ''}"))
        for problem in found:
            print(f"  - {scrub(problem)}")


def check(pipeline: Pipeline, env: str = "") -> Outcome:
    """Every problem of the inventories, the vault and the hosts (playbooks/check.yml), changing nothing."""
    command = "check" + (f" {env}" if env else "")
    pipeline.pair_checked = True  # the pair's problems are listed below, with the others
    names = [env] if env else list(ENVIRONMENTS)
    report: dict[str, list[str]] = {}
    variables: dict[str, dict] = {}
    for name in names:
        check_env(name, pipeline.inventory_dir)
        try:
            variables[name] = pipeline.runner.settings(name, pipeline.extra_vars)
        except ValueError as exc:
            report[name] = [str(exc)]
    if not env and len(variables) == 2:
        report["both"] = settings.pair_problems(variables["staging"], variables["production"])
    stages: list[Stage] = []
    for name in names:
        if name not in variables:
            continue  # its inventory cannot be read: nothing more to ask
        ports = {key: variables[name][key] for key in settings.PUBLISHED_PORTS if key in variables[name]}
        result = pipeline.stage(stages, f"check {name}", "check.yml", name, {"preflight_ports": ports})
        if result.ok:
            report[name] = result.stats.get("greenlight_check", {}).get("problems", [])
        elif result.unreachable:
            return pipeline.failed(command, stages, result, f"cannot check {name}")
        else:
            report[name] = [result.stats.get("greenlight_result", {}).get("message") or result.error]
    count = sum(len(found) for found in report.values())
    return Outcome(command, ExitCode.USAGE if count else ExitCode.OK,
                   f"{count} problem{'s' if count != 1 else ''} found" if count else "no problem found",
                   stages, {"problems": report})
