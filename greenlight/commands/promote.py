"""greenlight promote VERSION | --latest [--ref REF] [--retry]."""

from __future__ import annotations

NAME = "promote"
HELP = "staging deploy, verify staging, production deploy of the same images"
READ_ONLY = False


def arguments(parser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("version", nargs="?", help="tag, branch or commit of the app's repository")
    target.add_argument("--latest", action="store_true", help="the newest commit of --ref; exit 0 quietly when it is live")
    parser.add_argument("--ref", default="main", help="branch (or tag) --latest follows (default: main)")
    parser.add_argument("--retry", action="store_true", help="--latest: try a commit whose promotion failed again")


def run(args, pipeline):
    return pipeline.promote_latest(args.ref, args.retry) if args.latest else pipeline.promote(args.version)
