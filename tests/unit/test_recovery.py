"""Recovery's decisions: what a run left, and how the environment goes back to its recorded release."""

from __future__ import annotations

from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import Container
from ansible_collections.greenlight.deploy.plugins.module_utils.history import Live
import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.recovery import finished, pending_restore, plan

from .helpers import PREFIX, V1, V2, V3, color, observed, proxy

LIVE_V1_BLUE = Live("v1", V1, "blue", ("blue",))
LIVE_V2_GREEN_V1_WARM = Live("v2", V2, "green", ("green",), "blue", "v1", V1)


def test_an_interrupted_canary_goes_back_to_the_recorded_release_and_its_new_color_goes() -> None:
    containers = {**color("blue", V1, "v1"), **color("green", V2, "v2")}
    result = plan(proxy(), LIVE_V1_BLUE, observed({"blue": 95, "green": 5}, "green", sticky=True), containers)
    assert result.switch and result.traffic.weights == {"blue": 100, "green": 0} and not result.traffic.sticky
    assert sorted(result.remove) == [f"{PREFIX}-backend-green", f"{PREFIX}-frontend-green"]
    assert result.live == LIVE_V1_BLUE
    assert "blue 95, green 5, stickiness on" in result.notes[0]


def test_a_run_killed_between_the_switch_and_its_record_is_undone() -> None:
    containers = {**color("blue", V1, "v1"), **color("green", V2, "v2")}
    result = plan(proxy(), LIVE_V1_BLUE, observed({"green": 100}, "blue"), containers)
    assert result.switch and result.traffic.live == "blue"
    assert f"{PREFIX}-backend-green" in result.remove


def test_a_consistent_environment_is_left_alone_and_its_warm_color_kept() -> None:
    containers = {**color("green", V2, "v2"), **color("blue", V1, "v1")}
    result = plan(proxy(), LIVE_V2_GREEN_V1_WARM, observed({"green": 100}, "blue"), containers)
    assert not result.switch and result.remove == [] and result.notes == []
    assert result.live == LIVE_V2_GREEN_V1_WARM


def test_a_warm_color_replaced_by_an_interrupted_deploy_is_removed_and_no_longer_warm() -> None:
    containers = {**color("green", V2, "v2"), **color("blue", V3, "v3")}
    result = plan(proxy(), LIVE_V2_GREEN_V1_WARM, observed({"green": 100}, "blue"), containers)
    assert not result.switch
    assert sorted(result.remove) == [f"{PREFIX}-backend-blue", f"{PREFIX}-frontend-blue"]
    assert result.live.warm_color == ""


def test_stickiness_left_on_alone_is_turned_off() -> None:
    containers = color("blue", V1, "v1")
    result = plan(proxy(), LIVE_V1_BLUE, observed({"blue": 100}, "green", sticky=True), containers)
    assert result.switch and not result.traffic.sticky


def test_an_interrupted_rolling_deploy_keeps_the_slot_that_still_runs_the_recorded_release() -> None:
    recorded = Live("v1", V1, "green", ("green", "blue"))
    containers = {**color("green", V1, "v1"), **color("blue", V2, "v2")}
    result = plan(proxy(), recorded, observed({"green": 100, "blue": 0}, "blue"), containers)
    assert result.traffic.serving == ["green"] and result.switch is False
    assert sorted(result.remove) == [f"{PREFIX}-backend-blue", f"{PREFIX}-frontend-blue"]
    assert "blue cannot take the traffic for v1" in result.problems[0]
    assert result.live.serving == ("green",)


def test_the_traffic_never_moves_to_a_color_that_cannot_answer() -> None:
    containers = {**color("blue", V1, "v1", state="exited"), **color("green", V2, "v2")}
    result = plan(proxy(), LIVE_V1_BLUE, observed({"green": 100}, "blue"), containers)
    assert result.traffic is None and result.remove == [] and result.live is None
    assert "cannot put the traffic back on v1" in result.problems[0]
    down = plan(proxy(), LIVE_V1_BLUE, observed({"green": 100}, "blue", status={"blue": "DOWN"}),
                {**color("blue", V1, "v1"), **color("green", V2, "v2")})
    assert down.traffic is None and "HAProxy finds api/blue DOWN" in " ".join(down.problems)


def test_with_nothing_recorded_what_takes_traffic_stays_and_the_rest_goes() -> None:
    containers = {**color("blue", V1, "v1"), **color("green", V2, "v2")}
    result = plan(proxy(), None, observed({"green": 100}, "blue"), containers)
    assert result.traffic is None
    assert sorted(result.remove) == [f"{PREFIX}-backend-blue", f"{PREFIX}-frontend-blue"]
    first_deploy_killed = plan(proxy(), None, None, color("blue", V1, "v1"))
    assert len(first_deploy_killed.remove) == 2


