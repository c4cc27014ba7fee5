"""What logs and exec share: the parts to complete on TAB, and docker on the located environment's host."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from .. import descriptor, host
from ..pipeline import ExitCode, Outcome, Pipeline, Stage, check_env
from ..runner import state_dir
from ..scrub import scrub


def complete_parts(prefix: str, parsed_args, **_: object) -> list[str]:
    """The environment's parts as its last playbook reported them, and greenlight's own."""
    names = descriptor.parts(state_dir(), Path(parsed_args.inventories), getattr(parsed_args, "env", "") or "")
    return [name for name in ("proxy", *names, "mysql") if name.startswith(prefix)]


def attach(args, outcome, act) -> int:
    """Once the environment is located: `act(environment, containers)`, docker on its host, in the foreground."""
    environment = host.Environment.from_report(outcome.data.get("locate", {}))
    # Ctrl-C ends the stream or reaches the command; nothing here to put back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        environment.list_containers()
        chosen = environment.select(args.part, args.color)
        if not chosen:
            raise host.HostError(f"{args.env} has no container (never deployed?)")
        return act(environment, chosen)
    except host.HostError as exc:
        sys.stderr.write(f"{args.command} {args.env}: {scrub(str(exc))}\n")
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)


def locate(pipeline: Pipeline, env: str, command: str) -> Outcome:
    """Where the environment's containers run (playbooks/locate.yml), for logs and exec."""
    check_env(env, pipeline.inventory_dir)
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"locate {env}", "locate.yml", env, {})
    if not result.ok:
        return pipeline.failed(command, stages, result, f"cannot find where {env} runs")
    return Outcome(command, ExitCode.OK, "", stages, {"locate": result.stats.get("greenlight_locate", {})})
