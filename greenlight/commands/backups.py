"""greenlight backups ENV."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS

NAME = "backups"
HELP = "an environment's backups, newest first"
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)


def run(args, pipeline):
    return pipeline.backups(args.env)


def render(args, outcome) -> None:
    for backup in outcome.data.get("backups", []):
        release = backup.get("release") or {}
        print(f"{backup.get('created', '?'):<21} {backup.get('file', '?'):<52} {backup.get('size', 0) / 1048576:>8.1f} MiB"
              f" {backup.get('rows', 0):>10} rows  release {release.get('version') or '-'}")
    if outcome.data.get("leftovers"):
        print(f"({outcome.data['leftovers']} files of interrupted backups; the next backup removes those an hour old)")
