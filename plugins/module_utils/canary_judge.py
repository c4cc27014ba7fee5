"""The canary judge: is the new release worse than the old one?

A pure function of two samples of requests, each request as HAProxy logged it (route,
status, total time; plugins/module_utils/request_log.py). The new release's sample is one judged
window (a canary step, or the watch window after the switch); the old release's is either
the old color over the same window (during a canary step, when it answered enough) or the
baseline recorded from live traffic before any traffic moved. It is used by the
greenlight.deploy.canary module and tested without Docker.

The rules, in order:
1. Health: the new release's servers must be up in HAProxy ("UP", "UP 2/3": one failed
   check of three, "DRAIN", "NOLB"); "DOWN" or "MAINT" fails.
2. Evidence: below `min_requests` requests nothing can be said ("inconclusive"; the
   caller sends synthetic requests and asks again).
3. Errors (5xx answers and connections the server broke): the allowed rate is the old
   release's rate times `error_ratio`, and at least its rate plus `error_margin`. The new
   release fails only when its error count would be unlikely (p below `significance`) if
   its true rate were the allowed one: a one-sided binomial test, fair to small samples.
4. Latency: for each route both sides answered at least `latency_min_requests` times, and
   each of `latency_percentiles` (p50 and p95 by default), the new release's value must not
   exceed the old release's times `latency_ratio` (`latency_ratio_across_time` for a route
   whose old times were recorded before the window, `Sample.recorded_before`: a host busier
   now than then slows a good release too), nor its value plus that percentile's
   floor (`latency_floors_ms`: 5 ms for p50, 25 ms for p95), whichever is larger. The floor
   keeps a few milliseconds of noise from failing a fast app; a ratio alone would let a
   slow app's regressions through. The median catches a release that is slower for
   everybody even when a busy host's queueing fills both tails; p95 catches a release that
   is slow for some, with a wider floor because a busy host's tail is noisy. A percentile
   is compared only when each side has at least 5 requests above it (100 for p95), so it
   is never one stray request.
5. 4xx answers: the same test as errors, with `client_error_ratio` and the wider
   `client_error_margin` (5 points): a client's mistake is not the release's, but a release
   that answers 401 or 404 where the old one answered 200 is broken for its users.

The verdict says how much evidence it had: how many requests, how many a test needs to
catch a release failing `detect_rate` more requests than the old one with probability
`power`, and the probability it had of catching such a release.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

PASS = "pass"
FAIL = "fail"
INCONCLUSIVE = "inconclusive"

# Latencies kept per route when a sample travels between tasks (evenly spaced quantiles).
# 1000: enough for p99 to be compared (TAIL_REQUESTS above it).
KEPT_LATENCIES = 1000
HEALTHY_STATES = ("UP", "DRAIN", "NOLB")
# A percentile is compared only when each side has this many requests above it.
TAIL_REQUESTS = 5


@dataclass(frozen=True)
class Sample:
    """What one release did: request counts and, per route, the sorted total times in ms."""

    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    latencies: dict = field(default_factory=dict)
    health: str = "UP"
    # Routes whose latencies were recorded before the window they are compared with (the
    # baseline's, where the old color answered too few in the window): judged across time.
    recorded_before: frozenset = frozenset()

    @classmethod
    def of(cls, requests, health: str = "UP") -> "Sample":
        latencies: dict[str, list[float]] = {}
        errors = client_errors = count = 0
        for request in requests:
            count += 1
            errors += request.failed
            client_errors += request.client_error
            if not request.failed:
                latencies.setdefault(request.route, []).append(request.ms)
        return cls(count, errors, client_errors, {route: sorted(times) for route, times in latencies.items()}, health)

    @property
    def healthy(self) -> bool:
        return is_up(self.health)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def percentile(self, route: str, percent: float) -> float:
        return percentile(self.latencies.get(route, []), percent)

    def describe(self, percent: float = 95) -> str:
        every = sorted(time for times in self.latencies.values() for time in times)
        return (f"{self.error_rate:.1%} 5xx ({self.errors}/{self.requests}), "
                f"p{percent:g} {percentile(every, percent):.0f} ms")

    def as_data(self) -> dict:
        """A compact copy for a later task: counts, and at most KEPT_LATENCIES times per route."""
        return {"requests": self.requests, "errors": self.errors, "client_errors": self.client_errors,
                "health": self.health,
                "latencies": {route: thin(times, KEPT_LATENCIES) for route, times in self.latencies.items()}}

    @classmethod
    def from_data(cls, data: dict) -> "Sample":
        return cls(int(data.get("requests", 0)), int(data.get("errors", 0)), int(data.get("client_errors", 0)),
                   {route: sorted(float(t) for t in times) for route, times in (data.get("latencies") or {}).items()},
                   str(data.get("health", "UP")))

    def summary(self, percent: float = 95) -> dict:
        every = sorted(time for times in self.latencies.values() for time in times)
        return {"requests": self.requests, "errors": self.errors, "client_errors": self.client_errors,
                "health": self.health, "p50_ms": round(percentile(every, 50), 1),
                f"p{percent:g}_ms": round(percentile(every, percent), 1), "p99_ms": round(percentile(every, 99), 1)}


@dataclass(frozen=True)
class Thresholds:
    min_requests: int = 50
    error_ratio: float = 2.0
    error_margin: float = 0.005
    significance: float = 0.05
    latency_percentiles: tuple = (50.0, 95.0)
    latency_ratio: float = 2.0
    latency_ratio_across_time: float = 3.0
    latency_floors_ms: tuple = (5.0, 25.0)
    latency_min_requests: int = 20
    client_error_ratio: float = 2.0
    client_error_margin: float = 0.05
    detect_rate: float = 0.02
    power: float = 0.95


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str
    canary: Sample
    baseline: Sample
    evidence: dict

    @property
    def passed(self) -> bool:
        return self.outcome == PASS

    def as_dict(self, percent: float = 95) -> dict:
        return {"outcome": self.outcome, "reason": self.reason, "evidence": self.evidence,
                "canary": self.canary.summary(percent), "baseline": self.baseline.summary(percent)}


def is_up(state: str) -> bool:
    """Whether HAProxy's state of a server counts as up ("UP 2/3": one failed check of three)."""
    return state.split(" ", 1)[0] in HEALTHY_STATES


