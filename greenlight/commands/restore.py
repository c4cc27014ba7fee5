"""greenlight restore ENV BACKUP [--yes] [--force-from ENV]: asks first (docs/operations.md)."""

from __future__ import annotations

import sys

from ..pipeline import ENVIRONMENTS, UsageError, contents

NAME = "restore"
HELP = "replace an environment's database with one of its backups (asks first)"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("backup", help="a backup's file name, as `greenlight backups ENV` lists it")
    parser.add_argument("--yes", action="store_true", help="do not ask (for scripts); without it, a terminal must answer")
    parser.add_argument("--force-from", choices=ENVIRONMENTS, default="", metavar="ENV",
                        help="restore a backup of this other environment (its data replaces ENV's)")


def run(args, pipeline):
    if not args.yes and not sys.stdin.isatty():
        raise UsageError("greenlight restore asks before it replaces a database; with no terminal to answer, pass --yes")
    return pipeline.restore(args.env, args.backup, args.force_from,
                            confirm=(lambda backup: True) if args.yes else (lambda backup: ask_restore(args.env, backup)))


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
