"""The canary judge: is the new color worse than the old one?

A pure function of two sets of numbers, the counters HAProxy kept for each color over
one observation window (a canary step or the watch window after the switch). It is used
by the greenlight_canary module and tested without Docker.

The rules, in order:
1. The new color must be healthy (HAProxy's checks say UP).
2. It must have answered at least `min_requests` requests, or nothing can be said: the
   verdict is "inconclusive" and the caller sends synthetic requests and asks again.
3. Its 5xx rate must not be higher than the old color's plus `error_margin`. Small
   samples are judged fairly: the new color fails only when its number of errors would
   be unlikely (probability below `significance`) if its true error rate were that
   allowed rate (a one-sided binomial test). The old color's rate counts only when it
   answered at least `min_requests` itself; otherwise it is taken as 0.
4. Its mean response time must not exceed the old color's times `latency_ratio` by more
   than `latency_floor_ms` (again only when the old color has enough requests).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

PASS = "pass"
FAIL = "fail"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Sample:
    """What one color did during the window."""

    requests: int
    errors: int
    response_ms: float
    healthy: bool = True

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        return (f"{self.error_rate:.1%} 5xx ({self.errors}/{self.requests}), "
                f"{self.response_ms:.0f} ms")


@dataclass(frozen=True)
class Thresholds:
    min_requests: int = 50
    error_margin: float = 0.01
    significance: float = 0.05
    latency_ratio: float = 2.0
    latency_floor_ms: float = 100.0


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str
    canary: Sample
    baseline: Sample

    @property
    def passed(self) -> bool:
        return self.outcome == PASS

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "reason": self.reason,
                "canary": asdict(self.canary), "baseline": asdict(self.baseline)}


def binomial_tail(errors: int, requests: int, rate: float) -> float:
    """P(X >= errors) for X ~ Binomial(requests, rate)."""
    if errors <= 0:
        return 1.0
    if rate <= 0.0:
        return 0.0
    if rate >= 1.0:
        return 1.0
    log_rate, log_rest = math.log(rate), math.log1p(-rate)

    def pmf(k: int) -> float:
        return math.exp(math.lgamma(requests + 1) - math.lgamma(k + 1) - math.lgamma(requests - k + 1)
                        + k * log_rate + (requests - k) * log_rest)

    # Sum the shorter side for speed; both are exact up to rounding.
    if errors <= requests - errors:
        return max(0.0, 1.0 - sum(pmf(k) for k in range(errors)))
    return min(1.0, sum(pmf(k) for k in range(errors, requests + 1)))


def judge(canary: Sample, baseline: Sample, thresholds: Thresholds = Thresholds()) -> Verdict:
    """Compare the new color (canary) with the old one (baseline) over the same window."""

    def verdict(outcome: str, reason: str) -> Verdict:
        return Verdict(outcome, reason, canary, baseline)

    if not canary.healthy:
        return verdict(FAIL, "the new color failed its health checks")
    if canary.requests < thresholds.min_requests:
        return verdict(INCONCLUSIVE, f"the new color answered {canary.requests} requests, "
                                     f"fewer than the {thresholds.min_requests} needed to judge it")

    baseline_counts = baseline.requests >= thresholds.min_requests
    baseline_rate = baseline.error_rate if baseline_counts else 0.0
    compared_with = (f"the old color's {baseline.describe()}" if baseline_counts
                     else f"no comparison with the old color ({baseline.requests} requests)")
    allowed_rate = min(1.0, baseline_rate + thresholds.error_margin)
    p_value = binomial_tail(canary.errors, canary.requests, allowed_rate)
    if canary.error_rate > allowed_rate and p_value < thresholds.significance:
        return verdict(FAIL, f"5xx rate too high: new color {canary.describe()} against "
                             f"{compared_with}; allowed {allowed_rate:.1%} "
                             f"(p={p_value:.2g} < {thresholds.significance})")

    if baseline_counts:
        latency_limit = max(baseline.response_ms * thresholds.latency_ratio,
                            baseline.response_ms + thresholds.latency_floor_ms)
        if canary.response_ms > latency_limit:
            return verdict(FAIL, f"too slow: new color {canary.describe()} against {compared_with}; "
                                 f"allowed up to {latency_limit:.0f} ms")

    return verdict(PASS, f"new color {canary.describe()} against {compared_with}; "
                         f"allowed up to {allowed_rate:.1%} 5xx")
