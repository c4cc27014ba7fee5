"""The greenlight command: parses, prints, and exits with a documented code.

    greenlight deploy ENV VERSION
    greenlight promote VERSION | --latest [--ref BRANCH]
    greenlight verify ENV
    greenlight status
    greenlight history ENV [--limit N]
    greenlight rollback ENV

Exit codes: 0 ok (or nothing to do), 1 a stage failed, 2 bad input, 3 host or Docker
unreachable, 4 nothing to roll back to, 75 another greenlight run holds the lock.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TextIO

import yaml

from .lock import HostLock, LockHeld
from .pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, UsageError
from .runner import Runner

PROJECT_DIR = Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    configured = os.environ.get("GREENLIGHT_STATE_DIR")
    if configured:
        return Path(configured)
    return Path("/var/lib/greenlight") if os.geteuid() == 0 else Path.home() / ".local/state/greenlight"


class Output:
    """Live progress on a terminal, plain lines elsewhere, nothing but failures with --quiet; all of it in the log."""

    def __init__(self, quiet: bool, log_path: Path, stream: TextIO = sys.stdout) -> None:
        self.quiet = quiet
        self.stream = stream
        self.live = stream.isatty() and not quiet
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "a", buffering=1)
        self.stage = ""

    def progress(self, kind: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {kind}: {text}\n")
        if kind == "stage":
            self.stage = text
        if self.quiet:
            return
        if self.live:
            if kind == "stage":
                self.stream.write(f"\r\033[K{stamp} ▶ {text}\n")
            elif kind == "verdict":
                self.stream.write(f"\r\033[K{stamp}   {text}\n")
            else:
                self.stream.write(f"\r\033[K{stamp}   {self.stage}: {text[:100]}")
            self.stream.flush()
        else:
            self.stream.write(f"{stamp} {'==' if kind == 'stage' else '  '} {text}\n")

    def finish(self, outcome: Outcome, notify_errors: list[str]) -> None:
        lines = [f"{outcome.command}: {'ok' if outcome.code == ExitCode.OK else 'FAILED'}"
                 + (f" - {outcome.message}" if outcome.message else "")]
        lines += [f"  {stage.name:<45} {stage.seconds:7.1f} s  {'ok' if stage.ok else 'failed'}"
                  for stage in outcome.stages]
        lines += [f"  notification failed: {error}" for error in notify_errors]
        text = "\n".join(lines) + "\n"
        self.log.write(text)
        failed = outcome.code != ExitCode.OK
        if self.live:
            self.stream.write("\r\033[K")
        if failed:
            sys.stderr.write(text)
        elif not self.quiet and not outcome.quiet_ok:
            self.stream.write(text)
        self.log.close()


def add_common_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options taken before or after the command (`greenlight promote --latest --quiet` in a crontab)."""
    # A subcommand's own defaults would overwrite what was given before the command.
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--quiet", action="store_true", default=default(False), help="print only on failure (for cron)")
    parser.add_argument("--log-file", type=Path, default=default(None),
                        help="append progress here (default: STATE_DIR/greenlight.log)")
    parser.add_argument("--json", action="store_true", default=default(False), help="print status and history as JSON")
    parser.add_argument("--inventories", type=Path,
                        default=default(Path(os.environ.get("GREENLIGHT_INVENTORIES", PROJECT_DIR / "inventories"))),
                        help="folder holding the staging/ and production/ inventories (default: the project's own)")
    # Extra vars after the command go to their own list, so they add to those before it.
    parser.add_argument("-e", "--extra-vars", action="append", default=default([]), metavar="KEY=VALUE|@FILE",
                        dest="extra_vars_after" if suppress else "extra_vars",
                        help="variables for every playbook, as ansible-playbook -e takes them (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenlight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    add_common_options(common, suppress=True)

    deploy = commands.add_parser("deploy", parents=[common], help="deploy a release to one environment")
    deploy.add_argument("env", choices=ENVIRONMENTS)
    deploy.add_argument("version", help="tag, branch or commit of the app's repository")

    promote = commands.add_parser("promote", parents=[common], help="staging deploy, verify staging, production deploy of the same images")
    target = promote.add_mutually_exclusive_group(required=True)
    target.add_argument("version", nargs="?", help="tag, branch or commit of the app's repository")
    target.add_argument("--latest", action="store_true", help="the newest commit of --ref; exit 0 quietly when it is live")
    promote.add_argument("--ref", default="main", help="branch (or tag) --latest follows (default: main)")

    verify = commands.add_parser("verify", parents=[common], help="smoke checks through the environment's proxy")
    verify.add_argument("env", choices=ENVIRONMENTS)

    commands.add_parser("status", parents=[common], help="live version, color, health and last deploy of both environments")

    history = commands.add_parser("history", parents=[common], help="deploys, promotions and rollbacks of an environment")
    history.add_argument("env", choices=ENVIRONMENTS)
    history.add_argument("--limit", type=int, default=20)

    rollback = commands.add_parser("rollback", parents=[common], help="put the previous release back")
    rollback.add_argument("env", choices=ENVIRONMENTS)
    return parser


def parse_extra_vars(items: list[str]) -> dict:
    variables: dict = {}
    for item in items:
        if item.startswith("@"):
            try:
                loaded = yaml.safe_load(Path(item[1:]).read_text())
            except (OSError, yaml.YAMLError) as exc:
                raise UsageError(f"cannot read extra vars {item[1:]}: {exc}") from None
            if not isinstance(loaded, dict):
                raise UsageError(f"extra vars file {item[1:]} must hold a mapping")
            variables.update(loaded)
        elif "=" in item:
            key, value = item.split("=", 1)
            variables[key] = value
        else:
            raise UsageError(f"extra vars must be KEY=VALUE or @FILE, got {item!r}")
    return variables


def run_command(args: argparse.Namespace, pipeline: Pipeline) -> Outcome:
    if args.command == "deploy":
        return pipeline.deploy(args.env, args.version)
    if args.command == "promote":
        return pipeline.promote_latest(args.ref) if args.latest else pipeline.promote(args.version)
    if args.command == "verify":
        return pipeline.verify(args.env)
    if args.command == "status":
        return pipeline.status()
    if args.command == "history":
        return pipeline.history(args.env, args.limit)
    return pipeline.rollback(args.env)


def print_report(args: argparse.Namespace, outcome: Outcome) -> None:
    if args.json:
        print(json.dumps(outcome.data, indent=2))
    elif args.command == "status":
        for env, report in outcome.data.items():
            if "error" in report:
                print(f"{env:<11} unknown: {report['error']}")
                continue
            live, idle = report.get("live", {}), report.get("idle", {})
            last = (report.get("history") or [{}])[-1]
            print(f"{env:<11} live {live.get('version') or '-'} on {live.get('color') or '-'}"
                  f" ({'healthy' if live.get('healthy') else 'NOT HEALTHY'});"
                  f" {idle.get('color') or 'idle color'} {'warm with ' + idle.get('version', '') if idle.get('warm') else 'not warm'};"
                  f" last {last.get('kind', '-')} {last.get('version', '')} {last.get('outcome', '')} {last.get('ended', '')}")
    elif args.command == "history":
        for record in outcome.data.get("history", []):
            print(f"{record.get('ended', '?'):<21} {record.get('kind', 'deploy'):<9} {record.get('version', '?'):<14}"
                  f" {record.get('outcome', '?'):<8} {str(record.get('commit', ''))[:12]:<13}"
                  f" by {record.get('actor', '?')}  {record.get('error', '')[:80]}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_path = args.log_file or state_dir() / "greenlight.log"
    read_only = args.command in ("status", "history")
    # A report prints itself; its progress would only be noise around it.
    output = Output(args.quiet or read_only, log_path)
    command_line = "greenlight " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    output.progress("start", command_line)
    try:
        inventories = args.inventories.resolve()
        pipeline = Pipeline(Runner(PROJECT_DIR, inventories, progress=output.progress), inventories,
                            progress=output.progress,
                            extra_vars=parse_extra_vars(args.extra_vars + getattr(args, "extra_vars_after", [])))
        if read_only:
            outcome = run_command(args, pipeline)
        else:
            with HostLock(state_dir() / "greenlight.lock", command_line):
                outcome = run_command(args, pipeline)
    except LockHeld as exc:
        outcome = Outcome(args.command, ExitCode.LOCKED, str(exc))
    except UsageError as exc:
        output.finish(Outcome(args.command, ExitCode.USAGE, str(exc)), [])
        return int(ExitCode.USAGE)
    output.finish(outcome, pipeline.notify_errors)
    if outcome.code == ExitCode.OK:
        print_report(args, outcome)
    return int(outcome.code)


if __name__ == "__main__":
    raise SystemExit(main())
