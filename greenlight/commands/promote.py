"""greenlight promote VERSION | --latest [--ref REF] [--retry]."""

from __future__ import annotations

import re

from .. import fast, host
from ..pipeline import (ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, check_env, check_version, engine,
                        interruption_note, now, settings)
from ..scrub import scrub

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
    return promote_latest(pipeline, args.ref, args.retry) if args.latest else promote(pipeline, args.version)


def promote(pipeline: Pipeline, version: str, commit: str = "", name: str = "") -> Outcome:
    check_version(version)
    for env in ENVIRONMENTS:
        check_env(env, pipeline.inventory_dir)
    name = name or version
    command = f"promote {name}"
    stages: list[Stage] = []
    started = now()
    outcome = _promote(pipeline, command, version, stages, name)
    _record_promote(pipeline, name, commit, started, outcome)
    pipeline.notify_outcome("promote", outcome, name)
    return outcome


def _promote(pipeline: Pipeline, command: str, version: str, stages: list[Stage], name: str) -> Outcome:
    staging = pipeline.stage(stages, "deploy staging", "deploy.yml", "staging",
                             {"app_version": version, "deploy_release_name": name})
    if not staging.ok:
        return pipeline.failed(command, stages, staging, f"promote of {name} stopped at staging; production untouched")
    release = staging.stats.get("greenlight_deploy", {})

    # Staging must answer the release it just got (its version path, where the inventory has one).
    verify = pipeline.stage(stages, "verify staging", "verify.yml", "staging",
                            {"verify_expected_version": name, "verify_expected_commit": release.get("commit", "")})
    if not verify.ok:
        outcome = pipeline.failed(command, stages, verify,
                                  f"promote of {name} stopped: staging failed verification; production untouched")
        outcome.data["staging"] = release
        return outcome
    verified = verify.stats.get("greenlight_verify", {})

    # Staging on another Docker engine (a second VPS): its images go to production's.
    if engine(pipeline.runner.settings("staging", pipeline.extra_vars)) != engine(pipeline.runner.settings("production", pipeline.extra_vars)):
        error = _move_images(pipeline, stages, release, version)
        if error:
            return Outcome(command, ExitCode.FAILED, f"promote of {name} stopped: staging's images did not reach "
                                                     f"production's host; production untouched: {error}", stages,
                           {"staging": release})

    # Production runs the very images staging ran: same commit, digests checked on the host.
    production = pipeline.stage(stages, "deploy production", "deploy.yml", "production", {
        "app_version": version,
        "deploy_release_name": name,
        "release_expected_commit": release.get("commit", ""),
        "release_expected_digests": release.get("digests", {}),
    })
    if not production.ok:
        outcome = pipeline.failed(command, stages, production, f"promote of {name} failed at production")
        outcome.data.update({"staging": release, "verified": verified})
        return outcome
    live = production.stats.get("greenlight_deploy", {})
    return Outcome(command, ExitCode.OK,
                   f"promoted {name} ({live.get('commit', '')[:12]}) to staging and production"
                   + interruption_note(live),
                   stages, {"staging": release, "verified": verified, "production": live})


def _move_images(pipeline: Pipeline, stages: list[Stage], release: dict, version: str) -> str:
    """The images staging ran, onto production's engine: where each runs (locate.yml), then
    docker save there streamed into docker load here (host.move_images). What gets through
    is decided here, not by staging: the tags are production's own for the commit it
    resolves the version to (which must be the one staging reports), the IDs those staging
    ran; a tag production has as another image is refused. Production's deploy then checks
    them by digest, as on one engine. '' when done, else why not."""
    located = {}
    for env in ENVIRONMENTS:
        result = pipeline.stage(stages, f"locate {env}", "locate.yml", env,
                                {"locate_release": version} if env == "production" else {})
        if not result.ok:
            return result.stats.get("greenlight_result", {}).get("message") or result.error or f"cannot locate {env}"
        located[env] = result.stats.get("greenlight_locate", {})
    ours = located["production"].get("release") or {}
    commit, digests = str(release.get("commit", "")), release.get("digests") or {}
    if not re.fullmatch(r"[0-9a-f]{40}", commit) or commit != ours.get("commit"):
        return (f"staging reports commit {commit[:40]!r} for {version}, but {version} is "
                f"{str(ours.get('commit', '?'))[:12]} in production's reading of the repository")
    expected = {str(ref): str(digests.get(part, "")) for part, ref in (ours.get("images") or {}).items()}
    pipeline.progress("stage", "images from staging to production")
    started = pipeline.clock()
    error = host.move_images(host.Host.from_report(located["staging"].get("host") or {}),
                             host.Host.from_report(located["production"].get("host") or {}), expected)
    stages.append(Stage("images from staging to production", pipeline.clock() - started, not error, error))
    return error


