"""greenlight import ENV --from mysql://USER@HOST:PORT/DB | FILE [--yes]: an existing database
into the one greenlight runs (docs/your-app.md, "Bring the data").

The source is dumped on the environment's host while the app serves on; then, as a restore
does (playbooks/restore.yml), the workers stop, the maintenance page goes on, the database as
it is is backed up, the dump loads, and the copy is checked: its rows counted against the dump
and, from a server, each table's row count and checksums against the source's. A run stopped
anywhere is finished or undone by the next run's recovery; the import can be run again.

The source's password is never an argument: from GREENLIGHT_SOURCE_PASSWORD (removed from the
environment once read), else asked on the terminal; it reaches the play through a pipe.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, UsageError, check_env, contents
from ..scrub import scrub
from .restore import typed

NAME = "import"
HELP = "copy an existing MySQL/MariaDB database (or a dump file) into an environment's database (asks first)"
READ_ONLY = False
PASSWORD_VARIABLE = "GREENLIGHT_SOURCE_PASSWORD"
SCHEMES = ("mysql", "mariadb")
DEFAULT_PORT = 3306
# A MariaDB option file's line is read into 4096 bytes; escaped, a password stays well under.
MAX_PASSWORD = 1000
# A host as the environment's host reaches it: a name, IPv4, or IPv6 (in brackets in the URL).
_HOST = re.compile(r"[A-Za-z0-9._-]{1,253}|[0-9A-Fa-f:.]{2,45}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("--from", dest="source", required=True, metavar="SOURCE",
                        help="mysql://USER@HOST:PORT/DB (as the environment's host reaches it; the password from "
                             f"{PASSWORD_VARIABLE} or asked), or a dump file made by mysqldump or mariadb-dump "
                             "without --databases (.sql or .sql.gz)")
    parser.add_argument("--yes", action="store_true", help="do not ask (for scripts); without it, a terminal must answer")


def parse_source(text: str) -> dict:
    """--from's value: {kind: server, host, port, user, database} or {kind: file, path}."""
    if not text.isprintable():
        raise UsageError("--from: the value holds a control or invisible character")
    if "://" not in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise UsageError(f"--from {text!r}: no such file (or give mysql://USER@HOST:PORT/DB)")
        if path.stat().st_size == 0:
            raise UsageError(f"--from {text!r}: the file is empty")
        return {"kind": "file", "path": str(path.resolve())}
    try:
        url = urllib.parse.urlsplit(text)
        port = url.port if url.port is not None else DEFAULT_PORT
    except ValueError as exc:
        raise UsageError(f"--from: not a mysql:// address ({exc})") from None
    if not 0 < port < 65536:
        raise UsageError(f"--from: port {port} is not a TCP port")
    if url.scheme not in SCHEMES:
        raise UsageError(f"--from: {url.scheme}:// is not a database address; give mysql://USER@HOST:PORT/DB")
    if url.password is not None:
        raise UsageError("--from: leave the password out of the address (it would be in your shell's history and "
                         f"in the process list); give it in {PASSWORD_VARIABLE}, or type it when asked")
    try:
        user = urllib.parse.unquote(url.username or "", errors="strict")
        database = urllib.parse.unquote(url.path.lstrip("/"), errors="strict")
    except UnicodeDecodeError:
        raise UsageError("--from: the user or the database's name is not UTF-8") from None
    host = url.hostname or ""
    if not user or not user.isprintable():
        raise UsageError("--from: name the source's user: mysql://USER@HOST:PORT/DB")
    if not _HOST.fullmatch(host):
        raise UsageError(f"--from: {host!r} is not a host name or address")
    if not database or "/" in database or len(database) > 64 or not database.isprintable():
        raise UsageError("--from: name one database: mysql://USER@HOST:PORT/DB")
    if url.query or url.fragment:
        raise UsageError("--from: mysql://USER@HOST:PORT/DB, with no ?options")
    return {"kind": "server", "host": host, "port": port, "user": user, "database": database}


def shown(source: dict) -> str:
    if source["kind"] == "file":
        return source["path"]
    return f"mysql://{source['user']}@{source['host']}:{source['port']}/{source['database']}"


def source_password(ask: Callable[[str], str] = getpass.getpass) -> str:
    """From GREENLIGHT_SOURCE_PASSWORD, taken out of this process's environment (ansible-runner
    copies the environment into its run's files), else asked on the terminal."""
    password = os.environ.pop(PASSWORD_VARIABLE, None)
    if password is None:
        if not sys.stdin.isatty():
            raise UsageError(f"the source's password: set {PASSWORD_VARIABLE}, or run on a terminal to type it")
        password = ask("Password of the source database's user: ")
    if _CONTROL.search(password):
        raise UsageError("the source's password holds a control character (a line break?)")
    if len(password.encode("utf-8")) > MAX_PASSWORD:
        raise UsageError(f"the source's password is longer than {MAX_PASSWORD} bytes")
    return password


def direct(args) -> int | None:
    """Read --from and the source's password before anything else runs (a thread reading the
    settings copies this process's environment): then go on with the command."""
    try:
        args.parsed_source = parse_source(args.source)
        args.password = source_password() if args.parsed_source["kind"] == "server" else ""
    except UsageError as exc:
        sys.stderr.write(f"greenlight import: {scrub(str(exc))}\n")
        return int(ExitCode.USAGE)
    return None


def run(args, pipeline):
    source, password = args.parsed_source, args.password
    if not args.yes and not sys.stdin.isatty():
        raise UsageError("greenlight import asks before it replaces a database; with no terminal to answer, pass --yes")
    return import_data(pipeline, args.env, source, password,
                       confirm=(lambda: True) if args.yes else (lambda: ask_import(args.env, source)))


def ask_import(env: str, source: dict) -> bool:
    print(f"This replaces {env}'s database with a copy of {scrub(shown(source))}.\n"
          f"The copy is made while {env} serves; then users get the maintenance page while it loads and is "
          f"checked, and the database as it is now is backed up first.", file=sys.stderr)
    return typed(env, "import")


def import_data(pipeline: Pipeline, env: str, source: dict, password: str = "",
                confirm: Callable[[], bool] = lambda: False) -> Outcome:
    check_env(env, pipeline.inventory_dir)
    command = f"import {env}"
    stages: list[Stage] = []
    if not confirm():
        return Outcome(command, ExitCode.FAILED, f"import into {env} not confirmed; nothing was changed", stages)
    if source["kind"] == "file":
        extravars = {"restore_import": source["path"], "restore_import_kind": "imported"}
        secrets = None
    else:
        extravars = {"restore_source": {key: source[key] for key in ("host", "port", "user", "database")}}
        secrets = {"restore_source_password": password}
    result = pipeline.stage(stages, f"import {shown(source)} into {env}", "restore.yml", env, extravars,
                            secrets=secrets)
    if not result.ok:
        return pipeline.failed(command, stages, result, f"import of {shown(source)} into {env} failed")
    info = result.stats.get("greenlight_restore", {})
    restored, safety, found = info.get("restored", {}), info.get("safety", {}), info.get("source") or {}
    checked = (f"each table's rows and checksums equal to the source's ({found.get('server', '?')} "
               f"{found.get('version', '?')})" if found else "its rows counted against the dump")
    seconds = float(info.get("page_seconds") or 0)
    return Outcome(command, ExitCode.OK,
                   f"{env}: imported {shown(source)} as {restored.get('file', '?')} ({contents(restored)}; {checked}; "
                   f"{seconds:.0f} s behind the maintenance page); the database as it was is in {safety.get('file', '?')}",
                   stages, {"import": {**info, "from": shown(source)}})
