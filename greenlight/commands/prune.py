"""greenlight prune [ENV] [--dry-run]."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env

NAME = "prune"
HELP = "remove the images, source trees and leftover containers no environment needs"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", nargs="?", default="", choices=("", *ENVIRONMENTS), help="one environment's host (default: both)")
    parser.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")


def run(args, pipeline):
    return prune(pipeline, args.env, args.dry_run)


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


def prune(pipeline: Pipeline, env: str = "", dry_run: bool = False) -> Outcome:
    """Remove what no environment needs (playbooks/prune.yml), on one environment's host or both."""
    command = " ".join(["prune", *([env] if env else []), *(["--dry-run"] if dry_run else [])])
    stages: list[Stage] = []
    report: dict[str, dict] = {}
    for name in [env] if env else ENVIRONMENTS:
        check_env(name, pipeline.inventory_dir)
        result = pipeline.stage(stages, f"prune {name}", "prune.yml", name, {"release_prune_dry_run": dry_run})
        if not result.ok:
            return pipeline.failed(command, stages, result, f"cannot prune {name}")
        report[name] = result.stats.get("greenlight_prune", {})
    # Images and source trees are the app's, shared by both environments: a dry run lists them under each.
    images = {i["ref"]: i.get("freed", 0) for r in report.values() for i in r.get("images", [])}
    trees = {t["name"]: t.get("size", 0) for r in report.values() for t in r.get("trees", [])}
    freed = sum(images.values()) + sum(trees.values())
    return Outcome(command, ExitCode.OK, f"{'would free' if dry_run else 'freed'} {freed / 1048576:.1f} MiB",
                   stages, {"prune": report})
