"""greenlight backup ENV [--label WORD] [--scheduled] | greenlight backup verify ENV [BACKUP]."""

from __future__ import annotations

from ..pipeline import UsageError

NAME = "backup"
HELP = "back up an environment's database now; `backup verify ENV [BACKUP]` proves one restores"
USAGE = "greenlight backup [verify] ENV [BACKUP] [--label WORD]"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("target", nargs="+", metavar="[verify] ENV [BACKUP]",
                        help="ENV: take a backup; verify ENV [BACKUP]: restore BACKUP (default: the newest) "
                             "into a throwaway database and compare its rows with the dump's")
    parser.add_argument("--label", default="manual", help="word in a new backup's name (default: manual)")
    parser.add_argument("--scheduled", action="store_true",
                        help="what cron runs: the backup, its verification and restic check; a failure notifies")


def run(args, pipeline):
    verify, rest = (True, args.target[1:]) if args.target[0] == "verify" else (False, args.target)
    if not rest or len(rest) > (2 if verify else 1):
        raise UsageError("usage: greenlight backup ENV | greenlight backup verify ENV [BACKUP]")
    if verify:
        return pipeline.verify_backup(rest[0], rest[1] if len(rest) > 1 else "")
    return pipeline.scheduled_backup(rest[0]) if args.scheduled else pipeline.backup(rest[0], args.label)