def percentile(sorted_values, percent: float) -> float:
    """The nearest-rank percentile of sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def thin(sorted_values, keep: int) -> list[float]:
    """At most `keep` values spread evenly over the sorted list (its shape, smaller)."""
    if len(sorted_values) <= keep:
        return list(sorted_values)
    last = len(sorted_values) - 1
    return [sorted_values[round(i * last / (keep - 1))] for i in range(keep)]


def binomial_tail(errors: int, requests: int, rate: float) -> float:
    """P(X >= errors) for X ~ Binomial(requests, rate)."""
    if errors <= 0:
        return 1.0
    if errors > requests or rate <= 0.0:
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


def critical_errors(requests: int, rate: float, significance: float) -> int:
    """The fewest errors among `requests` that the test calls worse than `rate`."""
    if rate <= 0.0:
        return 1
    cumulative, k = 0.0, 0
    log_rate, log_rest = math.log(rate), math.log1p(-rate) if rate < 1 else float("-inf")
    while k <= requests:
        # P(X >= k+1) = 1 - P(X <= k)
        cumulative += math.exp(math.lgamma(requests + 1) - math.lgamma(k + 1) - math.lgamma(requests - k + 1)
                               + k * log_rate + (requests - k) * log_rest)
        k += 1
        if 1.0 - cumulative < significance:
            return k
    return requests + 1


def detection_power(requests: int, allowed: float, detect: float, significance: float) -> float:
    """The chance that `requests` requests of a release failing `detect` of them fail the test."""
    if requests <= 0 or detect <= allowed:
        return 0.0
    return binomial_tail(critical_errors(requests, allowed, significance), requests, detect)


@functools.lru_cache(maxsize=512)  # asked every tick of a window with the same settings
def needed_requests(allowed: float, detect: float, significance: float, power: float, limit: int = 100_000) -> int:
    """The fewest requests that catch a release failing `detect` with probability `power`."""
    if detect <= allowed:
        return limit
    z_a, z_b = _z(1 - significance), _z(power)
    estimate = ((z_a * math.sqrt(allowed * (1 - allowed)) + z_b * math.sqrt(detect * (1 - detect)))
                / (detect - allowed)) ** 2
    requests = max(10, int(estimate * 0.8))
    while requests < limit and detection_power(requests, allowed, detect, significance) < power:
        requests += max(1, requests // 50)
    return min(requests, limit)


def _z(probability: float) -> float:
    """The standard normal quantile (bisection on erf; precise enough for sample sizes)."""
    low, high = -10.0, 10.0
    for _ in range(80):
        middle = (low + high) / 2
        if 0.5 * (1 + math.erf(middle / math.sqrt(2))) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def old_rate(count: int, baseline: Sample, thresholds: Thresholds) -> float:
    """The old release's rate of something (`count` of its requests); 0 when it answered too few to say."""
    return count / baseline.requests if baseline.requests >= thresholds.min_requests else 0.0


def allowed_rate(base: float, ratio: float, margin: float) -> float:
    """The old rate times `ratio`, and at least plus `margin`."""
    return min(1.0, max(base * ratio, base + margin))


