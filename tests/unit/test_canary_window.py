"""How a judged window is put together: the request stream, the reference, the settings.

The stream is read from a unix socket that talks like HAProxy's runtime API answering
`show events judge -w -n` (lines from fixtures/judge-ring.log), and that goes away in the
middle, as a restarting proxy does. The real HAProxy is exercised by the e2e suite.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.canary_judge import Sample, Thresholds
from ansible_collections.greenlight.deploy.plugins.module_utils.request_log import Request, Stream, parse_line

LINES = (Path(__file__).parent / "fixtures" / "judge-ring.log").read_text().splitlines()


from ansible_collections.greenlight.deploy.plugins.modules import canary  # noqa: E402


class FakeRuntimeAPI(threading.Thread):
    """Accepts connections; each gets the next batch of lines (split mid-line), then is closed."""

    def __init__(self, path: Path, batches: list[list[str]]) -> None:
        super().__init__(daemon=True)
        self.path, self.batches, self.commands = path, batches, []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)

    def run(self) -> None:
        for batch in self.batches:
            conn, _ = self.server.accept()
            self.commands.append(conn.recv(1024).decode())
            data = "".join(line + "\n" for line in batch).encode()
            middle = len(data) // 2 + 7
            conn.sendall(data[:middle])
            time.sleep(0.2)
            conn.sendall(data[middle:])
            time.sleep(0.2 if batch is not self.batches[-1] else 3)  # the last stays up while the test reads
            conn.close()
        self.server.close()


def test_the_stream_follows_the_proxy_across_a_restart_and_loses_no_line_it_was_given(tmp_path: Path) -> None:
    sock = tmp_path / "admin.sock"
    api = FakeRuntimeAPI(sock, [LINES[:20], LINES[20:47]])
    api.start()
    stream = Stream(str(sock))
    got: list[Request] = []
    deadline = time.monotonic() + 5
    while len(got) < 47 and time.monotonic() < deadline:
        got += stream.read(0.3)
    stream.close()
    assert len(got) == 47
    assert stream.reconnects == 1
    assert api.commands == ["show events judge -w -n\n"] * 2


def test_a_line_the_old_proxy_left_unfinished_is_dropped_not_glued_to_the_next(tmp_path: Path) -> None:
    sock = tmp_path / "admin.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock))
    server.listen(2)

    def proxy() -> None:
        conn, _ = server.accept()
        conn.recv(1024)
        conn.sendall(("".join(line + "\n" for line in LINES[:20]) + LINES[20][:40]).encode())
        conn.close()  # restarted in the middle of line 21
        conn, _ = server.accept()
        conn.recv(1024)
        conn.sendall("".join(line + "\n" for line in LINES[20:47]).encode())
        time.sleep(1)
        conn.close()

    threading.Thread(target=proxy, daemon=True).start()
    stream = Stream(str(sock))
    got = stream.read(0.8)  # both connections within one read
    stream.close()
    server.close()
    assert stream.reconnects == 1
    assert [(r.server, r.status, r.route) for r in got] == \
        [(r.server, r.status, r.route) for r in map(parse_line, LINES[:47]) if r is not None]


def test_the_reference_is_the_old_color_over_the_same_window_when_it_answered_enough() -> None:
    thresholds = Thresholds(min_requests=50, latency_min_requests=20)
    baseline = Sample(5000, 50, 0, {"GET /api/items": [2.0] * 100, "GET /health": [1.0] * 100})
    concurrent = Sample(400, 0, 0, {"GET /api/items": [9.0] * 300, "GET /": [5.0] * 5})
    merged = canary.reference(concurrent, baseline, thresholds)
    assert (merged.requests, merged.errors) == (400, 0)
    assert merged.latencies["GET /api/items"] == [9.0] * 300  # same moment, same load
    assert merged.latencies["GET /health"] == [1.0] * 100  # only the baseline has it
    assert "GET /" not in merged.latencies  # too few to stand for the route
    assert merged.recorded_before == {"GET /health"}  # judged across time, with the wider ratio


def test_the_old_colors_sample_has_its_live_requests_and_the_control_gets_through_the_preview(monkeypatch) -> None:
    from ansible_collections.greenlight.deploy.plugins.module_utils.request_log import route
    from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import stable

    from .helpers import proxy

    monkeypatch.setattr(canary, "Stream", lambda socket_path: None)
    window = canary.Window(proxy(), {"baseline": {}, "new_colors": ["green"], "old_colors": ["blue"]},
                           stable(("blue", "green"), "green", ["green"]))
    items = route("GET", "/api/items")
    window.requests = [Request(1.0, "api", "blue", 200, 5.0, items, False),           # a user's, to the old color
                       Request(1.1, "preview_api", "blue", 200, 6.0, items, False),   # the control GET
                       Request(1.2, "preview_api", "green", 200, 7.0, items, False),  # the synthetic GET
                       Request(1.3, "other", "blue", 200, 8.0, items, False)]         # not the environment's
    assert window.old_sample().latencies == {items: [5.0, 6.0]}
    assert window.new_sample().latencies == {items: [7.0]}


def test_after_the_switch_the_reference_is_the_baseline() -> None:
    baseline = Sample(5000, 50, 0, {"GET /api/items": [2.0] * 100})
    merged = canary.reference(Sample(), baseline, Thresholds())
    assert (merged.requests, merged.errors, merged.latencies) == (5000, 50, baseline.latencies)
    assert merged.recorded_before == {"GET /api/items"}


def test_judge_settings_from_the_inventory_are_converted_and_unknown_ones_refused() -> None:
    thresholds = canary.thresholds_from({"min_requests": "30", "latency_floors_ms": ["5", 30], "power": 0.9})
    assert (thresholds.min_requests, thresholds.latency_floors_ms, thresholds.power) == (30, (5.0, 30.0), 0.9)
    with pytest.raises(ValueError, match="unknown judge settings: min_request"):
        canary.thresholds_from({"min_request": 30})



class RestartingStream:
    """A request stream whose proxy restarts at the second read."""

    def __init__(self, socket_path: str) -> None:
        self.reads = 0
        self.reconnects = 0

    def read(self, seconds: float) -> list:
        self.reads += 1
        if self.reads == 2:
            self.reconnects += 1
        return []


def test_a_proxy_that_restarts_mid_window_gets_the_windows_traffic_back(monkeypatch) -> None:
    from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import canary as canary_state, stable

    from .helpers import observed, proxy

    monkeypatch.setattr(canary, "Stream", RestartingStream)
    switched = []
    monkeypatch.setattr(canary, "switch", lambda proxy_, traffic: switched.append(traffic))
    # The restarted proxy came back on the persisted state: everybody on the old color, blue.
    monkeypatch.setattr(canary, "observe", lambda proxy_: observed({"blue": 100}, preview="green"))
    step = canary_state(("blue", "green"), "green", "blue", 25)
    window = canary.Window(proxy(), {"baseline": {}, "new_colors": ["green"], "old_colors": ["blue"]}, step)
    window.collect(0.1)
    assert switched == [] and window.restored == 0  # no restart, nothing touched
    window.collect(0.1)
    assert switched == [step] and window.restored == 1
    window.collect(0.1)
    assert switched == [step]  # once per restart

    # A restart that kept the state (the window's traffic already there) is left alone.
    monkeypatch.setattr(canary, "observe", lambda proxy_: observed({"green": 100}, preview="blue"))
    watched = canary.Window(proxy(), {"baseline": {}, "new_colors": ["green"], "old_colors": ["blue"]},
                            stable(("blue", "green"), "green", ["green"]))
    watched.collect(0.1)
    watched.collect(0.1)
    assert watched.restored == 0 and switched == [step]


def test_the_baseline_counts_live_requests_only_since_the_newest_record(tmp_path: Path) -> None:
    from ansible_collections.greenlight.deploy.plugins.module_utils.history import append

    from ansible_collections.greenlight.deploy.plugins.modules import baseline  # noqa: PLC0415
    history = tmp_path / "history.jsonl"
    assert baseline.last_change(str(history)) == 0.0  # no history: the whole ring counts
    append(str(history), {"kind": "deploy", "env": "production", "outcome": "failed",
                          "started": "2026-11-27T20:00:00Z", "ended": "2026-11-27T20:01:30Z"})
    assert baseline.last_change(str(history)) == 1795809690.0
