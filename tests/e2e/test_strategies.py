"""End to end: the three strategies, the judge, the watch window and the instant rollback.

Runs after test_greenlight.py (file order) but needs only production on v1 or v2: each
deploy goes to the other one. Every deploy here goes to production under steady load on
127.0.0.1 and counts the failed requests.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import urllib.request

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import read_servers

from . import stack

pytestmark = pytest.mark.usefixtures("both_on_v1")

PRODUCTION = stack.PORTS["production"]


def deploy_under_load(version: str, *args: str, rate: float = stack.LOAD_RATE) -> tuple[stack.Run, dict]:
    with stack.load("production", rate=rate, port_name="proxy_api_port") as load:
        run = stack.deploy("production", version, *args)
    summary = load.report.summary()
    kept = stack.assert_writes_kept(load.report)
    print(f"\nproduction -> {version} {' '.join(args)}: {json.dumps(summary)}; "
          f"{kept} acknowledged writes, all in the database")
    stack.assert_smooth(summary)
    return run, summary


def other_version() -> str:
    return "v2" if stack.live_version("production") == "v1" else "v1"


def sticky_client_versions() -> tuple[str, list[str]]:
    """A browser's visit: the page, then the API with the page's cookie; the versions seen."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{PRODUCTION['proxy_http_port']}"
    with opener.open(f"{base}/", timeout=10) as response:
        page_version = re.search(r'name="frontend-version" content="([^"]+)"', response.read().decode()).group(1)
    api_versions = []
    for _ in range(8):
        with opener.open(f"{base}/api/version", timeout=10) as response:
            api_versions.append(json.loads(response.read())["version"])
    return page_version, api_versions


def test_rolling_deploy_under_load_drops_no_request() -> None:
    target = other_version()
    run, summary = deploy_under_load(target, "-e", "deploy_strategy=rolling")
    assert run.rc == 0, run.output[-3000:]
    # The load ran through the whole deploy (it wraps it); how long that is is the engine's
    # speed, not a target (2063 requests in one run, 1879 in the next, same code): a floor of
    # ten seconds at the rate only says the load really ran. That the deploy replaced both
    # slots is asserted below.
    assert summary["requests"] >= stack.LOAD_RATE * 10, summary
    stack.assert_no_failed(summary)
    # Both slots now serve the new release: nothing warm is left behind, both take traffic.
    assert stack.backend_versions("production") == {"blue": target, "green": target}
    weights = {color: info["weight"] for color, info in read_servers(stack.admin_socket("production"))["api"].items()}
    assert weights == {"blue": 100, "green": 100}
    last = stack.history("production")[-1]
    assert (last["strategy"], last["outcome"]) == ("rolling", "success")
    assert [window["window"] for window in last["analysis"]] == ["watch"]


def test_canary_steps_judge_the_new_release_and_users_stick_to_one_color() -> None:
    seen: list[tuple[str, list[str]]] = []

    def visit_during_the_50_percent_step() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            weights = [info["weight"] for info in read_servers(stack.admin_socket("production"))["api"].values()]
            if sorted(weights) == [50, 50]:
                seen.extend(sticky_client_versions() for _ in range(16))
                return
            time.sleep(0.2)

    target = other_version()
    visitor = threading.Thread(target=visit_during_the_50_percent_step)
    visitor.start()
    run, summary = deploy_under_load(target, "-e", "deploy_strategy=canary", "-e", '{"deploy_canary_steps": [5, 50, 100]}',
                                     "-e", "deploy_canary_hold=8", *stack.JUDGE_MAX_HOLD)
    visitor.join()
    assert run.rc == 0, run.output[-3000:]
    stack.assert_no_failed(summary)
    assert stack.live_version("production") == target
    last = stack.history("production")[-1]
    assert [(w["window"], w["outcome"]) for w in last["analysis"]] == [
        ("canary 5%", "pass"), ("canary 50%", "pass"), ("watch", "pass")]
    assert all(w["canary"]["requests"] >= 30 for w in last["analysis"])
    # Each user saw one release only, pages and API alike; between them, both releases.
    assert len(seen) == 16, "the 50% step was never seen"
    assert all(api == [page] * len(api) for page, api in seen), seen
    assert {page for page, _ in seen} == {"v1", "v2"}, seen


