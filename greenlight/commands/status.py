"""greenlight status: both environments."""

from __future__ import annotations

import sys

NAME = "status"
HELP = "live version, color, health and last deploy of both environments"
READ_ONLY = True


def arguments(parser) -> None:
    pass


def run(args, pipeline):
    return pipeline.status()


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
