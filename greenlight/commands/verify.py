"""greenlight verify ENV."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env

NAME = "verify"
HELP = "smoke checks through the environment's proxy"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)


def run(args, pipeline):
    return verify(pipeline, args.env)


def verify(pipeline: Pipeline, env: str) -> Outcome:
    check_env(env, pipeline.inventory_dir)
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"verify {env}", "verify.yml", env, {})
    if not result.ok:
        return pipeline.failed(f"verify {env}", stages, result, f"{env} failed verification")
    return Outcome(f"verify {env}", ExitCode.OK, f"{env} passed verification", stages,
                   {"verify": result.stats.get("greenlight_verify", {})})