def test_greenlight_rollback_is_an_instant_switch_to_the_warm_color() -> None:
    live, previous = stack.live_version("production"), other_version()
    started = time.monotonic()
    with stack.load("production", port_name="proxy_api_port") as load:
        done = stack.playbook("rollback.yml", "production")
    print(f"\nrollback.yml took {time.monotonic() - started:.1f} s; "
          f"{stack.assert_writes_kept(load.report)} acknowledged writes under it, all in the database")
    stack.assert_no_failed(load.report.summary())
    assert done.rc == 0, done.output[-3000:]
    assert stack.live_version("production") == previous
    last = stack.history("production")[-1]
    assert (last["kind"], last["version"], last["previous_version"]) == ("rollback", previous, live)
    assert last["switch_ms"] < 100


def test_canary_rolls_the_flaky_release_back_by_itself() -> None:
    live = stack.live_version("production")
    before = stack.containers()
    run, summary = deploy_under_load("fault/flaky", "-e", "deploy_strategy=canary", "-e", "deploy_canary_hold=10",
                                     *stack.JUDGE_MAX_HOLD)
    assert run.rc != 0
    assert "the new release is worse: 5xx rate too high" in run.output
    assert f"traffic is back on {live}" in run.output
    assert stack.live_version("production") == live
    # Users saw a few of the canary's errors, far fewer than 1%.
    assert summary["failed"] / summary["requests"] < 0.01, summary
    last = stack.history("production")[-1]
    assert last["outcome"] == "failed"
    assert (last["analysis"][-1]["window"], last["analysis"][-1]["outcome"]) == ("canary 5%", "fail")
    assert 0 < last["rollback_ms"] < 100
    # The flaky containers are gone; the live ones were not touched.
    after = stack.containers()
    assert all(after[name] == cid for name, cid in before.items() if name in after)


def test_canary_rolls_back_a_release_five_times_slower_without_an_error() -> None:
    # slow is v2 made slower; v1 and v2 answer alike, so either is a fair old release. The judge
    # runs with its default latency floors here (5/25 ms): the suite's wider ones (12/60) guard
    # good releases against false rollbacks, but on a fast host they let slow through the short
    # canary windows (p50 17 ms against 4 ms, allowed 4 + 12 = 16: caught only by the watch).
    live = stack.live_version("production")
    run, summary = deploy_under_load("fault/slow", "-e", "deploy_strategy=canary", "-e", "deploy_canary_hold=5",
                                     "-e", '{"deploy_judge_latency_floors_ms": [5, 25]}', *stack.JUDGE_MAX_HOLD)
    assert run.rc != 0
    assert "the new release is worse: too slow" in run.output, run.output[-3000:]
    assert stack.live_version("production") == live
    stack.assert_no_failed(summary)
    last = stack.history("production")[-1]
    assert (last["analysis"][-1]["window"], last["analysis"][-1]["outcome"]) == ("canary 5%", "fail")
    print(f"\nslow caught: {last['analysis'][-1]['reason']}")


def test_watch_window_rolls_back_a_release_that_goes_bad_after_the_switch() -> None:
    # Blue-green moves everything at once; flaky passes its smoke checks, then fails real traffic.
    live = stack.live_version("production")
    run, summary = deploy_under_load("fault/flaky", "-e", "deploy_strategy=blue_green", "-e", "deploy_watch_seconds=10",
                                     *stack.JUDGE_MAX_HOLD)
    assert run.rc != 0
    assert "the new release is worse" in run.output and f"traffic is back on {live}" in run.output
    assert stack.live_version("production") == live
    last = stack.history("production")[-1]
    assert (last["analysis"][-1]["window"], last["analysis"][-1]["outcome"]) == ("watch", "fail")
    assert 0 < last["rollback_ms"] < 100
    print(f"\nflaky live until the watch window caught it: {summary['failed']} of {summary['requests']} failed")