def evidence(canary: Sample, baseline: Sample, thresholds: Thresholds) -> dict:
    base = old_rate(baseline.errors, baseline, thresholds)
    allowed = allowed_rate(base, thresholds.error_ratio, thresholds.error_margin)
    # A release failing detect_rate more requests than the old one; never inside the allowed rate.
    detect = min(1.0, max(base + thresholds.detect_rate, allowed + thresholds.detect_rate / 2))
    return {"requests": canary.requests, "baseline_requests": baseline.requests,
            "needed": needed_requests(allowed, detect, thresholds.significance, thresholds.power),
            "power": round(detection_power(canary.requests, allowed, detect, thresholds.significance), 3),
            "detects": round(detect, 4), "allowed": round(allowed, 4)}


def judge(canary: Sample, baseline: Sample, thresholds: Thresholds = Thresholds()) -> Verdict:
    """Compare the new release (canary) with the old one (baseline)."""
    proof = evidence(canary, baseline, thresholds)
    percent = max(thresholds.latency_percentiles, default=95)

    def verdict(outcome: str, reason: str) -> Verdict:
        return Verdict(outcome, reason, canary, baseline, proof)

    if not canary.healthy:
        return verdict(FAIL, f"the new release failed its health checks (HAProxy: {canary.health})")
    if canary.requests < thresholds.min_requests:
        return verdict(INCONCLUSIVE, f"the new release answered {canary.requests} requests, "
                                     f"fewer than the {thresholds.min_requests} needed to judge it")

    baseline_counts = baseline.requests >= thresholds.min_requests
    compared_with = (f"the old release's {baseline.describe(percent)}" if baseline_counts
                     else f"no error rate of the old release to compare with ({baseline.requests} requests)")
    allowed = proof["allowed"]
    p_value = binomial_tail(canary.errors, canary.requests, allowed)
    if canary.error_rate > allowed and p_value < thresholds.significance:
        return verdict(FAIL, f"5xx rate too high: new release {canary.describe(percent)} against "
                             f"{compared_with}; allowed {allowed:.1%} (p={p_value:.2g} < {thresholds.significance})")

    allowed_4xx = allowed_rate(old_rate(baseline.client_errors, baseline, thresholds),
                               thresholds.client_error_ratio, thresholds.client_error_margin)
    p_value = binomial_tail(canary.client_errors, canary.requests, allowed_4xx)
    if canary.client_errors > canary.requests * allowed_4xx and p_value < thresholds.significance:
        old = (f"the old release's {baseline.client_errors / baseline.requests:.1%} "
               f"({baseline.client_errors}/{baseline.requests})" if baseline_counts else "no old rate to compare with")
        return verdict(FAIL, f"4xx rate too high: new release {canary.client_errors / canary.requests:.1%} 4xx "
                             f"({canary.client_errors}/{canary.requests}) against {old}; allowed {allowed_4xx:.1%} "
                             f"(p={p_value:.2g} < {thresholds.significance})")

    compared_routes = []
    for route in sorted(set(canary.latencies) & set(baseline.latencies)):
        new_times, old_times = canary.latencies[route], baseline.latencies[route]
        if min(len(new_times), len(old_times)) < thresholds.latency_min_requests:
            continue
        compared_routes.append(route)
        floors = thresholds.latency_floors_ms or (0.0,)
        for index, each in enumerate(thresholds.latency_percentiles):
            if min(len(new_times), len(old_times)) < TAIL_REQUESTS / max(1e-9, 1 - each / 100):
                continue  # too few requests above this percentile: it would be one stray request
            new, old = percentile(new_times, each), percentile(old_times, each)
            earlier = route in baseline.recorded_before
            ratio = thresholds.latency_ratio_across_time if earlier else thresholds.latency_ratio
            limit = max(old * ratio, old + floors[min(index, len(floors) - 1)])
            if new > limit:
                when = "recorded before the deploy" if earlier else "in the same window"
                return verdict(FAIL, f"too slow: {route} p{each:g} {new:.0f} ms on the new release against "
                                     f"{old:.0f} ms on the old one ({when}); allowed up to {limit:.0f} ms "
                                     f"({len(new_times)} and {len(old_times)} requests)")
    proof["latency_routes"] = compared_routes
    latency = (f"p{'/p'.join(f'{each:g}' for each in thresholds.latency_percentiles)} compared on "
               f"{len(compared_routes)} route(s)" if compared_routes
               else "latency not compared (no route with enough requests on both sides)")
    return verdict(PASS, f"new release {canary.describe(percent)} against {compared_with}; "
                         f"allowed up to {allowed:.1%} 5xx; {latency}; "
                         f"{proof['power']:.0%} chance to catch {proof['detects']:.1%} 5xx "
                         f"({canary.requests} of {proof['needed']} requests for {thresholds.power:.0%})")
