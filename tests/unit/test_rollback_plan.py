"""The instant rollback's decision: which release, and whether the old color is warm."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "module_utils"))

from haproxy_runtime import live_color  # noqa: E402
from rollback_plan import Container, NoRollback, plan_rollback  # noqa: E402

PREFIX = "shop-production"
V1, V2 = "a" * 40, "b" * 40


def container(part: str, color: str, commit: str, version: str, state: str = "running") -> Container:
    return Container(f"{PREFIX}-{part}-{color}", state, f"shop-{part}:{commit[:12]}", f"sha256:{part}{commit[:4]}",
                     {"greenlight.commit": commit, "greenlight.version": version})


def warm_environment() -> tuple[list[dict], dict, dict]:
    history = [
        {"kind": "deploy", "outcome": "success", "commit": V1, "previous_commit": "", "previous_version": ""},
        {"kind": "promote", "outcome": "success"},
        {"kind": "deploy", "outcome": "success", "commit": V2, "previous_commit": V1, "previous_version": "v1"},
        {"kind": "deploy", "outcome": "failed", "commit": "c" * 40, "previous_commit": V2, "previous_version": "v2"},
    ]
    containers = {c.name: c for c in [
        container("backend", "green", V2, "v2"), container("frontend", "green", V2, "v2"),
        container("backend", "blue", V1, "v1"), container("frontend", "blue", V1, "v1")]}
    servers = {"api": {"blue": {"weight": 0, "status": "UP"}, "green": {"weight": 100, "status": "UP"}},
               "web": {"blue": {"weight": 0, "status": "UP"}, "green": {"weight": 100, "status": "UP"}}}
    return history, containers, servers


def plan(history: list[dict], containers: dict, servers: dict, live: str = "green"):
    return plan_rollback("production", PREFIX, ["blue", "green"], history, containers, servers, live)


def test_a_warm_old_color_is_an_instant_rollback_skipping_failed_deploys_and_promotions() -> None:
    result = plan(*warm_environment())
    assert (result.to_version, result.to_commit, result.color) == ("v1", V1, "blue")
    assert (result.from_version, result.from_commit) == ("v2", V2)
    assert result.images == {"backend": f"shop-backend:{V1[:12]}", "frontend": f"shop-frontend:{V1[:12]}"}


def test_no_history_means_nothing_to_roll_back_to() -> None:
    _, containers, servers = warm_environment()
    with pytest.raises(NoRollback, match="nothing to roll back to in production") as error:
        plan([], containers, servers)
    assert error.value.mode == "nothing"


@pytest.mark.parametrize(("change", "fault"), [
    (lambda c, s: c.pop(f"{PREFIX}-frontend-blue"), "its frontend container is missing"),
    (lambda c, s: c.update({f"{PREFIX}-backend-blue": container("backend", "blue", V1, "v1", "exited")}),
     "its backend container is exited"),
    (lambda c, s: c.update({f"{PREFIX}-backend-blue": container("backend", "blue", V2, "v2")}), "its backend runs v2"),
    (lambda c, s: s["web"]["blue"].update(status="DOWN"), "HAProxy reports web/blue DOWN"),
])
def test_an_old_color_that_is_not_warm_asks_for_a_redeploy_of_the_previous_release(change, fault: str) -> None:
    history, containers, servers = warm_environment()
    change(containers, servers)
    with pytest.raises(NoRollback, match=fault) as error:
        plan(history, containers, servers)
    assert (error.value.mode, error.value.to_version, error.value.to_commit) == ("redeploy", "v1", V1)
    assert "redeploy v1" in str(error.value)


def test_a_live_release_the_history_did_not_put_live_is_ambiguous() -> None:
    history, containers, servers = warm_environment()
    containers[f"{PREFIX}-backend-green"] = container("backend", "green", "d" * 40, "hotfix")
    with pytest.raises(NoRollback, match="cannot tell which release") as error:
        plan(history, containers, servers)
    assert error.value.mode == "ambiguous"


def test_live_color_is_the_larger_share_and_the_saved_one_on_a_tie() -> None:
    canary = {"api": {"blue": {"weight": 95}, "green": {"weight": 5}}}
    rolling = {"api": {"blue": {"weight": 100}, "green": {"weight": 100}}}
    assert live_color(canary, ["green"]) == "blue"
    assert live_color(rolling, ["green", "blue"]) == "green"
    assert live_color({"api": {"blue": {"weight": 0}}}, ["blue"]) == "blue"
    assert live_color({}, []) == ""
