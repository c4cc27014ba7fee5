"""greenlight deploy ENV VERSION."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env, check_version, interruption_note

NAME = "deploy"
HELP = "deploy a release to one environment"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("version", help="tag, branch or commit of the app's repository")


def run(args, pipeline):
    return deploy(pipeline, args.env, args.version)


def deploy(pipeline: Pipeline, env: str, version: str) -> Outcome:
    check_env(env, pipeline.inventory_dir)
    check_version(version)
    command = f"deploy {env} {version}"
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"deploy {env}", "deploy.yml", env, {"app_version": version})
    if not result.ok:
        return pipeline.failed(command, stages, result, f"deploy of {version} to {env} failed")
    deployed = result.stats.get("greenlight_deploy", {})
    verb = "deployed" if deployed.get("changed") else "already live:"
    return Outcome(command, ExitCode.OK, f"{env}: {verb} {version} ({deployed.get('commit', '')[:12]})"
                   + interruption_note(deployed), stages, {"deploy": deployed})
