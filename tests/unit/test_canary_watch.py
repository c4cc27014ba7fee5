"""The hold of a judged window (greenlight.deploy.canary.watch): how long it lasts, when it asks
for synthetic requests, when it stops early.

The clock is simulated: the window's `collect` moves it forward, live requests arrive at
a set rate, and the synthetic requests the watcher asks for are answered at the probe's
rate (plugins/module_utils/synthetic.py MAX_RATE). The judge itself is the real one.
"""

from __future__ import annotations

import threading

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.canary_judge import FAIL, PASS, Sample, Thresholds, judge
from ansible_collections.greenlight.deploy.plugins.module_utils.request_log import Request, route
from ansible_collections.greenlight.deploy.plugins.module_utils.synthetic import MAX_RATE

from .test_canary_window import canary

BASELINE = Sample(5000, 0, 0, {"GET /api/items": [2.0] * 400})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class FakeSynthetic:
    """What the watcher sees of the probe thread: wanted, sent, stopped."""

    def __init__(self, answers: bool = True) -> None:
        self.wanted = self.sent = 0
        self.answers = answers
        self.stopped = threading.Event()


class FakeWindow:
    """Live requests at `live_rate`, one in `fail_every` a 500; synthetic ones as the probe sends them."""

    def __init__(self, clock: Clock, synthetic: FakeSynthetic, live_rate: float, fail_every: int = 0) -> None:
        self.clock, self.synthetic = clock, synthetic
        self.live_rate, self.fail_every = live_rate, fail_every
        self.requests: list[Request] = []
        self.live_due = 0.0

    def _add(self, count: int) -> None:
        for _ in range(count):
            n = len(self.requests) + 1
            status = 500 if self.fail_every and n % self.fail_every == 0 else 200
            self.requests.append(Request(self.clock.now, "api", "green", status, 2.0, route("GET", "/api/items"),
                                         False))

    def collect(self, seconds: float) -> None:
        self.clock.now += seconds
        self.live_due += self.live_rate * seconds
        self._add(int(self.live_due))
        self.live_due -= int(self.live_due)
        if self.synthetic.answers and not self.synthetic.stopped.is_set():
            sending = min(self.synthetic.wanted - self.synthetic.sent, int(MAX_RATE * seconds))
            self.synthetic.sent += max(0, sending)
            self._add(max(0, sending))

    def verdict(self, thresholds: Thresholds):
        return judge(Sample.of(self.requests), BASELINE, thresholds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(canary, "time", fake)
    return fake


def watch(clock: Clock, live_rate: float, fail_every: int = 0, hold: float = 20, max_hold: float = 120,
          answers: bool = True):
    synthetic = FakeSynthetic(answers)
    window = FakeWindow(clock, synthetic, live_rate, fail_every)
    opened = clock.now
    verdict = canary.watch(window, synthetic, {"hold": hold, "max_hold": max_hold}, Thresholds(), opened)
    return verdict, clock.now - opened, synthetic


def test_busy_traffic_needs_no_synthetic_requests_and_ends_with_the_hold(clock) -> None:
    verdict, seconds, synthetic = watch(clock, live_rate=100)
    assert verdict.outcome == PASS
    assert synthetic.wanted == 0
    assert 20 <= seconds <= 21
    assert verdict.evidence["power"] >= 0.95


def test_thin_traffic_is_topped_up_to_the_evidence_needed_by_the_end_of_the_hold(clock) -> None:
    verdict, seconds, synthetic = watch(clock, live_rate=0.5)
    assert verdict.outcome == PASS
    needed = verdict.evidence["needed"]
    assert synthetic.sent > 0 and verdict.canary.requests >= needed
    assert seconds <= 20 + 2  # paced to arrive by the end of the hold, at 40/s at most
    assert verdict.evidence["power"] >= 0.95


def test_a_hold_is_extended_when_the_probe_cannot_deliver_and_ends_at_max_hold(clock) -> None:
    verdict, seconds, synthetic = watch(clock, live_rate=2, answers=False, max_hold=60)
    assert 60 <= seconds <= 61
    assert verdict.canary.requests < verdict.evidence["needed"]
    assert verdict.evidence["power"] < 0.95  # the verdict says it had too little


def test_a_clearly_failing_release_is_stopped_early(clock) -> None:
    verdict, seconds, _ = watch(clock, live_rate=100, fail_every=5)  # 20% errors
    assert verdict.outcome == FAIL and "5xx" in verdict.reason
    assert seconds < 5


def test_a_release_failing_two_percent_at_ten_requests_a_second_is_caught(clock) -> None:
    verdict, _, synthetic = watch(clock, live_rate=10 * 0.05, fail_every=50)  # 5% step of 10/s
    assert verdict.outcome == FAIL, verdict.reason
    assert synthetic.sent > 0
