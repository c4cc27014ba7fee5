"""greenlight init DIR [--from-compose FILE] [--host HOST --user USER] [--repo URL] [--app NAME]: an
inventory pair for the app, then `greenlight check` on it."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import PROJECT_DIR
from .. import init as starter
from ..pipeline import ExitCode
from ..scrub import scrub

NAME = "init"
HELP = "write a ready inventory pair for your app into DIR, then check it"
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("dir", type=Path, metavar="DIR", help="the new folder of staging/ and production/ (then --inventories DIR)")
    parser.add_argument("--repo", default="", metavar="URL",
                        help="the app's git repository (default: the repository of the current folder)")
    parser.add_argument("--app", default="", metavar="NAME", help="the app's name (default: the repository's)")
    parser.add_argument("--from-compose", type=Path, default=None, metavar="FILE",
                        help="read the app from its docker-compose file: services, ports, environment, health "
                             "checks, limits, the database (default: from its Dockerfiles)")
    parser.add_argument("--host", default="", help="the VPS both environments run on (default: this machine)")
    parser.add_argument("--user", default="", help="the user greenlight connects to --host as over SSH")


def direct(args) -> int | None:
    """Write the pair, then go on as `greenlight check --inventories DIR`."""
    try:
        base_image = (PROJECT_DIR / ".greenlight" / "base-image").read_text().strip()
    except OSError:
        base_image = ""
    try:
        found = starter.create(args.dir.resolve(), args.repo, args.app, base_image, compose=args.from_compose,
                               host=args.host, user=args.user)
    except starter.InitError as exc:
        sys.stderr.write(f"greenlight init: {scrub(str(exc))}\n")
        return int(ExitCode.USAGE)
    print(f"wrote {args.dir}/staging and {args.dir}/production (vault password: {args.dir}/.vault-password, "
          f"kept out of git by {args.dir}/.gitignore):")
    for line in found:  # the app's text among them (a service's name): made safe to show
        print(f"  {scrub(line)}")
    print(f"checking them (greenlight check --inventories {args.dir}):")
    args.command, args.env, args.inventories = "check", "", args.dir
    return None
