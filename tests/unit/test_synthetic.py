"""The judge's synthetic GETs (plugins/module_utils/synthetic.py) against a real HTTP server on loopback."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.synthetic import Probe


class Server:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 that records each request and its client port."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[str, int, float]] = []
        self.colors: list[str | None] = []  # the X-Greenlight-Color header of each request
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.requests.append((self.path, self.client_address[1], time.monotonic()))
                outer.colors.append(self.headers.get("X-Greenlight-Color"))
                body = b"{}"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    running = Server()
    yield running
    running.close()


def test_sends_on_one_connection_at_the_capped_rate(server):
    probe = Probe(f"http://127.0.0.1:{server.port}/", max_rate=50)
    started = time.monotonic()
    for path in ["/api/items", "/api/version"] * 10:
        probe.get(path)
    probe.close()
    elapsed = time.monotonic() - started
    assert probe.sent == 20
    assert [path for path, _, _ in server.requests] == ["/api/items", "/api/version"] * 10
    assert len({port for _, port, _ in server.requests}) == 1  # keep-alive
    assert elapsed >= 19 / 50  # 20 requests at 50/s: 19 intervals
    gaps = [b - a for (_, _, a), (_, _, b) in zip(server.requests, server.requests[1:])]
    # The server's receive times carry its thread's scheduling: one late receipt makes one short
    # gap after it on a busy host. An unpaced probe's median gap would be about a millisecond.
    assert sorted(gaps)[len(gaps) // 2] >= 1 / 50 * 0.8


def test_an_idle_probe_does_not_burst_to_catch_up(server):
    probe = Probe(f"http://127.0.0.1:{server.port}", max_rate=20)
    probe.get("/a")
    time.sleep(0.5)  # ten intervals unused
    started = time.monotonic()
    for _ in range(5):
        probe.get("/a")
    assert time.monotonic() - started >= 4 / 20


def test_errors_are_counted_not_raised():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    probe = Probe(f"http://127.0.0.1:{port}", max_rate=1000, timeout=1)
    probe.get("/api/items")
    probe.get("/api/items")
    assert probe.sent == 2


def test_a_prefix_in_the_url_is_kept(server):
    probe = Probe(f"http://localhost:{server.port}/app/")
    probe.get("/api/items")
    assert server.requests[0][0] == "/app/api/items"


@pytest.mark.parametrize("url", ["http://10.0.0.5:8080", "http://example.com", "http://0.0.0.0:80"])
def test_refuses_anything_but_loopback(url):
    with pytest.raises(ValueError, match="loopback only"):
        Probe(url)


def test_the_canary_thread_sends_what_the_watcher_asks_for_and_no_more(server):
    from tests.unit.test_canary_window import canary

    synthetic = canary.Synthetic(f"http://127.0.0.1:{server.port}", ["/api/items", "/api/version"])
    synthetic.start()
    synthetic.wanted = 6
    deadline = time.monotonic() + 5
    while synthetic.sent < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # it waits for more, sending nothing
    assert synthetic.sent == len(server.requests) == 6
    synthetic.wanted = 8
    deadline = time.monotonic() + 5
    while synthetic.sent < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    synthetic.stopped.set()
    synthetic.join(timeout=5)
    assert not synthetic.is_alive()
    assert [path for path, _, _ in server.requests] == ["/api/items", "/api/version"] * 4


def test_a_probe_for_a_color_names_it_in_every_request_and_a_plain_one_names_none(server):
    named = Probe(f"http://127.0.0.1:{server.port}", color="blue")
    plain = Probe(f"http://127.0.0.1:{server.port}")
    for _ in range(3):
        named.get("/api/items")
        plain.get("/api/items")
    named.close()
    plain.close()
    assert server.colors == ["blue", None] * 3
