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

from . import PROJECT_DIR, __version__, descriptor, host, init
from .lock import HostLock, LockHeld, describe, host_lock_holder
from .notify import Notice, NotifyConfig, notify
from .pipeline import ENVIRONMENTS, ExitCode, Interrupted, Outcome, Pipeline, UsageError, contents, settings
from .runner import Runner, state_dir_problem
from .scrub import scrub, scrub_data

# A second signal this soon after the first kills at once; later ones are ignored while recovery runs.
HARD_STOP_WINDOW_S = 5.0
# Default of greenlight_lock_alert_minutes: a run holding the host lock this long sends one notification.
LOCK_ALERT_MINUTES = 60.0


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
    promote.add_argument("--retry", action="store_true", help="--latest: try a commit whose promotion failed again")

    verify = commands.add_parser("verify", parents=[common], help="smoke checks through the environment's proxy")
    verify.add_argument("env", choices=ENVIRONMENTS)

    backup = commands.add_parser("backup", parents=[common], usage="greenlight backup [verify] ENV [BACKUP] [--label WORD]",
                                 help="back up an environment's database now; `backup verify ENV [BACKUP]` proves one restores")
    backup.add_argument("target", nargs="+", metavar="[verify] ENV [BACKUP]",
                        help="ENV: take a backup; verify ENV [BACKUP]: restore BACKUP (default: the newest) "
                             "into a throwaway database and compare its rows with the dump's")
    backup.add_argument("--label", default="manual", help="word in a new backup's name (default: manual)")
    backup.add_argument("--scheduled", action="store_true",
                        help="what cron runs: the backup, its verification and restic check; a failure notifies")

    restore = commands.add_parser("restore", parents=[common],
                                  help="replace an environment's database with one of its backups (asks first)")
    restore.add_argument("env", choices=ENVIRONMENTS)
    restore.add_argument("backup", help="a backup's file name, as `greenlight backups ENV` lists it")
    restore.add_argument("--yes", action="store_true", help="do not ask (for scripts); without it, a terminal must answer")
    restore.add_argument("--force-from", choices=ENVIRONMENTS, default="", metavar="ENV",
                         help="restore a backup of this other environment (its data replaces ENV's)")

    refresh = commands.add_parser("refresh-staging", parents=[common],
                                  help="staging's database from an anonymized copy of production's newest backup (asks first)")
    refresh.add_argument("--yes", action="store_true", help="do not ask (for scripts); without it, a terminal must answer")

    backups = commands.add_parser("backups", parents=[common], help="an environment's backups, newest first")
    backups.add_argument("env", choices=ENVIRONMENTS)

    commands.add_parser("status", parents=[common], help="live version, color, health and last deploy of both environments")

    history = commands.add_parser("history", parents=[common], help="deploys, promotions and rollbacks of an environment")
    history.add_argument("env", choices=ENVIRONMENTS)
    history.add_argument("--limit", type=int, default=20)

    rollback = commands.add_parser("rollback", parents=[common], help="put the previous release (or a named earlier one) back")
    rollback.add_argument("env", choices=ENVIRONMENTS)
    rollback.add_argument("version", nargs="?", default="",
                          help="an earlier release of the environment: its version as deployed, or its commit (default: the previous one)")

    logs = commands.add_parser("logs", parents=[common], help="an environment's container logs: every part, or one")
    logs.add_argument("env", choices=ENVIRONMENTS)
    logs.add_argument("part", nargs="?", default="", help="one of the app's parts, or proxy or mysql (default: every part)"
                      ).completer = complete_parts  # type: ignore[attr-defined]
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl-C ends)")
    logs.add_argument("--since", default="", help="only lines since: 10m, 2h, 2026-11-28T10:00:00 (default: the --tail newest)")
    logs.add_argument("--tail", default="100", help="lines of each container to start from (default: 100; all: every line)")
    logs.add_argument("--color", choices=host.COLOR_CHOICES, default="live",
                      help="which color's container of a part that has one per color (default: live)")

    execute = commands.add_parser("exec", parents=[common], help="run a command in one of an environment's containers")
    execute.add_argument("env", choices=ENVIRONMENTS)
    execute.add_argument("part", help="one of the app's parts, or proxy or mysql").completer = complete_parts  # type: ignore[attr-defined]
    execute.add_argument("--color", choices=host.COLOR_CHOICES, default="live",
                         help="which color's container of a part that has one per color (default: live)")
    execute.add_argument("--user", default="", metavar="USER[:GROUP]",
                         help="run it as this user (name or uid), e.g. root (default: the image's user)")
    execute.add_argument("argv", nargs="*", metavar="COMMAND", help="the command and its arguments")

    check = commands.add_parser("check", parents=[common],
                                help="every problem of the inventories, the vault and the hosts, changing nothing")
    check.add_argument("env", nargs="?", default="", choices=("", *ENVIRONMENTS), help="one environment (default: both)")

    start = commands.add_parser("init", parents=[common],
                                help="write a ready inventory pair for your app into DIR, then check it")
    start.add_argument("dir", type=Path, metavar="DIR", help="the new folder of staging/ and production/ (then --inventories DIR)")
    start.add_argument("--repo", default="", metavar="URL",
                       help="the app's git repository (default: the repository of the current folder)")
    start.add_argument("--app", default="", metavar="NAME", help="the app's name (default: the repository's)")

    prune = commands.add_parser("prune", parents=[common],
                                help="remove the images, source trees and leftover containers no environment needs")
    prune.add_argument("env", nargs="?", default="", choices=("", *ENVIRONMENTS), help="one environment's host (default: both)")
    prune.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")

    completion = commands.add_parser("completion", help="print the shell completion script (argcomplete's): "
                                                        "eval \"$(greenlight completion bash)\"")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))

    lock = commands.add_parser("lock", parents=[common], help="who holds the locks; release one whose holder is gone")
    lock.add_argument("action", choices=("status", "release"))
    lock.add_argument("env", nargs="?", choices=ENVIRONMENTS)
    lock.add_argument("--force", action="store_true",
                      help="release: also a lock taken from another machine, which greenlight cannot see run")
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


