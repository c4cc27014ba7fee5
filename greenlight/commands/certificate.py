"""greenlight certificate ENV [--scheduled]."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env

NAME = "certificate"
HELP = "renew an environment's HTTPS certificate from its ACME server when it is due (what cron runs)"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("--scheduled", action="store_true",
                        help="what cron runs: the same, and a failure notifies (the old certificate keeps serving)")


def run(args, pipeline):
    outcome = certificate(pipeline, args.env)
    if args.scheduled and outcome.code != ExitCode.OK:
        pipeline.notify_outcome("certificate", outcome, "scheduled", args.env)
    return outcome


def held_text(held: dict) -> str:
    return (f"{', '.join(held.get('names', [])) or '?'} until {held.get('not_after', '?')} "
            f"({held.get('days_left', '?')} days)")


def certificate(pipeline: Pipeline, env: str) -> Outcome:
    """Renew the certificate when it is due (proxy_acme_renew_days before its end), under the deploy lock."""
    check_env(env, pipeline.inventory_dir)
    command = f"certificate {env}"
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"certificate of {env}", "certificate.yml", env, {})
    if not result.ok:
        return pipeline.failed(command, stages, result,
                               f"the certificate of {env} was not renewed; the proxy serves the one it had")
    info = result.stats.get("greenlight_certificate", {})
    held = info.get("held", {})
    done = "renewed" if info.get("renewed") else f"not due: {info.get('reason', '?')}"
    return Outcome(command, ExitCode.OK, f"{env}: {held_text(held)}, {done}", stages, {"certificate": info})
