"""End to end through the greenlight command, on the same test environments as test_deploy.

Runs after test_deploy.py (file order): both environments exist and serve v2. The command
gets a copy of the real inventories with the test overrides added as one more group_vars
file, which is also how a user keeps inventories outside this repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import stack
from .stack import INVENTORIES, STATE, greenlight
from .stack import run_greenlight as run

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")


@pytest.fixture
def webhook() -> Iterator[list[bytes]]:
    """The bodies of the notifications greenlight sends to a webhook (production's inventory)."""
    with stack.webhook_receiver() as (port, bodies):
        settings = INVENTORIES / "production" / "group_vars" / "all" / "zz-notify.yml"
        settings.write_text(f"greenlight_notify_webhook_url: http://127.0.0.1:{port}/hook\n")
        yield bodies
        settings.unlink()


def messages(bodies: list[bytes]) -> list[dict]:
    return [json.loads(body) for body in bodies]


def test_rollback_puts_the_previous_release_back() -> None:
    # production: v1 -> v2 (load test), then `unhealthy` failed and its color was removed,
    # so the previous release is not warm: the rollback redeploys v1.
    done = run("rollback", "production")
    assert done.returncode == 0, done.stdout + done.stderr
    assert stack.live_version("production") == "v1"


def test_promote_moves_staging_then_production_with_the_digests_staging_ran(webhook: list[bytes]) -> None:
    done = run("promote", "v2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deploy staging" in done.stdout and "deploy production" in done.stdout
    assert stack.live_version("staging") == "v2"
    assert stack.live_version("production") == "v2"
    staging = [r for r in stack.history("staging") if r.get("kind") == "deploy" and r["outcome"] == "success"][-1]
    production = [r for r in stack.history("production") if r.get("kind") == "deploy"][-1]
    assert production["digests"] == staging["digests"]
    promote = stack.history("production")[-1]
    assert promote["kind"] == "promote" and set(promote["stages"]) == {"deploy staging", "verify staging",
                                                                        "deploy production"}
    assert any("v2" in message["text"] and "success" in message["text"] for message in messages(webhook))


def test_promote_of_a_bad_migration_stops_at_staging(webhook: list[bytes]) -> None:
    production_before = stack.containers()
    done = run("promote", "bad-migration")
    assert done.returncode == 1
    assert "stopped at staging; production untouched" in done.stderr
    assert stack.live_version("production") == "v2"
    assert {n: c for n, c in stack.containers().items() if "production" in n} == \
        {n: c for n, c in production_before.items() if "production" in n}
    assert any("failed" in message["text"] for message in messages(webhook))


def test_latest_does_not_retry_a_commit_whose_promotion_failed() -> None:
    # The promotion of bad-migration just failed (test above); --latest on its branch finds the same commit.
    staging_records = len(stack.history("staging"))
    quiet = run("promote", "--latest", "--ref", "fault/bad-migration", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    verbose = run("promote", "--latest", "--ref", "fault/bad-migration", "--quiet", "--verbose")
    assert verbose.returncode == 0 and "failed its promotion" in verbose.stdout
    assert len(verbose.stdout.strip().splitlines()) == 1
    assert len(stack.history("staging")) == staging_records, "staging was deployed again"
    retried = run("promote", "--latest", "--ref", "fault/bad-migration", "--retry")
    assert retried.returncode == 1 and "stopped at staging" in retried.stderr
    assert len(stack.history("staging")) == staging_records + 1
    # Named by the tag at the commit, not by its 40-character hash.
    assert "promote of bad-migration stopped at staging" in retried.stderr
    assert stack.history("staging")[-1]["version"] == "bad-migration"


def test_second_concurrent_run_is_refused() -> None:
    first = greenlight("deploy", "staging", "v2")
    lock = STATE / "greenlight.lock"
    for _ in range(100):
        if lock.exists() and lock.read_text():
            break
        time.sleep(0.1)
    second = run("promote", "v2")
    first.communicate(timeout=900)
    assert second.returncode == 75
    assert "another greenlight run holds" in second.stderr and "deploy staging v2" in second.stderr


def test_latest_is_a_quiet_no_op_when_live() -> None:
    done = run("promote", "--latest", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_bad_input_exits_with_the_documented_code() -> None:
    assert run("deploy", "staging", "v1;reboot").returncode == 2
    assert run("deploy", "staging", "no-such-tag").returncode == 2
    assert run("deploy", "qa", "v1").returncode == 2


# The test app borrows the demo's image repositories (stack.extra_vars): its prune judges them.
REPOSITORIES = tuple(stack.extra_vars("staging")["release_images"].values())


def app_images() -> set[str]:
    listed = stack.docker("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    return {ref for ref in listed if ref.split(":")[0] in REPOSITORIES}


def test_prune_removes_what_nothing_needs_and_both_environments_can_still_roll_back() -> None:
    # A one-shot container a killed run left behind; the suite's images are all young, so no minimum age.
    probe = f"{stack.APP}-staging-prune-probe"
    base_image = (stack.REPO / ".greenlight" / "base-image").read_text().strip()
    stack.docker("create", "--name", probe, "--label", f"greenlight.app={stack.APP}", "--label", "greenlight.env=staging",
                 "--label", "greenlight.part=migrate", base_image, "true")
    before = app_images()
    sources = stack.ROOT / stack.APP / "src"
    trees = set(p.name for p in sources.iterdir()) if sources.is_dir() else set()  # a build made each
    dry = run("prune", "--dry-run", "--quiet", "--json", "-e", "release_prune_min_age_s=0")
    assert dry.returncode == 0, dry.stderr
    would = json.loads(dry.stdout)["prune"]
    assert app_images() == before and probe in stack.docker("ps", "-a", "--format", "{{.Names}}").split()

    root = stack.docker("info", "--format", "{{.DockerRootDir}}").strip()
    filesystems = {os.stat(path).st_dev: path for path in (root, str(stack.ROOT))}  # each counted once
    free_before = sum(free_bytes(path) for path in filesystems.values())
    done = run("prune", "--quiet", "--json", "-e", "release_prune_min_age_s=0")
    free_after = sum(free_bytes(path) for path in filesystems.values())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["prune"]
    removed = {image["ref"] for env in report.values() for image in env["images"]}
    assert removed == {image["ref"] for env in would.values() for image in env["images"]}
    assert {ref for ref in removed if ref in before}, f"the suite's unneeded releases were kept: {report}"
    assert probe in report["staging"]["containers"]
    assert probe not in stack.docker("ps", "-a", "--format", "{{.Names}}").split()
    after = app_images()
    assert after == before - removed
    for env in ("staging", "production"):
        live = stack.history(env)
        kept = set(report[env]["kept"]["commits"])
        serving = [r["live"] for r in live if r.get("live")][-1]
        assert serving["commit"] in kept and (not serving["warm"] or serving["warm"]["commit"] in kept)
        for commit in kept:
            assert {f"{repository}:{commit[:12]}" for repository in REPOSITORIES} <= after
            assert commit not in trees or (sources / commit).is_dir()
        assert not {tree["name"] for tree in report[env]["trees"]} & kept
    freed = sum(env["freed_bytes"] for env in report.values())
    print(f"\nprune after the suite so far: {len(removed)} image tags, "
          f"{sum(len(env['trees']) for env in report.values())} source trees, {freed / 1048576:.0f} MiB by Docker's image "
          f"sizes; df: {(free_after - free_before) / 1048576:.0f} MiB more free on the filesystems of "
          f"{' and '.join(filesystems.values())}")

    # Back to the previous release, then forward again by naming the release (its version as
    # recorded: a tag, or a commit after promote --latest); both instant, the old color warm.
    # Staging's rollback after a prune is not exercised here: its images are checked above.
    for env in ("production",):
        version, app_says = recorded_live_version(env), stack.live_version(env)
        back = run("rollback", env)
        assert back.returncode == 0, back.stdout + back.stderr
        assert recorded_live_version(env) != version
        forward = run("rollback", env, version)
        assert forward.returncode == 0, forward.stdout + forward.stderr
        assert recorded_live_version(env) == version and stack.live_version(env) == app_says
        assert stack.history(env)[-1]["strategy"] == "instant"
    never = run("rollback", "production", "v9")
    assert never.returncode == 4 and "v9 never served production" in never.stderr, never.stderr


def free_bytes(path: str) -> int:
    """What df calls available, on the filesystem that holds `path`."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def recorded_live_version(env: str) -> str:
    return [r["live"] for r in stack.history(env) if r.get("live")][-1]["version"]


# -- Text from the app is data (docs/security.md) ---------------------------------------------
# A release of the app may print a template expression (in a migration's error) or answer one
# (its version): it must reach the history and the notification as it is, and never run.
INJECTED = Path("/tmp/gl-inj")


def injection(name: str, quote: str = "'") -> str:
    """A template that, were Ansible to render it, would create a file named after the case.
    Short: the sample's migration runner quotes 60 characters of a statement; quoted so that
    the way the app quotes it (repr, JSON) leaves it whole."""
    return "{{lookup(%spipe%s,%stouch %s-%s%s)}}" % (quote, quote, quote, INJECTED, name, quote)


def hostile_release(name: str, files: dict[str, str]) -> None:
    """A release branching off v1 (fault/NAME, tagged NAME) with these files changed."""
    repo = stack.ROOT / "warehouse.git"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)

    for marker in ran():  # a run of the suite before this one
        Path(marker).unlink()
    git("checkout", "-q", "-B", f"fault/{name}", "v1")
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git("add", "-A")
    git("commit", "-q", "-m", f"Release {name}")
    git("tag", "-f", name)
    git("checkout", "-q", "main")


def ran() -> list[str]:
    return sorted(str(path) for path in INJECTED.parent.glob(INJECTED.name + "*"))


def test_a_version_answering_a_template_is_recorded_and_notified_as_text(webhook: list[bytes]) -> None:
    hostile = injection("version")
    hostile_release("template-version", {"backend/VERSION": hostile + "\n"})
    done = run("promote", "template-version")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "staging failed verification" in done.stderr and hostile in done.stderr, done.stderr
    assert ran() == [], "a template the app answered was run"
    record = stack.history("production")[-1]
    assert record["kind"] == "promote" and hostile in record["error"], record
    assert any(hostile in message["content"] for message in messages(webhook))
    # Staging goes back to the release it had (its warm color), for the tests after this one.
    assert run("rollback", "staging").returncode == 0


def test_a_migration_printing_a_template_is_recorded_and_notified_as_text_under_cron(webhook: list[bytes]) -> None:
    hostile = injection("migration", '"')
    hostile_release("template-migration", {"backend/migrations/0002_hostile.sql": f"SELECT '{hostile}';\n"})
    done = run("promote", "--latest", "--ref", "fault/template-migration", "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "stopped at staging" in done.stderr and hostile in done.stderr, done.stderr
    assert ran() == [], "a template the app printed was run"
    staging = stack.history("staging")[-1]
    assert staging["outcome"] == "failed" and hostile in staging["error"], staging
    promote = stack.history("production")[-1]
    assert promote["kind"] == "promote" and hostile in promote["error"], promote
    assert any(hostile in message["content"] for message in messages(webhook))
    # As cron runs it again: the failure is remembered, nothing runs.
    again = run("promote", "--latest", "--ref", "fault/template-migration", "--quiet")
    assert again.returncode == 0 and again.stderr == "" and ran() == []