def ask_restore(env: str, backup: dict, anonymized: bool = False) -> bool:
    """Show what a restore replaces the database with; yes only when the user types ENV."""
    release = (backup.get("release") or {}).get("version") or "unknown"
    what = f"an anonymized copy of {backup.get('file', '?')}" if anonymized else backup.get("file", "?")
    print(f"This replaces {env}'s database with {what}:\n"
          f"  taken {backup.get('created', '?')} from {backup.get('env', '?')} (release {release}), "
          f"{contents(backup)}\n"
          f"Users get the maintenance page while it loads; the database as it is now is backed up first.",
          file=sys.stderr)
    try:
        answer = input(f"Type {env} to restore: ")
    except EOFError:
        return False
    return answer.strip() == env


def run_command(args: argparse.Namespace, pipeline: Pipeline) -> Outcome:
    if args.command == "deploy":
        return pipeline.deploy(args.env, args.version)
    if args.command == "promote":
        return pipeline.promote_latest(args.ref, args.retry) if args.latest else pipeline.promote(args.version)
    if args.command == "verify":
        return pipeline.verify(args.env)
    if args.command == "backup":
        verify, rest = (True, args.target[1:]) if args.target[0] == "verify" else (False, args.target)
        if not rest or len(rest) > (2 if verify else 1):
            raise UsageError("usage: greenlight backup ENV | greenlight backup verify ENV [BACKUP]")
        if verify:
            return pipeline.verify_backup(rest[0], rest[1] if len(rest) > 1 else "")
        return pipeline.scheduled_backup(rest[0]) if args.scheduled else pipeline.backup(rest[0], args.label)
    if args.command == "backups":
        return pipeline.backups(args.env)
    if args.command == "restore":
        if not args.yes and not sys.stdin.isatty():
            raise UsageError("greenlight restore asks before it replaces a database; with no terminal to answer, pass --yes")
        return pipeline.restore(args.env, args.backup, args.force_from,
                                confirm=(lambda backup: True) if args.yes else (lambda backup: ask_restore(args.env, backup)))
    if args.command == "refresh-staging":
        if not args.yes and not sys.stdin.isatty():
            raise UsageError("greenlight refresh-staging asks before it replaces staging's database; "
                             "with no terminal to answer, pass --yes")
        return pipeline.refresh_staging(
            confirm=(lambda backup: True) if args.yes else (lambda backup: ask_restore("staging", backup, anonymized=True)))
    if args.command == "status":
        return pipeline.status()
    if args.command == "history":
        return pipeline.history(args.env, args.limit)
    if args.command == "logs":
        if not re.match(host.SINCE, args.since or "0"):
            raise UsageError(f"--since takes a duration (10m, 2h30m) or a time (2026-11-28T10:00:00), not {args.since!r}")
        if not re.match(r"^([0-9]+|all)$", args.tail):
            raise UsageError(f"--tail takes a number of lines or all, not {args.tail!r}")
        return pipeline.locate(args.env, f"logs {args.env}")
    if args.command == "exec":
        if not args.argv:
            raise UsageError("exec needs a command: greenlight exec ENV PART -- COMMAND...")
        if args.user and not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$", args.user):
            raise UsageError(f"--user takes a user name or uid, optionally :group, not {args.user!r}")
        return pipeline.locate(args.env, f"exec {args.env}")
    if args.command == "prune":
        return pipeline.prune(args.env, args.dry_run)
    if args.command == "check":
        return pipeline.check(args.env)
    if args.command == "lock":
        if args.action == "release" and not args.env:
            raise UsageError("lock release needs the environment: greenlight lock release ENV")
        return pipeline.lock(args.action, args.env, args.force)
    return pipeline.rollback(args.env, args.version)


