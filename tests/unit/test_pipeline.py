"""The promote pipeline's decisions, with ansible-runner replaced at its one module."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from greenlight.commands import backup, backups, deploy, promote, refresh_staging, restore, rollback
from greenlight.pipeline import ExitCode, Interrupted, Pipeline, UsageError
from greenlight.runner import PlaybookResult

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"
DIGESTS = {"backend": "sha256:b", "frontend": "sha256:f"}


class FakeRunner:
    """Answers each (playbook, env) with a scripted result and remembers every call."""

    # No environment described here: every command takes its playbook (greenlight/fast.py's
    # paths have tests of their own, on real files and a real proxy).
    state_dir = Path("/nonexistent/greenlight-unit-state")

    def __init__(self, answers: dict[tuple[str, str], PlaybookResult] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str, dict]] = []
        self.cancellable: list[bool] = []
        self.secrets: list[dict] = []

    def run(self, playbook: str, env: str, extravars: dict | None = None, cancellable: bool = True,
            secrets: dict | None = None) -> PlaybookResult:
        self.calls.append((playbook, env, extravars or {}))
        self.cancellable.append(cancellable)
        self.secrets.append(secrets or {})
        return self.answers.get((playbook, env), ok(playbook, env))

    def settings(self, env: str, extra_vars: dict) -> dict:
        return {}

    def playbooks(self) -> list[tuple[str, str]]:
        return [(playbook, env) for playbook, env, _ in self.calls]

    def records(self) -> list[dict]:
        return [extravars["greenlight_record"] for playbook, _, extravars in self.calls if playbook == "record.yml"]


def ok(playbook: str, env: str, stats: dict | None = None) -> PlaybookResult:
    default = {"greenlight_deploy": {"commit": "c" * 40, "digests": DIGESTS, "changed": True}}
    return PlaybookResult(playbook, env, "successful", 0, hosts=1,
                          stats=stats if stats is not None else default)


def failed(playbook: str, env: str, message: str, code: str = "failed", unreachable: int = 0,
           data: dict | None = None) -> PlaybookResult:
    return PlaybookResult(playbook, env, "failed", 2, failures=1, unreachable=unreachable, hosts=1, error=message,
                          stats={"greenlight_result": {"code": code, "message": message, "data": data or {}}})


def canceled(playbook: str, env: str) -> PlaybookResult:
    return PlaybookResult(playbook, env, "canceled", 254, hosts=0)


def pipeline(runner: FakeRunner, stop: int = 0) -> Pipeline:
    return Pipeline(runner, INVENTORIES, clock=iter(range(1000)).__next__, stop_requested=lambda: stop)


def test_promote_runs_staging_then_verify_then_production_with_staging_digests() -> None:
    runner = FakeRunner()
    outcome = promote.promote(pipeline(runner), "v2")
    assert outcome.code == ExitCode.OK
    assert runner.playbooks() == [("deploy.yml", "staging"), ("verify.yml", "staging"),
                                  ("deploy.yml", "production"), ("record.yml", "production")]
    production_vars = runner.calls[2][2]
    assert production_vars["release_expected_digests"] == DIGESTS
    assert production_vars["release_expected_commit"] == "c" * 40
    assert [stage.name for stage in outcome.stages] == ["deploy staging", "verify staging", "deploy production"]
    record = runner.records()[0]
    assert (record["kind"], record["outcome"], record["commit"]) == ("promote", "success", "c" * 40)


def test_promote_stops_at_a_red_staging_deploy_leaves_production_alone_and_remembers_the_failure() -> None:
    runner = FakeRunner({("deploy.yml", "staging"): failed("deploy.yml", "staging", "migration 0002 failed")})
    outcome = promote.promote(pipeline(runner), "bad-migration", commit="d" * 40)
    assert outcome.code == ExitCode.FAILED
    assert "production untouched" in outcome.message and "migration 0002 failed" in outcome.message
    assert ("deploy.yml", "production") not in runner.playbooks()
    record = runner.records()[0]
    assert (record["outcome"], record["commit"]) == ("failed", "d" * 40)


def test_promote_stops_when_staging_fails_verification() -> None:
    runner = FakeRunner({("verify.yml", "staging"): failed("verify.yml", "staging", "GET /health answered 503")})
    outcome = promote.promote(pipeline(runner), "v2")
    assert outcome.code == ExitCode.FAILED
    assert ("deploy.yml", "production") not in runner.playbooks()


@pytest.mark.parametrize("code", ["locked", "unreachable", "usage"])
def test_a_promote_that_never_started_is_not_remembered_as_a_failed_release(code: str) -> None:
    runner = FakeRunner({("deploy.yml", "staging"): failed("deploy.yml", "staging", "no", code=code)})
    promote.promote(pipeline(runner), "v2", commit="d" * 40)
    assert runner.records() == []


def test_latest_is_a_quiet_no_op_when_the_commit_is_live() -> None:
    resolved = {"greenlight_resolve": {"commit": "a" * 40, "live_commit": "a" * 40}}
    runner = FakeRunner({("resolve.yml", "production"): ok("resolve.yml", "production", resolved)})
    outcome = promote.promote_latest(pipeline(runner), "main")
    assert outcome.code == ExitCode.OK and outcome.quiet_ok
    assert runner.playbooks() == [("resolve.yml", "production")]


def test_latest_promotes_the_resolved_commit_when_it_is_new() -> None:
    resolved = {"greenlight_resolve": {"commit": "b" * 40, "live_commit": "a" * 40, "promotions": []}}
    runner = FakeRunner({("resolve.yml", "production"): ok("resolve.yml", "production", resolved)})
    outcome = promote.promote_latest(pipeline(runner), "main")
    assert outcome.code == ExitCode.OK
    assert runner.calls[1][:2] == ("deploy.yml", "staging")
    assert runner.calls[1][2]["app_version"] == "b" * 40
    # Named as people name it: the ref and the short commit, in both deploys and the message.
    assert runner.calls[1][2]["deploy_release_name"] == runner.calls[3][2]["deploy_release_name"] == "main@" + "b" * 12
    assert outcome.message.startswith("promoted main@bbbbbbbbbbbb (")


@pytest.mark.parametrize(("tags", "name"), [(["v3.1"], "v3.1"), (["a{{b}}", "v4"], "v4"), ([], "main@" + "b" * 12)])
def test_latest_names_a_tagged_commit_by_its_tag(tags: list[str], name: str) -> None:
    resolved = {"greenlight_resolve": {"commit": "b" * 40, "live_commit": "a" * 40, "promotions": [], "tags": tags}}
    runner = FakeRunner({("resolve.yml", "production"): ok("resolve.yml", "production", resolved)})
    promote.promote_latest(pipeline(runner), "main")
    assert runner.calls[1][2]["deploy_release_name"] == name


def test_latest_does_not_retry_a_commit_whose_promotion_failed_until_asked() -> None:
    promotions = [{"kind": "promote", "commit": "b" * 40, "outcome": "failed", "ended": "2026-11-27T10:00:00Z"}]
    resolved = {"greenlight_resolve": {"commit": "b" * 40, "live_commit": "a" * 40, "promotions": promotions}}
    runner = FakeRunner({("resolve.yml", "production"): ok("resolve.yml", "production", resolved)})
    outcome = promote.promote_latest(pipeline(runner), "main")
    assert outcome.code == ExitCode.OK and outcome.quiet_ok
    assert "failed its promotion" in outcome.message and "--retry" in outcome.message
    assert runner.playbooks() == [("resolve.yml", "production")]
    retried = FakeRunner({("resolve.yml", "production"): ok("resolve.yml", "production", resolved)})
    promote.promote_latest(pipeline(retried), "main", retry=True)
    assert ("deploy.yml", "staging") in retried.playbooks()


@pytest.mark.parametrize("version", ["v1;rm -rf /", "$(reboot)", "../etc", "-rf", "", "a b"])
def test_versions_with_shell_metacharacters_are_refused_before_any_run(version: str) -> None:
    runner = FakeRunner()
    with pytest.raises(UsageError):
        promote.promote(pipeline(runner), version)
    assert runner.calls == []


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown environment"):
        deploy.deploy(pipeline(FakeRunner()), "qa", "v1")


@pytest.mark.parametrize("result, code", [
    (failed("deploy.yml", "staging", "any words at all", code="unreachable"), ExitCode.UNREACHABLE),
    (failed("deploy.yml", "staging", "Failed to connect to the host via ssh", unreachable=1), ExitCode.UNREACHABLE),
    (failed("deploy.yml", "staging", "any words at all", code="usage"), ExitCode.USAGE),
    (failed("deploy.yml", "staging", "any words at all", code="locked"), ExitCode.LOCKED),
    (failed("deploy.yml", "staging", "cannot reach Docker", code="failed"), ExitCode.FAILED),
    (PlaybookResult("deploy.yml", "staging", "failed", 2, failures=1, hosts=1, error="no stats"), ExitCode.FAILED),
    (PlaybookResult("deploy.yml", "staging", "successful", 0, hosts=0), ExitCode.USAGE),
])
def test_exit_code_comes_from_the_code_the_playbook_reports_never_from_its_words(result: PlaybookResult,
                                                                                  code: ExitCode) -> None:
    outcome = deploy.deploy(pipeline(FakeRunner({("deploy.yml", "staging"): result})), "staging", "v1")
    assert outcome.code == code


def test_rollback_redeploys_the_previous_release_when_the_old_color_is_gone() -> None:
    cold = failed("rollback.yml", "production", "cannot roll production back instantly", code="not_warm",
                  data={"mode": "redeploy", "to_version": "v1", "to_commit": "d" * 40})
    runner = FakeRunner({("rollback.yml", "production"): cold})
    outcome = rollback.rollback(pipeline(runner), "production")
    assert outcome.code == ExitCode.OK
    assert runner.calls[1][:2] == ("deploy.yml", "production")
    # The recorded commit is checked out, under the name it was recorded with.
    assert runner.calls[1][2]["app_version"] == "d" * 40
    assert runner.calls[1][2]["deploy_release_name"] == "v1"
    assert runner.calls[1][2]["release_expected_commit"] == "d" * 40


def test_rollback_with_no_previous_release_has_its_own_code() -> None:
    none = failed("rollback.yml", "production", "nothing to roll back to", code="nothing_to_roll_back")
    outcome = rollback.rollback(pipeline(FakeRunner({("rollback.yml", "production"): none})), "production")
    assert outcome.code == ExitCode.NO_ROLLBACK


def test_rollback_after_an_interrupted_deploy_is_the_recovery_itself() -> None:
    recovered = ok("rollback.yml", "production", {"greenlight_rollback": {
        "mode": "recovered", "from_version": "v3", "to_version": "v2", "color": "green"}})
    runner = FakeRunner({("rollback.yml", "production"): recovered})
    outcome = rollback.rollback(pipeline(runner), "production")
    assert outcome.code == ExitCode.OK and "interrupted deploy of v3 was undone; v2 serves again" in outcome.message
    assert runner.playbooks() == [("rollback.yml", "production")]


def test_a_cancelled_deploy_raises_interrupted_naming_the_environment_to_recover() -> None:
    runner = FakeRunner({("deploy.yml", "production"): canceled("deploy.yml", "production")})
    # The signal arrives while production's deploy runs (ansible-runner then cancels it).
    stopping = Pipeline(runner, INVENTORIES, clock=iter(range(1000)).__next__,
                        stop_requested=lambda: signal.SIGTERM if ("deploy.yml", "production") in runner.playbooks() else 0)
    with pytest.raises(Interrupted) as stopped:
        promote.promote(stopping, "v2")
    assert (stopped.value.env, stopped.value.signum) == ("production", signal.SIGTERM)
    assert runner.records() == []  # an interrupted promotion is retried by --latest, not remembered


def test_a_signal_between_stages_stops_before_the_next_one() -> None:
    runner = FakeRunner()
    with pytest.raises(Interrupted) as stopped:
        promote.promote(pipeline(runner, stop=signal.SIGINT), "v2")
    assert stopped.value.env is None and runner.calls == []


def test_recovery_after_a_signal_runs_uncancellable_and_exits_with_the_signals_code() -> None:
    report = {"greenlight_recover": {"notes": ["traffic back on v1 (blue); it was blue 95, green 5, stickiness on"],
                                     "problems": [], "live": {"version": "v1", "serving": ["blue"]}}}
    runner = FakeRunner({("recover.yml", "production"): ok("recover.yml", "production", report)})
    outcome = pipeline(runner).recover(Interrupted(signal.SIGTERM, "production", "deploy production"))
    assert outcome.code == ExitCode.TERMINATED == 143
    assert runner.cancellable == [False]
    assert "production serves v1 (blue)" in outcome.message and "stickiness on" in outcome.message
    assert "SIGTERM during deploy production" in runner.calls[0][2]["deploy_interrupted_reason"]
    sigint = pipeline(FakeRunner()).recover(Interrupted(signal.SIGINT, "staging", "deploy staging"))
    assert sigint.code == ExitCode.INTERRUPTED == 130


def test_backup_runs_its_playbook_with_the_label_and_reports_the_backup() -> None:
    info = {"file": "shop-20261128T120000Z-nightly.sql.gz", "database": "shop", "rows": 1200,
            "tables": {"shop.items": 1200}, "size": 2 * 1048576}
    runner = FakeRunner({("backup.yml", "production"): ok("backup.yml", "production", {"greenlight_backup": info})})
    outcome = backup.backup(pipeline(runner), "production", "nightly")
    assert outcome.code == ExitCode.OK
    assert runner.calls[0][0:2] == ("backup.yml", "production") and runner.calls[0][2]["backup_label"] == "nightly"
    assert outcome.data["backup"] == info
    assert outcome.message == ("production: backed up shop to shop-20261128T120000Z-nightly.sql.gz "
                               "(1200 rows in 1 tables, 2.0 MiB)")


@pytest.mark.parametrize("label", ["", "../x", "a b", "x" * 41, "-dash"])
def test_a_backup_label_that_cannot_be_part_of_a_file_name_is_refused(label: str) -> None:
    runner = FakeRunner()
    with pytest.raises(UsageError, match="backup label"):
        backup.backup(pipeline(runner), "staging", label)
    assert runner.calls == []


def test_a_failed_backup_exits_with_the_playbooks_code_and_message() -> None:
    runner = FakeRunner({("backup.yml", "staging"): failed("backup.yml", "staging", "database down", code="failed")})
    outcome = backup.backup(pipeline(runner), "staging")
    assert outcome.code == ExitCode.FAILED
    assert outcome.message == "backup of staging failed: database down"


def test_backups_lists_what_the_playbook_reported() -> None:
    listed = {"backups": [{"file": "shop-2.sql.gz"}, {"file": "shop-1.sql.gz"}], "leftovers": 1}
    runner = FakeRunner({("backups.yml", "staging"): ok("backups.yml", "staging", {"greenlight_backups": listed})})
    outcome = backups.backups(pipeline(runner), "staging")
    assert (outcome.code, outcome.data) == (ExitCode.OK, listed)


def test_verify_backup_names_the_backup_to_its_playbook_and_reports_the_result() -> None:
    info = {"file": "shop-1.sql.gz", "rows": 3, "tables": {"shop.items": 3}, "verified": {"ok": True, "seconds": 7.2}}
    runner = FakeRunner({("verify-backup.yml", "staging"): ok("verify-backup.yml", "staging", {"greenlight_backup": info})})
    outcome = backup.verify_backup(pipeline(runner), "staging", "shop-1.sql.gz")
    assert runner.calls[0][2]["backup_verify_file"] == "shop-1.sql.gz"
    assert (outcome.code, outcome.message) == (ExitCode.OK, "staging: shop-1.sql.gz restores: 3 rows in 1 tables, "
                                                            "as the dump holds (7 s)")


@pytest.mark.parametrize("name", ["../etc/passwd.sql.gz", "x/y.sql.gz", "shop.sql", "a..b.sql.gz"])
def test_verify_backup_refuses_a_name_that_is_not_a_backup_file(name: str) -> None:
    runner = FakeRunner()
    with pytest.raises(UsageError, match="not a backup's file name"):
        backup.verify_backup(pipeline(runner), "staging", name)
    assert runner.calls == []


BACKUP = {"file": "warehouse-20261128T070000Z-manual.sql.gz", "env": "production", "database": "warehouse",
          "created": "2026-11-28T07:00:00Z", "rows": 1000, "tables": {"warehouse.items": 1000}}


def listing(env: str, *backups: dict) -> PlaybookResult:
    return ok("backups.yml", env, {"greenlight_backups": {"backups": list(backups), "leftovers": 0}})


def test_restore_asks_with_the_backups_metadata_then_runs_its_playbook() -> None:
    restored = {**BACKUP, "verified": {"ok": True, "seconds": 3.0}}
    runner = FakeRunner({("backups.yml", "production"): listing("production", BACKUP),
                         ("restore.yml", "production"): ok("restore.yml", "production", {
                             "greenlight_restore": {"restored": restored, "safety": {"file": "warehouse-s.sql.gz"}}})})
    shown = []
    outcome = restore.restore(pipeline(runner), "production", BACKUP["file"], confirm=lambda backup: shown.append(backup) or True)
    assert shown == [BACKUP]
    assert outcome.code == ExitCode.OK and "the database as it was is in warehouse-s.sql.gz" in outcome.message
    assert runner.playbooks() == [("backups.yml", "production"), ("restore.yml", "production")]
    assert runner.calls[1][2]["restore_file"] == BACKUP["file"] and runner.calls[1][2]["restore_from"] == ""


def test_a_restore_not_confirmed_changes_nothing() -> None:
    runner = FakeRunner({("backups.yml", "production"): listing("production", BACKUP)})
    outcome = restore.restore(pipeline(runner), "production", BACKUP["file"], confirm=lambda backup: False)
    assert outcome.code == ExitCode.FAILED and "not confirmed; nothing was changed" in outcome.message
    assert runner.playbooks() == [("backups.yml", "production")]


def test_a_backup_of_another_environment_is_refused_unless_forced_from_it() -> None:
    runner = FakeRunner({("backups.yml", "staging"): listing("staging", BACKUP)})
    with pytest.raises(UsageError, match="is a backup of production, not of staging.*--force-from production"):
        restore.restore(pipeline(runner), "staging", BACKUP["file"], confirm=lambda backup: True)
    assert runner.playbooks() == [("backups.yml", "staging")]
    restore.restore(pipeline(runner), "staging", BACKUP["file"], "production", confirm=lambda backup: True)
    assert runner.calls[-1][0] == "restore.yml" and runner.calls[-1][2]["restore_from"] == "production"


@pytest.mark.parametrize("name", ["../x.sql.gz", "a/b.sql.gz", "x.sql", "-x.sql.gz", "x;rm.sql.gz"])
def test_a_restore_of_a_name_that_is_no_backup_file_is_refused_before_any_run(name: str) -> None:
    runner = FakeRunner()
    with pytest.raises(UsageError, match="is not a backup's file name"):
        restore.restore(pipeline(runner), "production", name, confirm=lambda backup: True)
    assert runner.calls == []


def test_a_restore_of_a_backup_the_environment_does_not_have_is_refused() -> None:
    runner = FakeRunner({("backups.yml", "production"): listing("production", BACKUP)})
    with pytest.raises(UsageError, match="has no backup warehouse-other.sql.gz"):
        restore.restore(pipeline(runner), "production", "warehouse-other.sql.gz", confirm=lambda backup: True)


def test_the_scheduled_backup_verifies_the_new_backup_and_checks_restic() -> None:
    info = {"file": "warehouse-20261128T031700Z-scheduled.sql.gz", "rows": 5, "tables": {"w.items": 5}}
    runner = FakeRunner({("backup.yml", "production"): ok("backup.yml", "production", {"greenlight_backup": info}),
                         ("verify-backup.yml", "production"): ok("verify-backup.yml", "production", {
                             "greenlight_backup": {**info, "verified": {"ok": True, "seconds": 2}}})})
    outcome = backup.scheduled_backup(pipeline(runner), "production")
    assert outcome.code == ExitCode.OK and "restic repository checks" in outcome.message
    assert runner.playbooks() == [("backup.yml", "production"), ("verify-backup.yml", "production")]
    assert runner.calls[0][2]["backup_label"] == "scheduled"
    assert runner.calls[1][2]["backup_verify_file"] == info["file"] and runner.calls[1][2]["backup_restic_check"]


def test_a_scheduled_backup_that_does_not_verify_fails_and_notifies(monkeypatch) -> None:
    from greenlight import pipeline as module

    sent = []
    monkeypatch.setattr(module, "notify", lambda config, notice: sent.append(notice) or [])
    info = {"file": "warehouse-20261128T031700Z-scheduled.sql.gz"}
    runner = FakeRunner({("backup.yml", "staging"): ok("backup.yml", "staging", {"greenlight_backup": info}),
                         ("verify-backup.yml", "staging"): failed("verify-backup.yml", "staging",
                                                                  "warehouse.items: 4 rows restored, the dump holds 5")})
    outcome = backup.scheduled_backup(pipeline(runner), "staging")
    assert outcome.code == ExitCode.FAILED and "did not verify" in outcome.message
    assert [(n.kind, n.outcome, n.env) for n in sent] == [("backup", "failed", "staging")]


def test_backup_anonymizes_productions_newest_backup_then_restores_it_to_staging() -> None:
    copy = {"file": "/var/lib/greenlight/anonymized/anonymized-x.sql.gz", "source": BACKUP}
    runner = FakeRunner({("backups.yml", "production"): listing("production", BACKUP),
                         ("anonymize.yml", "production"): ok("anonymize.yml", "production", {"greenlight_anonymized": copy}),
                         ("restore.yml", "staging"): ok("restore.yml", "staging", {"greenlight_restore": {
                             "restored": {"file": "w-anonymized.sql.gz", "rows": 7}, "safety": {"file": "w-s.sql.gz"}}})})
    outcome = refresh_staging.refresh_staging(pipeline(runner), confirm=lambda backup: backup == BACKUP)
    assert outcome.code == ExitCode.OK, outcome.message
    assert runner.playbooks() == [("backups.yml", "production"), ("anonymize.yml", "production"), ("restore.yml", "staging")]
    assert runner.calls[2][2]["restore_import"] == copy["file"]


def test_refresh_staging_stops_before_staging_when_anonymizing_fails() -> None:
    runner = FakeRunner({("backups.yml", "production"): listing("production", BACKUP),
                         ("anonymize.yml", "production"): failed("anonymize.yml", "production",
                                                                 "supplier_contacts.contact_email: 3 rows still hold")})
    outcome = refresh_staging.refresh_staging(pipeline(runner), confirm=lambda backup: True)
    assert outcome.code == ExitCode.FAILED and "staging was not touched" in outcome.message
    assert ("restore.yml", "staging") not in runner.playbooks()


def test_refresh_staging_without_a_production_backup_is_refused() -> None:
    runner = FakeRunner({("backups.yml", "production"): listing("production")})
    with pytest.raises(UsageError, match="production has no backup"):
        refresh_staging.refresh_staging(pipeline(runner), confirm=lambda backup: True)


def test_a_promotion_whose_history_record_fails_says_so() -> None:
    runner = FakeRunner({("record.yml", "production"): failed("record.yml", "production", "unknown setting x")})
    pipe = pipeline(runner)
    assert promote.promote(pipe, "v2").code == ExitCode.OK
    assert pipe.record_errors == ["the promotion's history record was not written: unknown setting x"]
