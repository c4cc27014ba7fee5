"""The greenlight command: parses, prints, and exits with a documented code.

Every command is listed below; `greenlight COMMAND --help` shows its arguments.

Exit codes: 0 ok (or nothing to do), 1 a stage failed, 2 bad input, 3 host or Docker
unreachable, 4 nothing to roll back to, 75 another run holds the lock, 130/143 stopped by
SIGINT/SIGTERM (the environment was put back on its recorded release).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import argcomplete
import yaml

from . import PROJECT_DIR, __version__, commands
from .commands import COMMANDS
from .lock import HOST_LOCK, HostLock, LockHeld
from .notify import Notice, NotifyConfig, notify
from .pipeline import ExitCode, Interrupted, Outcome, Pipeline, UsageError, settings
from .runner import Runner, state_dir, state_dir_problem
from .scrub import scrub, scrub_data

# A second signal this soon after the first kills at once; later ones are ignored while recovery runs.
HARD_STOP_WINDOW_S = 5.0
# Default of greenlight_lock_alert_minutes: a run holding the host lock this long sends one notification.
LOCK_ALERT_MINUTES = 60.0


class Output:
    """Live progress on a terminal, plain lines elsewhere, nothing but failures with --quiet; all of it in the log."""

    def __init__(self, quiet: bool, log_path: Path, stream: TextIO = sys.stdout) -> None:
        self.quiet = quiet
        self.stream = stream
        self.live = stream.isatty() and not quiet
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # 0600: the log names hosts, releases and errors, for root's eyes only.
        descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(descriptor, 0o600)
        self.log = os.fdopen(descriptor, "a", buffering=1)
        self.stage = ""

    def progress(self, kind: str, text: str) -> None:
        text = scrub(text)
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

    def notice(self, text: str) -> None:
        """A line the person who sent a signal must see at once, quiet or not."""
        self.log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} signal: {text}\n")
        sys.stderr.write(f"\r\033[K{text}\n" if self.live else f"{text}\n")
        sys.stderr.flush()

    def finish(self, outcome: Outcome, notify_errors: list[str], verbose: bool = False,
               record_errors: tuple[str, ...] | list[str] = ()) -> None:
        lines = [f"{outcome.command}: {'ok' if outcome.code == ExitCode.OK else 'FAILED'}"
                 + (f" - {outcome.message}" if outcome.message else "")]
        lines += [f"  {stage.name:<45} {stage.seconds:7.1f} s  {'ok' if stage.ok else 'failed'}"
                  for stage in outcome.stages]
        lines += [f"  notification failed: {error}" for error in notify_errors]
        lines += [f"  {error}" for error in record_errors]
        text = scrub("\n".join(lines) + "\n")
        self.log.write(text)
        # A lost history record is printed even under --quiet: promote --latest decides from it.
        failed = outcome.code != ExitCode.OK or bool(record_errors)
        if self.live:
            self.stream.write("\r\033[K")
        if failed:
            sys.stderr.write(text)
        elif outcome.quiet_ok:
            if verbose:
                self.stream.write(lines[0] + "\n")
        elif not self.quiet:
            self.stream.write(text)
        self.log.close()


class Stopper:
    """SIGINT and SIGTERM stop a run the way a failure does: the playbook running is
    cancelled and the environment put back on its recorded release, then greenlight exits
    130/143. A second signal within HARD_STOP_WINDOW_S kills at once (the next run recovers)."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.signum = 0
        self.first = 0.0

    def install(self) -> None:
        signal.signal(signal.SIGINT, self.handle)
        signal.signal(signal.SIGTERM, self.handle)

    def requested(self) -> int:
        return self.signum

    def handle(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if not self.signum:
            self.signum, self.first = signum, time.monotonic()
            self.output.notice(f"greenlight: {name}: stopping; the environment goes back to its recorded release "
                               f"(a second signal within {HARD_STOP_WINDOW_S:.0f} s stops at once, and the next "
                               "run recovers)")
            return
        if time.monotonic() - self.first <= HARD_STOP_WINDOW_S:
            self.output.notice(f"greenlight: {name} again: stopping at once; the next run recovers")
            kill_children()
            os._exit(128 + signum)
        self.output.notice(f"greenlight: {name}: already stopping, putting the environment back")


def kill_children() -> None:
    """SIGKILL every process group a child of ours leads (ansible-runner starts each playbook in its own)."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[1] == me:
            try:
                os.killpg(int(entry.name), signal.SIGKILL)
            except OSError:
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except OSError:
                    pass


class LockAlert:
    """One notification when this run has held the host lock longer than greenlight_lock_alert_minutes."""

    def __init__(self, runner: Runner, extra_vars: dict, command: str) -> None:
        self.runner = runner
        self.extra_vars = extra_vars
        self.command = command
        self.done = threading.Event()
        self.sent: list[str] = []
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> LockAlert:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()

    def _watch(self) -> None:
        started = time.monotonic()
        try:
            variables = self.runner.settings("production", self.extra_vars)
            minutes = float(variables.get("greenlight_lock_alert_minutes", LOCK_ALERT_MINUTES))
            config = NotifyConfig.from_vars(variables)
        except Exception:  # noqa: BLE001 - best effort: the run's own notification reports bad settings
            return
        if self.done.wait(max(0.0, minutes * 60 - (time.monotonic() - started))):
            return
        notice = Notice(kind="lock", outcome="held too long", env="this host", version="",
                        summary=f"'{self.command}' (pid {os.getpid()}) has held greenlight's host lock for "
                                f"{minutes:g} minutes; every other run is refused until it ends. If it hangs, "
                                "stop it (SIGTERM puts the environment back on its recorded release).")
        self.sent = notify(config, notice) or ["sent"]


def add_common_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options taken before or after the command (`greenlight promote --latest --quiet` in a crontab)."""
    # A subcommand's own defaults would overwrite what was given before the command.
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--quiet", action="store_true", default=default(False), help="print only on failure (for cron)")
    parser.add_argument("--verbose", action="store_true", default=default(False),
                        help="with --quiet, still print the one line of a run that had nothing to do")
    parser.add_argument("--log-file", type=Path, default=default(None),
                        help="append progress here (default: STATE_DIR/greenlight.log)"
                        ).completer = argcomplete.completers.FilesCompleter()  # type: ignore[attr-defined]
    parser.add_argument("--json", action="store_true", default=default(False), help="print reports as JSON")
    parser.add_argument("-v", "--ansible-verbose", action="count", default=default(0), dest="verbosity",
                        help="also print Ansible's own output, unfiltered (-vv, -vvv: Ansible's verbosity)")
    parser.add_argument("--wait", type=float, default=default(0.0), metavar="SECONDS",
                        help="wait this long for another run's lock instead of exiting 75")
    inventories = parser.add_argument(
        "--inventories", type=Path, default=default(Path(os.environ.get("GREENLIGHT_INVENTORIES", PROJECT_DIR / "inventories"))),
        help="folder holding the staging/ and production/ inventories (default: the project's own)")
    inventories.completer = argcomplete.completers.DirectoriesCompleter()  # type: ignore[attr-defined]
    # Extra vars after the command go to their own list, so they add to those before it.
    parser.add_argument("-e", "--extra-vars", action="append", default=default([]), metavar="KEY=VALUE|@FILE",
                        dest="extra_vars_after" if suppress else "extra_vars",
                        help="variables for every playbook, as ansible-playbook -e takes them (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenlight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"greenlight {__version__}")
    add_common_options(parser, suppress=False)
    subparsers = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    add_common_options(common, suppress=True)

    for module in COMMANDS.values():
        command = subparsers.add_parser(module.NAME, parents=[common] if getattr(module, "COMMON", True) else [],
                                      help=module.HELP, usage=getattr(module, "USAGE", None))
        module.arguments(command)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; exec's command is everything after its `--`, whatever it looks like."""
    command: list[str] = []
    if "exec" in argv and "--" in argv[argv.index("exec"):]:
        cut = argv.index("--", argv.index("exec"))
        argv, command = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    if args.command == "exec":
        args.argv = args.argv + command
    return args


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
    # Ansible templates extra vars where they are used: a value with a Jinja marker would run.
    for key, value in variables.items():
        problem = settings.template_problem(str(key), value)
        if problem:
            raise UsageError(problem)
    return variables


# An extra var whose name says it holds a secret (a webhook's URL carries its token) is logged without its value.
SECRET_NAME = re.compile(r"(password|secret|token|key|url)", re.I)


def redacted(argv: list[str], secrets: list[str] | None = None) -> list[str]:
    """The command line as it goes into the log and the lock: every `-e NAME=VALUE` form
    (`-e N=V`, `-eN=V`, `--extra-vars N=V`, `--extra-vars=N=V`) with a secret's value hidden (a
    secret belongs in the vault; one given on the command line must not reach the log), and
    URLs without their credentials. `secrets`: the values of the extra vars as argparse read
    them, whatever form they came in (an abbreviated option, bundled flags), hidden too."""
    def assignment(text: str) -> str:
        name, equals, _value = text.partition("=")
        return f"{name}=******" if equals and SECRET_NAME.search(name) else scrub(text)

    shown, value_follows = [], False
    for arg in argv:
        if value_follows:
            shown.append(assignment(arg))
            value_follows = False
        elif arg in ("-e", "--extra-vars"):
            shown.append(arg)
            value_follows = True
        elif arg.startswith("--extra-vars="):
            shown.append("--extra-vars=" + assignment(arg.removeprefix("--extra-vars=")))
        elif arg.startswith("-e") and not arg.startswith("--"):
            shown.append("-e" + assignment(arg[2:].removeprefix("=")))
        else:
            shown.append(assignment(arg) if not arg.startswith("-") else scrub(arg))
    for value in sorted((v for v in secrets or [] if len(v) >= 4), key=len, reverse=True):
        shown = [arg.replace(value, "******") for arg in shown]
    return shown


def secret_values(items: list[str]) -> list[str]:
    """The values of `-e NAME=VALUE` items whose name says they hold a secret."""
    return [item.split("=", 1)[1] for item in items
            if "=" in item and not item.startswith("@") and SECRET_NAME.search(item.split("=", 1)[0])]


def run_command(args: argparse.Namespace, pipeline: Pipeline) -> Outcome:
    return COMMANDS[args.command].run(args, pipeline)


def print_report(args: argparse.Namespace, outcome: Outcome) -> None:
    """The command's report: outcome.data as JSON with --json, else the command's own text."""
    # Records and reports hold text from outside (an app's output in a failure): scrubbed here.
    outcome = dataclasses.replace(outcome, data=scrub_data(outcome.data))
    module = COMMANDS[args.command]
    if hasattr(module, "warn"):
        module.warn(args, outcome)
    if args.json:
        print(json.dumps(outcome.data, indent=2))
    elif hasattr(module, "render"):
        module.render(args, outcome)


def main(argv: list[str] | None = None) -> int:
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (completion_script); answers and exits
        argcomplete.autocomplete(build_parser(), always_complete_options=False)
    args = parse_args(list(argv if argv is not None else sys.argv[1:]))
    module = COMMANDS[args.command]
    if hasattr(module, "direct"):
        code = module.direct(args)
        if code is not None:
            return code
        module = COMMANDS[args.command]  # init goes on as check
    log_path = args.log_file or state_dir() / "greenlight.log"
    read_only = commands.read_only(module, args)
    # A report prints itself; its progress would only be noise around it.
    output = Output(args.quiet or read_only, log_path)
    stopper = Stopper(output)
    stopper.install()
    given = args.extra_vars + getattr(args, "extra_vars_after", [])
    command_line = "greenlight " + " ".join(
        shlex.quote(a) for a in redacted(argv if argv is not None else sys.argv[1:], secret_values(given)))
    output.progress("start", command_line)
    host_lock = state_dir() / HOST_LOCK
    pipeline = None
    try:
        inventories = args.inventories.resolve()
        extra_vars = parse_extra_vars(args.extra_vars + getattr(args, "extra_vars_after", []))
        if args.wait:
            extra_vars.setdefault("greenlight_lock_wait", int(args.wait))
        if problem := state_dir_problem(state_dir()):
            raise UsageError(problem)
        runner = Runner(PROJECT_DIR, inventories, state_dir(), progress=output.progress, cancelled=stopper.requested,
                        verbosity=args.verbosity)
        pipeline = Pipeline(runner, inventories, progress=output.progress, extra_vars=extra_vars,
                            stop_requested=stopper.requested)

        def execute() -> Outcome:
            try:
                return run_command(args, pipeline)
            except Interrupted as stop:
                # Still holding the host lock: put the environment back before anyone else runs.
                code = ExitCode.INTERRUPTED if stop.signum == signal.SIGINT else ExitCode.TERMINATED
                return pipeline.recover(stop) if stop.env else Outcome(args.command, code, str(stop))

        if read_only:
            outcome = execute()
        else:
            with HostLock(host_lock, command_line, wait=args.wait), LockAlert(runner, extra_vars, command_line):
                outcome = execute()
    except LockHeld as exc:
        outcome = Outcome(args.command, ExitCode.LOCKED, str(exc))
    except UsageError as exc:
        output.finish(Outcome(args.command, ExitCode.USAGE, str(exc)), [])
        return int(ExitCode.USAGE)
    output.finish(outcome, pipeline.notify_errors if pipeline else [], verbose=args.verbose,
                  record_errors=pipeline.record_errors if pipeline else ())
    if outcome.code == ExitCode.OK and hasattr(module, "attach"):
        return module.attach(args, outcome)
    if outcome.code == ExitCode.OK or getattr(module, "REPORTS_FAILURE", False):
        print_report(args, outcome)
    return int(outcome.code)


if __name__ == "__main__":
    raise SystemExit(main())