def print_report(args: argparse.Namespace, outcome: Outcome) -> None:
    # Records and reports hold text from outside (an app's output in a failure): scrubbed here.
    outcome = dataclasses.replace(outcome, data=scrub_data(outcome.data))
    # A history line that is not a record (a hand edit, a disk error) is skipped, never fatal; say so.
    if args.command in ("status", "history"):
        reports = outcome.data.items() if args.command == "status" else [(args.env, outcome.data)]
        for env, report in reports:
            if report.get("history_skipped"):
                sys.stderr.write(f"warning: {report['history_skipped']} line(s) of {env}'s history are not records "
                                 "and were skipped\n")
    if args.json:
        print(json.dumps(outcome.data, indent=2))
    elif args.command == "status":
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
    elif args.command == "history":
        for record in outcome.data.get("history", []):
            print(f"{record.get('ended', '?'):<21} {record.get('kind', 'deploy'):<9} {record.get('version', '?'):<14}"
                  f" {record.get('outcome', '?'):<11} {str(record.get('commit', ''))[:12]:<13}"
                  f" by {record.get('actor', '?')}  {record.get('error', '')[:80]}")
    elif args.command == "backups":
        for backup in outcome.data.get("backups", []):
            release = backup.get("release") or {}
            print(f"{backup.get('created', '?'):<21} {backup.get('file', '?'):<52} {backup.get('size', 0) / 1048576:>8.1f} MiB"
                  f" {backup.get('rows', 0):>10} rows  release {release.get('version') or '-'}")
        if outcome.data.get("leftovers"):
            print(f"({outcome.data['leftovers']} files of interrupted backups; the next backup removes those an hour old)")
    elif args.command == "check":
        for env, found in outcome.data.get("problems", {}).items():
            print(f"{env:<11} " + ("ok" if not found else f"{len(found)} problem{'s' if len(found) > 1 else ''}"))
            for problem in found:
                print(f"  - {scrub(problem)}")
    elif args.command == "prune":
        for env, report in outcome.data.get("prune", {}).items():
            if report.get("error"):
                print(f"{env}: the prune failed: {report['error']}")
                continue
            verb = "would remove" if report.get("dry_run") else "removed"
            for image in report.get("images", []):
                print(f"{env}: {verb} image {image['ref']} ({image['freed'] / 1048576:.1f} MiB)")
            for tree in report.get("trees", []):
                print(f"{env}: {verb} source tree {tree['name']} ({tree['size'] / 1048576:.1f} MiB)")
            for container in report.get("containers", []):
                print(f"{env}: {verb} container {container}")
            for ref in report.get("in_use", []):
                print(f"{env}: kept image {ref}: a container started using it")
            kept = report.get("kept", {}).get("why", {})
            print(f"{env}: kept {len(kept)} releases: " + ", ".join(f"{c[:12]} ({why})" for c, why in sorted(kept.items())))
    elif args.command == "lock" and args.action == "status":
        holder = outcome.data.get("host", {})
        print(f"{'host':<11} {('held by ' + describe(holder)) if holder else 'free'}")
        for env in ENVIRONMENTS:
            if env not in outcome.data:
                continue
            found = outcome.data[env]
            state = {True: "its holder runs", False: "its holder is gone: the next run takes it over",
                     None: "held from another machine"}.get(found.get("alive"))
            print(f"{env:<11} " + (f"held by {found.get('description', '?')} ({state})" if found.get("lock") else "free"))


