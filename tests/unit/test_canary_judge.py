"""The canary judge: per-request samples, relative and absolute rules, health states, evidence.

Requests are built the way HAProxy logs them (plugins/module_utils/request_log.py); one test reads
lines a real HAProxy 2.6 wrote to its ring buffer (fixtures/judge-ring.log).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.canary_judge import (FAIL, INCONCLUSIVE, PASS, Sample, Thresholds, binomial_tail,
                                               critical_errors, detection_power, judge, needed_requests,
                                               percentile, thin)
from ansible_collections.greenlight.deploy.plugins.module_utils.request_log import Request, parse, route

RING = Path(__file__).parent / "fixtures" / "judge-ring.log"


def requests(count: int, ms: float = 2.0, errors: int = 0, server: str = "green", path: str = "/api/items",
             jitter: float = 0.0, seed: int = 1, client_errors: int = 0) -> list[Request]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        status = 500 if i < errors else 404 if i < errors + client_errors else 200
        out.append(Request(at=1000.0 + i, backend="api", server=server, status=status,
                           ms=max(0.0, ms + rng.uniform(-jitter, jitter)), route=route("GET", path), broken=False))
    return out


CLEAN_OLD = Sample.of(requests(5000, ms=2.0, jitter=1.0, server="blue"))


def test_the_ring_buffer_lines_of_a_real_haproxy_parse_into_requests() -> None:
    parsed = parse(RING.read_text())
    assert len(parsed) == 47  # 7 routes x 6 on the users' port, 3 on the preview, a POST, a broken one
    first = parsed[0]
    assert (first.backend, first.server, first.status, first.route) == ("api", "blue", 200, "GET /api/items")
    assert {r.route for r in parsed} >= {"GET /api/items", "GET /api/items/{id}", "GET /api/version",
                                         "GET /health", "POST /api/items"}
    assert sum(r.status == 500 for r in parsed) == 6 and sum(r.client_error for r in parsed) == 6
    broken = [r for r in parsed if r.broken]
    assert len(broken) == 1 and broken[0].status == 503 and broken[0].failed and broken[0].ms == 3004
    green = [r.ms for r in parsed if r.server == "green" and r.status == 200]
    assert green and min(green) >= 10  # the capture's green answered after a 10 ms sleep


def test_routes_drop_the_query_and_ids() -> None:
    assert route("GET", "/api/items?limit=5&offset=10") == "GET /api/items"
    assert route("GET", "/api/items/42") == "GET /api/items/{id}"
    assert route("PUT", "/api/items/3f2a9c1e-0b7d-4e5f-9a8b-1c2d3e4f5a6b") == "PUT /api/items/{id}"
    assert route("GET", "/") == "GET /"


def test_an_unhealthy_new_release_fails_whatever_its_numbers() -> None:
    verdict = judge(Sample.of(requests(1000), health="DOWN"), CLEAN_OLD)
    assert verdict.outcome == FAIL and "DOWN" in verdict.reason


@pytest.mark.parametrize("state", ["UP", "UP 2/3", "DRAIN", "NOLB"])
def test_one_failed_check_or_a_drain_is_not_a_failure(state: str) -> None:
    assert judge(Sample.of(requests(1000), health=state), CLEAN_OLD).outcome == PASS


@pytest.mark.parametrize("state", ["DOWN", "DOWN 1/2", "MAINT", "missing"])
def test_down_maintenance_or_missing_servers_fail(state: str) -> None:
    assert judge(Sample.of(requests(1000), health=state), CLEAN_OLD).outcome == FAIL


def test_no_traffic_at_all_is_inconclusive_not_a_pass() -> None:
    verdict = judge(Sample(), Sample())
    assert verdict.outcome == INCONCLUSIVE and "0 requests" in verdict.reason


def test_a_tiny_sample_is_inconclusive_even_when_it_is_all_errors() -> None:
    assert judge(Sample.of(requests(10, errors=10)), CLEAN_OLD).outcome == INCONCLUSIVE


def test_the_flaky_release_fails_at_the_five_percent_step() -> None:
    verdict = judge(Sample.of(requests(100, errors=20)), CLEAN_OLD)
    assert verdict.outcome == FAIL
    assert "20.0% 5xx (20/100)" in verdict.reason and "0.0% 5xx (0/5000)" in verdict.reason


def test_a_release_failing_two_percent_fails_once_the_sample_is_large_enough() -> None:
    needed = judge(Sample.of(requests(100)), CLEAN_OLD).evidence["needed"]
    assert 200 < needed < 1000
    # Exactly 2% errors over the needed sample.
    assert judge(Sample.of(requests(needed, errors=needed // 50)), CLEAN_OLD).outcome == FAIL
    # The same 2% over a tenth of it is not enough evidence, and the verdict says so.
    small = judge(Sample.of(requests(needed // 10, errors=needed // 500)), CLEAN_OLD)
    assert small.outcome == PASS and small.evidence["power"] < 0.5


def test_the_margin_is_relative_as_well_as_absolute() -> None:
    old = Sample.of(requests(20000, errors=200, server="blue"))  # 1%
    # 1.6% against 1%: within the ratio of 2 (allowed 2%).
    assert judge(Sample.of(requests(2000, errors=32)), old).outcome == PASS
    # 4% against 1%: four times worse.
    assert judge(Sample.of(requests(2000, errors=80)), old).outcome == FAIL
    # 0.1% -> 0.9% of a clean-ish baseline is beyond the absolute margin of 0.5 point.
    low = Sample.of(requests(20000, errors=20, server="blue"))
    assert judge(Sample.of(requests(5000, errors=45)), low).outcome == FAIL


def test_equal_error_rates_pass() -> None:
    old = Sample.of(requests(1000, errors=100, server="blue"))
    assert judge(Sample.of(requests(1000, errors=100)), old).outcome == PASS


def test_one_stray_error_in_a_small_sample_is_not_enough_to_fail() -> None:
    assert judge(Sample.of(requests(60, errors=1)), CLEAN_OLD).outcome == PASS


def test_client_errors_are_counted_and_reported() -> None:
    verdict = judge(Sample.of(requests(1000, client_errors=20)), CLEAN_OLD)
    assert verdict.outcome == PASS and verdict.as_dict()["canary"]["client_errors"] == 20


def test_a_baseline_with_too_few_requests_is_not_trusted() -> None:
    verdict = judge(Sample.of(requests(200, errors=40)), Sample.of(requests(3, errors=1, server="blue")))
    assert verdict.outcome == FAIL and "(3 requests)" in verdict.reason


def test_five_times_slower_than_a_two_millisecond_baseline_fails() -> None:
    verdict = judge(Sample.of(requests(200, ms=10.0, jitter=1.0)), CLEAN_OLD)
    assert verdict.outcome == FAIL and "too slow: GET /api/items p50" in verdict.reason


def test_a_release_slow_for_one_request_in_ten_fails_on_p95() -> None:
    new = Sample.of(requests(180, ms=2.0, jitter=1.0) + requests(20, ms=50.0, seed=3))
    verdict = judge(new, CLEAN_OLD)
    assert verdict.outcome == FAIL and "too slow: GET /api/items p95 50 ms" in verdict.reason


def test_a_busy_host_slowing_both_sides_alike_passes() -> None:
    # Queueing fills both tails; the medians tell the releases apart, and they agree.
    old = Sample.of(requests(2000, ms=6.0, jitter=5.0, server="blue") + requests(100, ms=80.0, server="blue"))
    new = Sample.of(requests(400, ms=6.0, jitter=5.0, seed=4) + requests(20, ms=80.0, seed=5))
    assert judge(new, old).outcome == PASS


def test_three_times_slower_than_a_slow_baseline_fails() -> None:
    old = Sample.of(requests(2000, ms=200.0, jitter=20.0, server="blue"))
    assert judge(Sample.of(requests(200, ms=600.0, jitter=20.0)), old).outcome == FAIL


def test_a_route_recorded_before_the_window_is_judged_with_the_wider_ratio() -> None:
    # The false rollback of CI (2026-11-28): a good release's watch window at 33 ms against a
    # baseline of 14 ms recorded before the switch, on a host that had got busier.
    times = [14.0] * 1000
    new = Sample.of(requests(484, ms=33.0, path="/api/items/7"))
    same_moment = Sample(1000, 0, 0, {"GET /api/items/{id}": times})
    across_time = Sample(1000, 0, 0, {"GET /api/items/{id}": times}, recorded_before=frozenset({"GET /api/items/{id}"}))
    failed = judge(new, same_moment)
    assert failed.outcome == FAIL and "(in the same window); allowed up to 28 ms" in failed.reason
    assert judge(new, across_time).outcome == PASS
    slower = judge(Sample.of(requests(484, ms=43.0, path="/api/items/7")), across_time)
    assert slower.outcome == FAIL and "(recorded before the deploy); allowed up to 42 ms" in slower.reason


def test_a_ninety_times_slower_release_fails() -> None:
    # The first round's judge passed this one (its floor was 100 ms).
    assert judge(Sample.of(requests(200, ms=90.0)), Sample.of(requests(2000, ms=1.0, server="blue"))).outcome == FAIL


def test_a_millisecond_of_noise_on_a_fast_app_passes() -> None:
    assert judge(Sample.of(requests(500, ms=3.0, jitter=1.0, seed=2)), CLEAN_OLD).outcome == PASS


def test_latency_is_compared_per_route_not_over_a_different_mix() -> None:
    # The old release's live traffic is mostly fast reads; the new one's window is mostly a
    # slower route that is just as slow on the old release.
    old = Sample.of(requests(2000, ms=2.0, server="blue") + requests(200, ms=40.0, path="/", server="blue"))
    new = Sample.of(requests(50, ms=2.0) + requests(500, ms=40.0, path="/"))
    verdict = judge(new, old)
    assert verdict.outcome == PASS and verdict.evidence["latency_routes"] == ["GET /", "GET /api/items"]


def test_a_route_with_too_few_requests_on_either_side_is_not_compared() -> None:
    new = Sample.of(requests(500, ms=2.0) + requests(5, ms=500.0, path="/api/version"))
    old = Sample.of(requests(2000, ms=2.0, server="blue") + requests(500, ms=1.0, path="/api/version", server="blue"))
    verdict = judge(new, old)
    assert verdict.outcome == PASS and "GET /api/version" not in verdict.evidence["latency_routes"]


def test_latency_is_not_judged_without_a_baseline() -> None:
    verdict = judge(Sample.of(requests(500, ms=900.0)), Sample())
    assert verdict.outcome == PASS and "latency not compared" in verdict.reason


def test_a_baseline_survives_its_trip_through_a_task() -> None:
    original = Sample.of(requests(5000, ms=2.0, jitter=1.5, errors=7, server="blue"))
    travelled = Sample.from_data(original.as_data())
    assert (travelled.requests, travelled.errors) == (5000, 7)
    assert len(travelled.latencies["GET /api/items"]) == 1000  # thinned: enough for p99's tail
    assert abs(travelled.percentile("GET /api/items", 95) - original.percentile("GET /api/items", 95)) < 0.05


def test_percentile_and_thin() -> None:
    values = list(range(1, 101))
    assert percentile(values, 95) == 95 and percentile(values, 50) == 50 and percentile([], 95) == 0
    assert thin(values, 3) == [1, 50, 100] or thin(values, 3) == [1, 51, 100]
    assert thin([1, 2], 5) == [1, 2]


@pytest.mark.parametrize(("errors", "requests_", "rate", "expected"), [
    (0, 100, 0.01, 1.0), (1, 1, 0.5, 0.5), (2, 2, 0.5, 0.25), (101, 100, 0.5, 0.0), (3, 10, 0.0, 0.0),
])
def test_binomial_tail(errors: int, requests_: int, rate: float, expected: float) -> None:
    assert binomial_tail(errors, requests_, rate) == pytest.approx(expected)


def test_power_grows_with_the_sample_and_matches_the_needed_count() -> None:
    needed = needed_requests(0.005, 0.02, 0.05, 0.95)
    assert detection_power(needed, 0.005, 0.02, 0.05) >= 0.95
    assert detection_power(needed // 2, 0.005, 0.02, 0.05) < 0.95
    assert critical_errors(needed, 0.005, 0.05) > needed * 0.005
    assert needed_requests(0.02, 0.02, 0.05, 0.95) == 100_000  # cannot detect what is allowed


def test_the_verdict_carries_its_numbers_and_evidence() -> None:
    verdict = judge(Sample.of(requests(300)), CLEAN_OLD).as_dict()
    assert verdict["outcome"] == "pass"
    assert verdict["canary"]["requests"] == 300 and verdict["baseline"]["requests"] == 5000
    assert set(verdict["evidence"]) >= {"requests", "needed", "power", "detects", "allowed"}
    assert "chance to catch 2.0% 5xx" in verdict["reason"]


def test_a_release_answering_4xx_where_the_old_one_answered_200_fails() -> None:
    verdict = judge(Sample.of(requests(1000, client_errors=1000)), CLEAN_OLD)
    assert verdict.outcome == FAIL and verdict.reason.startswith("4xx rate too high"), verdict.reason
    # One route of ten answering 404: 10% against 0%.
    assert judge(Sample.of(requests(1000, client_errors=100)), CLEAN_OLD).outcome == FAIL


def test_4xx_at_the_old_releases_rate_or_a_few_points_above_passes() -> None:
    old = Sample.of(requests(2000, client_errors=100, server="blue"))  # 5%: clients make mistakes
    assert judge(Sample.of(requests(1000, client_errors=50)), old).outcome == PASS
    assert judge(Sample.of(requests(1000, client_errors=70)), old).outcome == PASS  # 7%, allowed 10%
    assert judge(Sample.of(requests(1000, client_errors=30)), CLEAN_OLD).outcome == PASS  # 3%, allowed 5%
    assert judge(Sample.of(requests(1000, client_errors=200)), old).outcome == FAIL  # 20%, allowed 10%


def test_p99_is_still_compared_after_the_baseline_travelled() -> None:
    old = Sample.from_data(Sample.of(requests(5000, ms=2.0, jitter=1.0, server="blue")).as_data())
    slow_tail = requests(2000, ms=2.0, jitter=1.0)
    slow_tail[:60] = requests(60, ms=200.0, seed=2)  # 3% of answers take 200 ms
    verdict = judge(Sample.of(slow_tail), old, Thresholds(latency_percentiles=(99.0,), latency_floors_ms=(25.0,)))
    assert verdict.outcome == FAIL and "p99" in verdict.reason, verdict.reason
