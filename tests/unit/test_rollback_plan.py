"""The instant rollback's decision: which release, and whether the old color is warm."""

from __future__ import annotations

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import live_color
from ansible_collections.greenlight.deploy.plugins.module_utils.history import Live, recorded_live
from ansible_collections.greenlight.deploy.plugins.module_utils.rollback_plan import NoRollback, plan_rollback

from .helpers import PREFIX, V1, V2, color, container, observed, proxy

COLORS = ("blue", "green")


def warm_environment() -> tuple[list[dict], dict, object]:
    history = [
        {"kind": "deploy", "outcome": "success", "commit": V1, "previous_commit": "", "previous_version": "",
         "live": {"version": "v1", "commit": V1, "color": "blue", "serving": ["blue"], "warm": {}}},
        {"kind": "promote", "outcome": "success"},
        {"kind": "deploy", "outcome": "success", "commit": V2, "previous_commit": V1, "previous_version": "v1",
         "live": {"version": "v2", "commit": V2, "color": "green", "serving": ["green"],
                  "warm": {"color": "blue", "version": "v1", "commit": V1}}},
        {"kind": "deploy", "outcome": "failed", "commit": "c" * 40, "previous_commit": V2, "previous_version": "v2",
         "live": {"version": "v2", "commit": V2, "color": "green", "serving": ["green"],
                  "warm": {"color": "blue", "version": "v1", "commit": V1}}},
    ]
    containers = {**color("green", V2, "v2"), **color("blue", V1, "v1")}
    return history, containers, observed({"green": 100}, "blue")


def plan(history: list[dict], containers: dict, servers, live: str = "green"):
    return plan_rollback("production", proxy(), history, recorded_live(history, COLORS), containers, servers, live)


def test_a_warm_old_color_is_an_instant_rollback_skipping_failed_deploys_and_promotions() -> None:
    result = plan(*warm_environment())
    assert (result.to_version, result.to_commit, result.color) == ("v1", V1, "blue")
    assert (result.from_version, result.from_commit) == ("v2", V2)
    assert result.images == {"backend": f"shop-backend:{V1[:12]}", "frontend": f"shop-frontend:{V1[:12]}"}


def test_no_history_means_nothing_to_roll_back_to() -> None:
    _, containers, servers = warm_environment()
    with pytest.raises(NoRollback, match="nothing to roll back to in production") as error:
        plan([], containers, servers)
    assert error.value.code == "nothing_to_roll_back"


def test_a_first_deploy_has_nothing_to_roll_back_to() -> None:
    history, containers, servers = warm_environment()
    with pytest.raises(NoRollback) as error:
        plan(history[:1], containers, servers, live="blue")
    assert error.value.code == "nothing_to_roll_back"


@pytest.mark.parametrize(("change", "fault"), [
    (lambda c, s: c.pop(f"{PREFIX}-frontend-blue"), f"{PREFIX}-frontend-blue is missing"),
    (lambda c, s: c.update({f"{PREFIX}-backend-blue": container("backend", "blue", V1, "v1", "exited")}),
     f"{PREFIX}-backend-blue is exited"),
    (lambda c, s: c.update({f"{PREFIX}-backend-blue": container("backend", "blue", V2, "v2")}),
     f"{PREFIX}-backend-blue runs v2"),
    (lambda c, s: s.servers["web"]["blue"].update(status="DOWN"), "HAProxy finds web/blue DOWN"),
])
def test_an_old_color_that_is_not_warm_asks_for_a_redeploy_of_the_previous_release(change, fault: str) -> None:
    history, containers, servers = warm_environment()
    change(containers, servers)
    with pytest.raises(NoRollback, match=fault) as error:
        plan(history, containers, servers)
    assert (error.value.code, error.value.to_version, error.value.to_commit) == ("not_warm", "v1", V1)
    assert "redeploy v1" in str(error.value)


def test_after_a_rolling_deploy_there_is_no_warm_color_and_the_previous_release_is_redeployed() -> None:
    history, containers, _ = warm_environment()
    history.append({"kind": "deploy", "outcome": "success", "strategy": "rolling", "commit": V2,
                    "previous_version": "v1", "previous_commit": V1,
                    "live": {"version": "v2", "commit": V2, "color": "green", "serving": ["green", "blue"]}})
    containers = {**color("green", V2, "v2"), **color("blue", V2, "v2")}
    with pytest.raises(NoRollback, match="rolling deploy keeps no warm color") as error:
        plan(history, containers, observed({"green": 100, "blue": 100}, "blue"))
    assert error.value.code == "not_warm" and error.value.to_version == "v1"


def test_a_live_release_the_history_did_not_put_live_is_refused() -> None:
    history, containers, servers = warm_environment()
    containers.update(color("green", "d" * 40, "hotfix"))
    with pytest.raises(NoRollback, match="cannot tell which release") as error:
        plan(history, containers, servers)
    assert error.value.code == "failed"


def test_a_rollback_of_a_rollback_goes_forward_again() -> None:
    history, containers, servers = warm_environment()
    history.append({"kind": "rollback", "outcome": "success", "commit": V1, "previous_version": "v2",
                    "previous_commit": V2,
                    "live": {"version": "v1", "commit": V1, "color": "blue", "serving": ["blue"],
                             "warm": {"color": "green", "version": "v2", "commit": V2}}})
    result = plan(history, containers, observed({"blue": 100}, "green"), live="blue")
    assert (result.to_version, result.color) == ("v2", "green")


def test_live_color_is_the_larger_share_and_the_saved_one_on_a_tie() -> None:
    canary = {"api": {"blue": {"weight": 95}, "green": {"weight": 5}}}
    rolling = {"api": {"blue": {"weight": 100}, "green": {"weight": 100}}}
    assert live_color(canary, ["green"]) == "blue"
    assert live_color(rolling, ["green", "blue"]) == "green"
    assert live_color({"api": {"blue": {"weight": 0}}}, ["blue"]) == "blue"
    assert live_color({}, []) == ""
    assert Live("v1", V1, "blue", ("blue",)).as_dict()["warm"] == {}


def named(history: list[dict], containers: dict, servers, wanted: str):
    return plan_rollback("production", proxy(), history, recorded_live(history, COLORS), containers, servers,
                         "green", wanted)


@pytest.mark.parametrize("wanted", ["v1", V1[:7], V1])
def test_a_named_earlier_release_by_version_or_commit_is_the_target(wanted: str) -> None:
    result = named(*warm_environment(), wanted)
    assert (result.to_version, result.to_commit, result.color) == ("v1", V1, "blue")


def test_a_named_release_that_is_not_warm_is_redeployed_with_its_recorded_commit() -> None:
    history, containers, servers = warm_environment()
    containers.update({f"{PREFIX}-backend-blue": container("backend", "blue", V2, "v2")})
    with pytest.raises(NoRollback) as error:
        named(history, containers, servers, "v1")
    assert (error.value.code, error.value.to_version, error.value.to_commit) == ("not_warm", "v1", V1)


@pytest.mark.parametrize(("wanted", "phrase"), [
    ("v9", "v9 never served production"),
    ("c" * 40, "never served production"),  # its deploy failed
    ("ab", "ab never served production"),   # too short to be a commit
    ("v2", "v2 (" + V2[:12] + ") already serves production"),
])
def test_a_named_release_must_have_served_and_must_not_serve_now(wanted: str, phrase: str) -> None:
    with pytest.raises(NoRollback, match=phrase.replace("(", r"\(").replace(")", r"\)")) as error:
        named(*warm_environment(), wanted)
    assert error.value.code == "nothing_to_roll_back"