def promote_latest(pipeline: Pipeline, ref: str, retry: bool = False) -> Outcome:
    check_version(ref)
    check_env("production", pipeline.inventory_dir)
    stages: list[Stage] = []
    command = f"promote --latest ({ref})"
    # What cron finds most of the time (the ref live, or failed before) is decided without a
    # playbook when the environment's descriptor allows it; anything else resolves it in one.
    described = pipeline.described("production")
    commit = fast.resolve_ref(described, ref) if described else ""
    if commit:
        known = {"commit": commit, "live_commit": fast.live_commit(described),
                 "promotions": fast.promotions(described, commit)}
        settled = _settled(command, ref, known, retry, stages)
        if settled:
            return settled
    resolved = pipeline.stage(stages, "resolve", "resolve.yml", "production", {"app_version": ref})
    if not resolved.ok:
        return pipeline.failed(command, stages, resolved, f"cannot resolve {ref}")
    info = resolved.stats.get("greenlight_resolve", {})
    commit = info.get("commit", "")
    settled = _settled(command, ref, info, retry, stages)
    if settled:
        return settled
    # Named as people name it: a tag at the commit, else the ref and the short commit.
    tags = [tag for tag in info.get("tags", []) if not settings.version_problem(tag)]
    outcome = promote(pipeline, commit, commit, name=tags[0] if tags else f"{ref}@{commit[:12]}")
    outcome.stages[:0] = stages
    return outcome


def _settled(command: str, ref: str, info: dict, retry: bool, stages: list[Stage]) -> Outcome | None:
    """`--latest`'s no-op, when there is one: the ref's commit is live, or its promotion
    failed before. Failure memory: the same commit would fail the same way, again and
    again, each time with a backup, migrations and a notification. A new commit, or --retry."""
    commit = info.get("commit", "")
    if commit and commit == info.get("live_commit"):
        return Outcome(command, ExitCode.OK, f"{ref} ({commit[:12]}) is already live in production", stages,
                       {"resolve": info}, quiet_ok=True)
    failed = [p for p in info.get("promotions", []) if p.get("outcome") == "failed"]
    if failed and not retry:
        return Outcome(command, ExitCode.OK,
                       f"{ref} ({commit[:12]}) failed its promotion at {failed[-1].get('ended', '?')}; "
                       f"waiting for a new commit (--retry tries it again)", stages,
                       {"resolve": info}, quiet_ok=True)
    return None


def _record_promote(pipeline: Pipeline, version: str, commit: str, started: str, outcome: Outcome) -> None:
    """One promote record in production's history, success or failure (the --latest memory reads it)."""
    live = outcome.data.get("production", {})
    staging = outcome.data.get("staging", {})
    release = outcome.data.get("release", {})
    record = {
        "kind": "promote", "env": "staging -> production", "version": version,
        "commit": live.get("commit") or staging.get("commit") or release.get("commit") or commit,
        "digests": live.get("digests") or staging.get("digests") or {},
        "backup": live.get("backup", ""), "actor": pipeline.actor, "started": started, "ended": now(),
        "outcome": "success" if outcome.code == ExitCode.OK else "failed",
        "error": "" if outcome.code == ExitCode.OK else scrub(outcome.message)[:1500],
        "stages": {s.name: round(s.seconds, 1) for s in outcome.stages},
        "verified": outcome.data.get("verified", {}),
    }
    if outcome.code in (ExitCode.LOCKED, ExitCode.UNREACHABLE, ExitCode.USAGE):
        return  # not the release's fault: nothing to remember about it
    written = pipeline.runner.run("record.yml", "production", {**pipeline.extra_vars, "greenlight_record": record},
                                  cancellable=False)
    if not written.ok:
        # promote --latest decides from these records: say so, even under --quiet.
        pipeline.record_errors.append(f"the promotion's history record was not written: {scrub(written.error or written.status)}")
