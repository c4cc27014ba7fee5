"""greenlight status: both environments."""

from __future__ import annotations

import sys

from .. import fast
from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env, classify
from .certificate import held_text

NAME = "status"
HELP = "live version, color, health and last deploy of both environments"
READ_ONLY = True


def arguments(parser) -> None:
    pass


def run(args, pipeline):
    return status(pipeline)


def warn(args, outcome) -> None:
    warn_skipped(outcome.data.items())


def warn_skipped(reports) -> None:
    """A history line that is not a record (a hand edit, a disk error) is skipped, never fatal; say so."""
    for env, report in reports:
        if report.get("history_skipped"):
            sys.stderr.write(f"warning: {report['history_skipped']} line(s) of {env}'s history are not records "
                             "and were skipped\n")


def render(args, outcome) -> None:
    for env, report in outcome.data.items():
        if "error" in report:
            print(f"{env:<11} unknown: {report['error']}")
            continue
        live, idle = report.get("live", {}), report.get("idle", {})
        last = (report.get("history") or [{}])[-1]
        lock = report.get("lock") or {}
        print(f"{env:<11} live {live.get('version') or '-'} on {live.get('color') or '-'}"
              f" ({'healthy' if live.get('healthy') else 'NOT HEALTHY'});"
              f" {idle.get('color') or 'idle color'} {'warm with ' + idle.get('version', '') if idle.get('warm') else 'not warm'};"
              f" last {last.get('kind', '-')} {last.get('version', '')} {last.get('outcome', '')} {last.get('ended', '')}"
              + (f"; locked by {lock.get('description', '?')}" if lock else ""))
        if "alerts" in report:
            firing = ", ".join(f"{a.get('name')} ({a.get('severity') or '-'})" for a in report["alerts"]) or "none firing"
            print(f"{'':<11} alerts: {firing if report.get('monitoring') else 'unknown (no monitoring stack answers)'}")
        held = report.get("certificate") or {}
        if held:
            print(f"{'':<11} certificate: {held_text(held)}{', self-signed' if held.get('self_signed') else ''}")


def status(pipeline: Pipeline) -> Outcome:
    stages: list[Stage] = []
    report: dict[str, dict] = {}
    codes = []
    for env in ENVIRONMENTS:
        check_env(env, pipeline.inventory_dir)
        described = pipeline.described(env)
        if described:
            result = pipeline.quick(stages, f"status {env}", env, lambda: fast.report(described, 20), "greenlight_status")
        else:
            result = pipeline.stage(stages, f"status {env}", "status.yml", env, {})
        report[env] = result.stats.get("greenlight_status", {}) if result.ok else {"error": result.error}
        codes.append(classify(result))
    code = next((c for c in codes if c != ExitCode.OK), ExitCode.OK)
    return Outcome("status", code, "", stages, report)