def test_an_interrupted_first_release_after_adopt_goes_back_to_the_compose_containers() -> None:
    """The compose containers (greenlight adopt) answer for blue and carry no label of
    greenlight's: with nothing recorded, a canary killed mid-way goes back to them, and its
    color's containers go."""
    split = observed({"blue": 75, "green": 25}, "green", sticky=True)
    result = plan(proxy(), None, split, color("green", V2, "v2"), adopted="blue")
    assert result.switch and result.traffic.weights == {"blue": 100, "green": 0} and not result.traffic.sticky
    assert sorted(result.remove) == [f"{PREFIX}-backend-green", f"{PREFIX}-frontend-green"]
    assert "the compose containers (blue)" in result.notes[0]
    # Not while HAProxy finds them down: the traffic is left where it is, and said so.
    down = plan(proxy(), None, observed({"blue": 75, "green": 25}, status={"blue": "DOWN"}), color("green", V2, "v2"),
                adopted="blue")
    assert down.traffic is None and not down.remove and "HAProxy finds api/blue DOWN" in down.problems[0]
    # Once a release's record says what serves, that record decides, as for any environment.
    recorded = plan(proxy(), LIVE_V2_GREEN_V1_WARM, observed({"green": 100}, "blue"), color("green", V2, "v2"),
                    adopted="blue")
    assert recorded.traffic.live == "green" and not recorded.switch


def test_one_off_containers_are_waited_for_then_removed() -> None:
    migrate = Container(f"{PREFIX}-migrate", "running", labels={"greenlight.part": "migrate"})
    seed = Container(f"{PREFIX}-seed", "exited", labels={"greenlight.part": "seed"})
    result = plan(proxy(), LIVE_V1_BLUE, observed({"blue": 100}, "green"),
                  {**color("blue", V1, "v1"), migrate.name: migrate, seed.name: seed})
    assert result.wait_for == [migrate.name] and result.remove == [seed.name]


def test_a_backup_verification_database_left_running_is_removed() -> None:
    verify = Container(f"{PREFIX}-backup-verify", "running", labels={"greenlight.part": "backup-verify"})
    result = plan(proxy(), LIVE_V1_BLUE, observed({"blue": 100}, "green"), {**color("blue", V1, "v1"), verify.name: verify})
    assert result.wait_for == [] and result.remove == [verify.name]


def test_a_stopped_proxy_gets_the_recorded_state_without_a_switch() -> None:
    result = plan(proxy(), LIVE_V1_BLUE, None, color("blue", V1, "v1"))
    assert result.traffic.live == "blue" and not result.switch


def test_a_run_stopped_after_its_own_record_is_not_called_interrupted() -> None:
    lock = {"purpose": {"kind": "deploy", "version": "v2", "started": "2026-11-27T10:00:00Z"}}
    # What its own recovery wrote along the way does not count; its outcome does.
    along_the_way = [{"kind": "deploy", "version": "v2", "outcome": "interrupted", "started": "2026-11-27T09:58:00Z"},
                     {"kind": "recovery", "outcome": "success", "started": "2026-11-27T10:00:00Z"}]
    assert not finished(along_the_way, lock)
    done = along_the_way + [{"kind": "deploy", "version": "v2", "outcome": "success", "started": "2026-11-27T10:00:00Z"}]
    assert finished(done, lock)
    assert not finished(done, {"purpose": {"kind": "rollback"}})  # no start to match: interrupted


def test_an_interrupted_restore_is_finished_before_anything_and_its_maintenance_page_kept() -> None:
    pending = {"file": "warehouse-20261128T070000Z-manual.sql.gz", "sha256": "ab" * 32}
    result = plan(proxy(), LIVE_V1_BLUE, observed({"blue": 100}, "green", maintenance=True), color("blue", V1, "v1"),
                  pending)
    assert result.restore == pending and not result.maintenance_off
    assert "a restore of warehouse-20261128T070000Z-manual.sql.gz was interrupted" in result.notes[0]


def test_a_maintenance_page_no_restore_needs_goes_off() -> None:
    # A restore killed after loading (its pending file gone) and before turning the page off.
    result = plan(proxy(), LIVE_V1_BLUE, observed({"blue": 100}, "green", maintenance=True), color("blue", V1, "v1"))
    assert result.maintenance_off and not result.restore and not result.switch


def test_without_a_restore_or_a_page_recovery_leaves_maintenance_alone() -> None:
    result = plan(proxy(), LIVE_V1_BLUE, observed({"blue": 100}, "green"), color("blue", V1, "v1"))
    assert not result.maintenance_off and not result.restore and result.notes == []


def test_a_restores_pending_file_is_read_and_an_unreadable_one_stops_recovery(tmp_path) -> None:
    path = tmp_path / "restore-pending.json"
    assert pending_restore(str(path)) == {}
    path.write_text('{"file": "warehouse-x.sql.gz"}')
    assert pending_restore(str(path)) == {"file": "warehouse-x.sql.gz"}
    path.write_text('{"file": "warehouse-x')  # cut short
    with pytest.raises(ValueError, match="cannot be read"):
        pending_restore(str(path))
    path.write_text("{}")
    with pytest.raises(ValueError, match="names no backup"):
        pending_restore(str(path))
