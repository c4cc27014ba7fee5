"""greenlight backups ENV."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env

NAME = "backups"
HELP = "an environment's backups, newest first"
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)


def run(args, pipeline):
    return backups(pipeline, args.env)


def render(args, outcome) -> None:
    for backup in outcome.data.get("backups", []):
        release = backup.get("release") or {}
        print(f"{backup.get('created', '?'):<21} {backup.get('file', '?'):<52} {backup.get('size', 0) / 1048576:>8.1f} MiB"
              f" {backup.get('rows', 0):>10} rows  release {release.get('version') or '-'}")
    if outcome.data.get("leftovers"):
        print(f"({outcome.data['leftovers']} files of interrupted backups; the next backup removes those an hour old)")


def backups(pipeline: Pipeline, env: str) -> Outcome:
    check_env(env, pipeline.inventory_dir)
    stages: list[Stage] = []
    result = pipeline.list_backups(stages, env)
    if not result.ok:
        return pipeline.failed(f"backups {env}", stages, result, f"cannot list the backups of {env}")
    return Outcome(f"backups {env}", ExitCode.OK, "", stages, result.stats["greenlight_backups"])
