"""greenlight rollback ENV [VERSION]."""

from __future__ import annotations

import re

from .. import fast
from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, UsageError, check_env, check_version

NAME = "rollback"
HELP = "put the previous release (or a named earlier one) back"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("version", nargs="?", default="",
                        help="an earlier release of the environment: its version as deployed, or its commit "
                             "(default: the previous one)")


def run(args, pipeline):
    return rollback(pipeline, args.env, args.version)


def rollback(pipeline: Pipeline, env: str, version: str = "") -> Outcome:
    check_env(env, pipeline.inventory_dir)
    if version:
        # A name promote --latest recorded: <ref>@<commit[:12]>.
        check_version(version.split("@", 1)[0])
        if "@" in version and not re.fullmatch(r"[0-9a-f]{7,40}", version.split("@", 1)[1]):
            raise UsageError(f"{version!r} is not a release name: a version, or <ref>@<commit>")
    command = f"rollback {env}" + (f" {version}" if version else "")
    stages: list[Stage] = []
    described = pipeline.described(env)
    if described and not described.get("workers"):
        # One switch, here: no playbook to start (the workers, when the app has some, need one).
        wait = float(pipeline.extra_vars.get("greenlight_lock_wait", 0) or 0)
        instant = pipeline.quick(stages, f"rollback {env} (switch to the warm color)", env,
                                 lambda: fast.roll_back(described, pipeline.actor, version, wait, pipeline.runner.run_id),
                                 "greenlight_rollback")
    else:
        instant = pipeline.stage(stages, f"rollback {env} (switch to the warm color)", "rollback.yml", env,
                                 {"deploy_rollback_version": version})
    info = instant.stats.get("greenlight_rollback") or instant.data
    if instant.ok and info.get("mode") == "recovered":
        outcome = Outcome(command, ExitCode.OK,
                          f"{env}: the interrupted deploy of {info.get('from_version', '?')} was undone; "
                          f"{info.get('to_version', '?')} serves again ({info.get('color', '?')})",
                          stages, {"rollback": info})
    elif instant.ok:
        outcome = Outcome(command, ExitCode.OK,
                          f"{env}: rolled back from {info.get('from_version', '?')} to {info.get('to_version', '?')}",
                          stages, {"rollback": info})
    elif instant.code == "not_warm" and info.get("to_version"):
        # The old color is not warm any more: deploy the previous release again, the same commit.
        previous = info["to_version"]
        # The recorded commit is what is checked out; the name stays as it was recorded.
        redeploy = pipeline.stage(stages, f"redeploy {previous} to {env}", "deploy.yml", env,
                                  {"app_version": info.get("to_commit") or previous, "deploy_release_name": previous,
                                   "release_expected_commit": info.get("to_commit", "")})
        outcome = (Outcome(command, ExitCode.OK, f"{env}: rolled back to {previous} by a redeploy", stages,
                           {"rollback": info, "deploy": redeploy.stats.get("greenlight_deploy", {})})
                   if redeploy.ok else pipeline.failed(command, stages, redeploy, f"rollback of {env} failed"))
    else:
        outcome = pipeline.failed(command, stages, instant, f"rollback of {env} failed")
    pipeline.notify_outcome("rollback", outcome, outcome.data.get("rollback", {}).get("to_version", ""), env)
    return outcome
