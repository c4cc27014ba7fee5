"""greenlight deploy ENV VERSION."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS

NAME = "deploy"
HELP = "deploy a release to one environment"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("version", help="tag, branch or commit of the app's repository")


def run(args, pipeline):
    return pipeline.deploy(args.env, args.version)
