"""The promote pipeline's decisions, with ansible-runner replaced at its one module."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenlight.pipeline import ExitCode, Pipeline, UsageError
from greenlight.runner import PlaybookResult

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"
DIGESTS = {"backend": "sha256:b", "frontend": "sha256:f"}


class FakeRunner:
    """Answers each (playbook, env) with a scripted result and remembers every call."""

    def __init__(self, answers: dict[tuple[str, str], PlaybookResult] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str, dict]] = []

    def run(self, playbook: str, env: str, extravars: dict | None = None) -> PlaybookResult:
        self.calls.append((playbook, env, extravars or {}))
        return self.answers.get((playbook, env), ok(playbook, env))

    def inventory_vars(self, env: str) -> dict:
        return {}

    def playbooks(self) -> list[tuple[str, str]]:
        return [(playbook, env) for playbook, env, _ in self.calls]


def ok(playbook: str, env: str, stats: dict | None = None) -> PlaybookResult:
    default = {"greenlight_deploy": {"commit": "c" * 40, "digests": DIGESTS, "changed": True}}
    return PlaybookResult(playbook, env, "successful", 0, hosts=1,
                          stats=stats if stats is not None else default)


def failed(playbook: str, env: str, error: str, unreachable: int = 0) -> PlaybookResult:
    return PlaybookResult(playbook, env, "failed", 2, failures=1, unreachable=unreachable, hosts=1, error=error)


def pipeline(runner: FakeRunner) -> Pipeline:
    return Pipeline(runner, INVENTORIES, clock=iter(range(1000)).__next__)


def test_promote_runs_staging_then_verify_then_production_with_staging_digests() -> None:
    runner = FakeRunner()
    outcome = pipeline(runner).promote("v2")
    assert outcome.code == ExitCode.OK
    assert runner.playbooks() == [("deploy.yml", "staging"), ("verify.yml", "staging"),
                                  ("deploy.yml", "production"), ("record.yml", "production")]
    production_vars = runner.calls[2][2]
    assert production_vars["release_expected_digests"] == DIGESTS
    assert production_vars["release_expected_commit"] == "c" * 40
    assert [stage.name for stage in outcome.stages] == ["deploy staging", "verify staging", "deploy production"]


def test_promote_stops_at_a_red_staging_deploy_and_leaves_production_alone() -> None:
    runner = FakeRunner({("deploy.yml", "staging"): failed("deploy.yml", "staging", "migration 0002 failed")})
    outcome = pipeline(runner).promote("bad-migration")
    assert outcome.code == ExitCode.FAILED
    assert "production untouched" in outcome.message and "migration 0002 failed" in outcome.message
    assert ("deploy.yml", "production") not in runner.playbooks()


def test_promote_stops_when_staging_fails_verification() -> None:
    runner = FakeRunner({("verify.yml", "staging"): failed("verify.yml", "staging", "GET /health answered 503")})
    outcome = pipeline(runner).promote("v2")
    assert outcome.code == ExitCode.FAILED
    assert ("deploy.yml", "production") not in runner.playbooks()


def test_latest_is_a_quiet_no_op_when_the_commit_is_live() -> None:
    resolved = {"greenlight_resolve": {"commit": "a" * 40, "live_commit": "a" * 40}}
    runner = FakeRunner({("resolve.yml", "production"): ok("resolve.yml", "production", resolved)})
    outcome = pipeline(runner).promote_latest("main")
    assert outcome.code == ExitCode.OK and outcome.quiet_ok
    assert runner.playbooks() == [("resolve.yml", "production")]


def test_latest_promotes_the_resolved_commit_when_it_is_new() -> None:
    resolved = {"greenlight_resolve": {"commit": "b" * 40, "live_commit": "a" * 40}}
    runner = FakeRunner({("resolve.yml", "production"): ok("resolve.yml", "production", resolved)})
    outcome = pipeline(runner).promote_latest("main")
    assert outcome.code == ExitCode.OK
    assert runner.calls[1][:2] == ("deploy.yml", "staging")
    assert runner.calls[1][2]["app_version"] == "b" * 40


@pytest.mark.parametrize("version", ["v1;rm -rf /", "$(reboot)", "../etc", "-rf", "", "a b"])
def test_versions_with_shell_metacharacters_are_refused_before_any_run(version: str) -> None:
    runner = FakeRunner()
    with pytest.raises(UsageError):
        pipeline(runner).promote(version)
    assert runner.calls == []


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown environment"):
        pipeline(FakeRunner()).deploy("qa", "v1")


@pytest.mark.parametrize("result, code", [
    (failed("deploy.yml", "staging", "cannot reach Docker on staging_server (...)"), ExitCode.UNREACHABLE),
    (failed("deploy.yml", "staging", "Failed to connect to the host via ssh", unreachable=1), ExitCode.UNREACHABLE),
    (failed("deploy.yml", "staging", "app_version 'v9' is not a tag, branch or commit of /repo"), ExitCode.USAGE),
    (failed("deploy.yml", "staging", "the new release failed its health check"), ExitCode.FAILED),
    (PlaybookResult("deploy.yml", "staging", "successful", 0, hosts=0), ExitCode.USAGE),
])
def test_exit_code_says_what_kind_of_failure(result: PlaybookResult, code: ExitCode) -> None:
    outcome = pipeline(FakeRunner({("deploy.yml", "staging"): result})).deploy("staging", "v1")
    assert outcome.code == code


def test_rollback_redeploys_the_previous_release_when_the_old_color_is_gone() -> None:
    cold = failed("rollback.yml", "production", "cannot roll production back instantly: the old color is not warm")
    cold.stats = {"greenlight_rollback": {"mode": "redeploy", "to_version": "v1", "to_commit": "d" * 40}}
    runner = FakeRunner({("rollback.yml", "production"): cold})
    outcome = pipeline(runner).rollback("production")
    assert outcome.code == ExitCode.OK
    assert runner.calls[1][:2] == ("deploy.yml", "production")
    assert runner.calls[1][2]["app_version"] == "v1"
    assert runner.calls[1][2]["release_expected_commit"] == "d" * 40


def test_rollback_with_no_previous_release_has_its_own_code() -> None:
    none = failed("rollback.yml", "production", "nothing to roll back to in production: its history has no successful deploy")
    outcome = pipeline(FakeRunner({("rollback.yml", "production"): none})).rollback("production")
    assert outcome.code == ExitCode.NO_ROLLBACK
