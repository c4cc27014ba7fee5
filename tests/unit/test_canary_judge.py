"""The canary judge on edge cases: no traffic, equal rates, tiny samples, slow releases."""

from __future__ import annotations

import pytest

from ansible.module_utils.canary_judge import FAIL, INCONCLUSIVE, PASS, Sample, Thresholds, binomial_tail, judge

HEALTHY_OLD = Sample(requests=5000, errors=0, response_ms=12)


def test_an_unhealthy_new_color_fails_whatever_its_numbers() -> None:
    verdict = judge(Sample(1000, 0, 10, healthy=False), HEALTHY_OLD)
    assert verdict.outcome == FAIL
    assert "health" in verdict.reason


def test_no_traffic_at_all_is_inconclusive_not_a_pass() -> None:
    verdict = judge(Sample(0, 0, 0), Sample(0, 0, 0))
    assert verdict.outcome == INCONCLUSIVE
    assert "0 requests" in verdict.reason


def test_a_tiny_sample_is_inconclusive_even_when_it_is_all_errors() -> None:
    verdict = judge(Sample(10, 10, 5), HEALTHY_OLD, Thresholds(min_requests=50))
    assert verdict.outcome == INCONCLUSIVE


def test_the_flaky_release_fails_at_the_five_percent_step() -> None:
    # 5% of 100 requests/s for 20 s: about 100 requests, one in five failing.
    verdict = judge(Sample(100, 20, 14), Sample(1900, 0, 12))
    assert verdict.outcome == FAIL
    assert "20.0% 5xx (20/100)" in verdict.reason
    assert "0.0% 5xx (0/1900)" in verdict.reason


def test_equal_error_rates_pass_the_new_color_is_no_worse() -> None:
    verdict = judge(Sample(1000, 100, 12), Sample(1000, 100, 12))
    assert verdict.outcome == PASS


def test_one_stray_error_in_a_small_sample_is_not_enough_to_fail() -> None:
    assert judge(Sample(60, 1, 12), HEALTHY_OLD).outcome == PASS
    assert judge(Sample(60, 2, 12), HEALTHY_OLD).outcome == PASS


def test_a_few_errors_in_a_small_sample_fail() -> None:
    assert judge(Sample(60, 5, 12), HEALTHY_OLD).outcome == FAIL


def test_a_baseline_with_too_few_requests_is_not_trusted() -> None:
    # The old color's one error in three requests (33%) must not excuse a 20% canary.
    verdict = judge(Sample(200, 40, 12), Sample(3, 1, 12))
    assert verdict.outcome == FAIL
    assert "no comparison with the old color (3 requests)" in verdict.reason


def test_the_watch_window_judges_alone_when_the_old_color_has_no_traffic() -> None:
    assert judge(Sample(2000, 0, 12), Sample(0, 0, 0)).outcome == PASS
    assert judge(Sample(2000, 400, 12), Sample(0, 0, 0)).outcome == FAIL


def test_a_much_slower_new_color_fails() -> None:
    verdict = judge(Sample(500, 0, 450), Sample(5000, 0, 40))
    assert verdict.outcome == FAIL
    assert "too slow" in verdict.reason


def test_small_latency_differences_in_milliseconds_pass() -> None:
    # Three times slower, but only 20 ms more: below the floor, noise on a busy host.
    assert judge(Sample(500, 0, 30), Sample(5000, 0, 10)).outcome == PASS


def test_latency_is_not_judged_without_a_baseline() -> None:
    assert judge(Sample(500, 0, 900), Sample(10, 0, 10)).outcome == PASS


@pytest.mark.parametrize(("errors", "requests", "rate", "expected"), [
    (0, 100, 0.01, 1.0),
    (1, 1, 0.5, 0.5),
    (2, 2, 0.5, 0.25),
    (1, 50, 0.01, 1 - 0.99 ** 50),
    (20, 100, 0.0, 0.0),
    (3, 10, 1.0, 1.0),
])
def test_binomial_tail(errors: int, requests: int, rate: float, expected: float) -> None:
    assert binomial_tail(errors, requests, rate) == pytest.approx(expected)


def test_binomial_tail_is_fast_and_sane_on_large_samples() -> None:
    assert binomial_tail(150, 10_000, 0.01) < 0.001
    assert binomial_tail(90, 10_000, 0.01) > 0.8


def test_the_verdict_carries_its_numbers() -> None:
    numbers = judge(Sample(100, 20, 14), Sample(1900, 0, 12)).as_dict()
    assert numbers["outcome"] == FAIL
    assert numbers["canary"] == {"requests": 100, "errors": 20, "response_ms": 14, "healthy": True}