def completion_script(shell: str) -> str:
    """The shell's half of the completion, argcomplete's: on TAB it runs greenlight, whose
    parser completes the words (commands, environments, options, files) and whose part
    arguments offer the parts the environment's last playbook reported (complete_parts)."""
    return argcomplete.shellcode(["greenlight"], shell=shell)


def complete_parts(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
    """The environment's parts as its last playbook reported them, and greenlight's own."""
    names = descriptor.parts(state_dir(), Path(parsed_args.inventories), getattr(parsed_args, "env", "") or "")
    return [name for name in ("proxy", *names, "mysql") if name.startswith(prefix)]


def attach(args: argparse.Namespace, outcome: Outcome) -> int:
    """logs and exec, once the environment is located: docker on its host, in the foreground."""
    environment = host.Environment.from_report(outcome.data.get("locate", {}))
    # Ctrl-C ends the stream or reaches the command; nothing here to put back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        environment.list_containers()
        chosen = environment.select(args.part, args.color)
        if not chosen:
            raise host.HostError(f"{args.env} has no container (never deployed?)")
        if args.command == "exec":
            return host.execute(environment, chosen[0], args.argv, user=args.user)
        return host.logs(environment, chosen, follow=args.follow, since=args.since, tail=args.tail)
    except host.HostError as exc:
        sys.stderr.write(f"{args.command} {args.env}: {scrub(str(exc))}\n")
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)


def main(argv: list[str] | None = None) -> int:
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (completion_script); answers and exits
        argcomplete.autocomplete(build_parser(), always_complete_options=False)
    args = parse_args(list(argv if argv is not None else sys.argv[1:]))
    if args.command == "completion":
        sys.stdout.write(completion_script(args.shell))
        return 0
    if args.command == "init":
        # Write the pair, then go on as `greenlight check --inventories DIR`.
        try:
            base_image = (PROJECT_DIR / ".greenlight" / "base-image").read_text().strip()
        except OSError:
            base_image = ""
        try:
            found = init.create(args.dir.resolve(), args.repo, args.app, base_image)
        except init.InitError as exc:
            sys.stderr.write(f"greenlight init: {exc}\n")
            return int(ExitCode.USAGE)
        print(f"wrote {args.dir}/staging and {args.dir}/production (vault password: {args.dir}/.vault-password, "
              f"kept out of git by {args.dir}/.gitignore):")
        for line in found:
            print(f"  {line}")
        print(f"checking them (greenlight check --inventories {args.dir}):")
        args.command, args.env, args.inventories = "check", "", args.dir
    log_path = args.log_file or state_dir() / "greenlight.log"
    read_only = args.command in ("status", "history", "backups", "logs", "exec", "check") or (args.command == "lock" and args.action == "status")
    # A report prints itself; its progress would only be noise around it.
    output = Output(args.quiet or read_only, log_path)
    stopper = Stopper(output)
    stopper.install()
    given = args.extra_vars + getattr(args, "extra_vars_after", [])
    command_line = "greenlight " + " ".join(
        shlex.quote(a) for a in redacted(argv if argv is not None else sys.argv[1:], secret_values(given)))
    output.progress("start", command_line)
    host_lock = state_dir() / "greenlight.lock"
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
            if args.command == "lock" and args.action == "status" and outcome.code == ExitCode.OK:
                outcome.data["host"] = host_lock_holder(host_lock)
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
    if outcome.code == ExitCode.OK and args.command in ("logs", "exec"):
        return attach(args, outcome)
    if outcome.code == ExitCode.OK or args.command == "check":
        print_report(args, outcome)
    return int(outcome.code)


if __name__ == "__main__":
    raise SystemExit(main())
