"""greenlight prune [ENV] [--dry-run]."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS

NAME = "prune"
HELP = "remove the images, source trees and leftover containers no environment needs"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", nargs="?", default="", choices=("", *ENVIRONMENTS), help="one environment's host (default: both)")
    parser.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")


def run(args, pipeline):
    return pipeline.prune(args.env, args.dry_run)


def render(args, outcome) -> None:
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
