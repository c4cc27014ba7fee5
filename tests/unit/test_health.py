"""A color's health in one call: HAProxy's checks UP, then the smoke checks (plugins/module_utils/health.py)."""

from __future__ import annotations

import http.server
import threading

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils import health


def test_the_wait_ends_as_soon_as_every_pool_is_up_and_says_what_haproxy_reports_when_it_is_not(monkeypatch) -> None:
    answers = iter([{"api": {"green": {"status": "DOWN"}}, "web": {"green": {"status": "UP"}}},
                    {"api": {"green": {"status": "UP"}}, "web": {"green": {"status": "UP"}}}])
    monkeypatch.setattr(health, "read_servers", lambda socket: next(answers))
    slept: list[float] = []
    assert set(health.wait_up("/s", ["api", "web"], "green", 60, sleep=slept.append)) == {"api", "web"}
    assert slept == [0.1]
    monkeypatch.setattr(health, "read_servers", lambda socket: {"api": {"green": {
        "status": "DOWN", "check_status": "L7STS", "check_code": 503, "check_desc": "HTTP status check returned code <503>"}}})
    now = iter([0.0, 61.0])
    with pytest.raises(health.Unhealthy, match="api/green DOWN \\(L7STS 503 HTTP status check returned code <503>\\)"):
        health.wait_up("/s", ["api"], "green", 60, clock=lambda: next(now), sleep=slept.append)


def test_a_smoke_check_answering_another_status_fails_naming_it() -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/up" else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert health.smoke(base, [{"path": "/up"}]) == [{"path": "/up", "status": 200}]
        with pytest.raises(health.Unhealthy, match="GET /broken through the preview port answered 500, not 200"):
            health.smoke(base, [{"path": "/up"}, {"path": "/broken", "status": 200}])
    finally:
        server.shutdown()
