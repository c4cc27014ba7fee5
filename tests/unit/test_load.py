"""The load generator counts failures and gaps correctly, against a real local HTTP server."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from greenlight.load import Load, LoadReport, Outcome

from .helpers import certificate_pem


class FlakyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    calls = 0

    def _answer(self, status: int, body: dict | list) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).calls += 1
        self._answer(500 if type(self).calls % 4 == 0 else 200, [])

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(201, {"id": 1})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_counts_failed_requests_and_writes(server: int) -> None:
    load = Load(f"http://127.0.0.1:{server}", rate=200, workers=4, write_every=5, max_seconds=1.0)
    load.start()
    time.sleep(1.3)  # max_seconds ends the load by itself after 1 s
    report = load.stop()
    summary = report.summary()
    assert 20 <= summary["requests"] <= 210  # never more than rate x seconds
    assert summary["failed"] > 0
    assert all(f.startswith("GET: HTTP 500") for f in summary["failures"])
    # The first failures with their time of day, to find them in the proxy's log.
    assert 0 < len(summary["failed_at"]) <= 5
    first = min(o.started for o in report.failed)
    assert summary["failed_at"][0].startswith(report.utc(first)[:8]) and "GET HTTP 500 after" in summary["failed_at"][0]
    assert len(report.created_skus) == sum(1 for o in report.outcomes if o.kind == "POST" and o.ok)


def test_utc_maps_the_monotonic_clock_to_the_time_of_day() -> None:
    report = LoadReport(wall_start=3600 * 5 + 7.25, clock_start=100.0)
    assert report.utc(100.0) == "05:00:07.250"
    assert report.utc(102.5) == "05:00:09.750"


def test_refuses_addresses_other_than_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Load("http://10.0.0.1:80")


def test_longest_gap_is_between_successes() -> None:
    report = LoadReport(outcomes=[
        Outcome(0.0, 0.1, True, "GET"),
        Outcome(0.2, 0.1, False, "GET"),
        Outcome(1.0, 0.1, False, "GET"),
        Outcome(2.0, 0.1, True, "GET"),
    ])
    assert report.longest_gap_s() == pytest.approx(2.0)
    assert report.summary()["failed"] == 2


def test_command_line_runs_the_command_under_load(server: int, tmp_path) -> None:
    from greenlight.load import main

    report = tmp_path / "load.json"
    rc = main([f"http://127.0.0.1:{server}", "--rate", "50", "--report", str(report), "--",
               "python3", "-c", "import time, sys; time.sleep(0.5); sys.exit(3)"])
    assert rc == 3
    assert json.loads(report.read_text())["requests"] > 5


class StallingHandler(FlakyHandler):
    """Answers at once, except that the whole server stops for 1 s at its 20th request."""

    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802
        with type(self).lock:
            type(self).calls += 1
            if type(self).calls == 20:
                time.sleep(1.0)
        self._answer(200, [])


def test_a_stall_is_counted_from_the_time_each_request_was_due() -> None:
    StallingHandler.calls = 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StallingHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        load = Load(f"http://127.0.0.1:{httpd.server_address[1]}", rate=100, workers=2, write_every=10**9,
                    max_seconds=2.0)
        load.start()
        time.sleep(2.2)
        summary = load.stop().summary()
    finally:
        httpd.shutdown()
    # Every request queued behind the 1 s stall waited for it: measured from when each was
    # due, the slowest took about 1 s and many more than one took over half a second.
    assert summary["max_ms"] >= 900
    assert sum(o.latency > 0.5 for o in load.report.outcomes) >= 20
    # Threads were added so that the timetable held around the stall.
    assert summary["workers"] > 2
    assert summary["rate_met"], summary
    assert 190 <= summary["requests"] <= 201


def test_a_rate_the_target_cannot_hold_is_reported_short() -> None:
    report = LoadReport(outcomes=[Outcome(0.0, 0.1, True, "GET")] * 90, asked_rate=100, seconds=1.0)
    assert report.summary()["achieved_rate"] == 90.0 and not report.summary()["rate_met"]


def test_a_connection_carries_at_most_connection_requests_requests(server: int) -> None:
    seen: list[int] = []
    handle = FlakyHandler.do_GET

    def counting(self) -> None:  # the client's port: one per connection
        seen.append(self.client_address[1])
        handle(self)

    FlakyHandler.do_GET = counting
    try:
        load = Load(f"http://127.0.0.1:{server}", rate=100, workers=1, write_every=0, max_seconds=0.6,
                    connection_requests=3)
        load.start()
        time.sleep(0.8)
        load.stop()
    finally:
        FlakyHandler.do_GET = handle
    # A 500 keeps the connection too (the handler answers HTTP/1.1 with a length).
    assert len(seen) >= 30 and all(seen.count(port) <= 3 for port in set(seen))
    assert len(set(seen)) >= len(seen) // 3


def test_https_checks_the_certificate_for_the_server_name(tmp_path) -> None:
    import ssl

    cert, key = certificate_pem(("shop.example.com",))
    (tmp_path / "cert.pem").write_text(cert)
    (tmp_path / "key.pem").write_text(key)
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyHandler)
    httpd.socket = served.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    trusted = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    try:
        results = {}
        for server_name in ("shop.example.com", "other.example.com"):
            load = Load(f"https://127.0.0.1:{httpd.server_address[1]}", rate=50, workers=2, write_every=0,
                        max_seconds=0.4, tls=trusted, server_name=server_name)
            load.start()
            time.sleep(0.6)
            results[server_name] = load.stop().summary()
    finally:
        httpd.shutdown()
    # Every fourth GET is the handler's 500; none fails on TLS for the certificate's name.
    assert results["shop.example.com"]["requests"] >= 10
    assert not any("CERTIFICATE" in failure.upper() for failure in results["shop.example.com"]["failures"])
    # Another name: every request fails the certificate check.
    assert results["other.example.com"]["failed"] == results["other.example.com"]["requests"] > 0
