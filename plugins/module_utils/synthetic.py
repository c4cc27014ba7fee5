"""Synthetic GETs for the canary judge: loopback only, one keep-alive connection, paced.

The judge reads every request, synthetic or not, from HAProxy's log (request_log.py), so a
probe keeps nothing of the answers: it only makes sure requests happen. Used by
greenlight.deploy.baseline (the live release, before traffic moves) and greenlight.deploy.canary (the new
release, while live traffic is thin), the same way in both, so both sides are measured alike.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

# The only hosts synthetic requests may go to.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT_S = 5.0
# Requests a second, at most (a small app's real traffic): the probe must not load the release
# it measures; a judge that needs more evidence extends its hold instead.
MAX_RATE = 40.0
# The preview port sends a request carrying this header to the color it names, whatever its
# weights (roles/proxy/templates/haproxy.cfg.j2): how the judge reaches the old color.
COLOR_HEADER = "X-Greenlight-Color"


class Probe:
    """Sequential GETs to `base_url` on one keep-alive connection, never faster than `max_rate`;
    with `color`, each names the color it is for (COLOR_HEADER)."""

    def __init__(self, base_url: str, max_rate: float = MAX_RATE, timeout: float = TIMEOUT_S, color: str = "") -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError(f"synthetic requests go to loopback only, not {base_url}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.interval = 1.0 / max_rate
        self.timeout = timeout
        self.headers = {COLOR_HEADER: color} if color else {}
        self.sent = 0
        self._conn: http.client.HTTPConnection | None = None
        self._next = 0.0

    def get(self, path: str) -> None:
        """One GET, after waiting for its turn; a failure is not raised (HAProxy logs it)."""
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(self._next, now) + self.interval
        try:
            self._conn = self._conn or http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._conn.request("GET", self.prefix + path, headers=self.headers)
            response = self._conn.getresponse()
            response.read()
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
        self.sent += 1

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
