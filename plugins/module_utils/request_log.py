"""Each request HAProxy answered, from its `judge` ring buffer, for the canary judge.

The proxy logs every request (HAProxy's `option httplog` line) to stdout and to a ring
buffer in memory (`ring judge` in the proxy's configuration, `format iso`: each line starts
with the time it was logged). The runtime API reads that ring two ways:

- `show events judge` prints what the ring holds now (the last few thousand requests):
  `recent()` keeps those of the last seconds, the baseline of the release that is live.
- `show events judge -w -n` skips what it holds and streams each new line as it is logged:
  `Stream` reads the requests of one judged window. When the proxy restarts, the stream
  reconnects and goes on counting from zero new lines, so a window's numbers only grow.

Shared by the greenlight.deploy.canary and greenlight.deploy.baseline modules and the tests.
"""

from __future__ import annotations

import re
import select
import socket
import time
from dataclasses import dataclass
from datetime import datetime

from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, send

RING = "judge"

# "<iso time> <client>:<port> [<accept date>] <frontend> <backend>/<server>
#  TR/Tw/Tc/Tr/Ta <status> <bytes> <req cookie> <resp cookie> <termination state> ... "<method> <uri> <version>""
LINE = re.compile(
    r"^(?P<at>\S+) \S+ \[[^\]]*\] \S+ (?P<backend>[^/\s]+)/(?P<server>\S+) "
    r"-?\d+/-?\d+/(?P<connect>-?\d+)/-?\d+/\+?(?P<total>-?\d+) (?P<status>-?\d+) \S+ \S+ \S+ (?P<term>\S{4}) "
    r".*\"(?P<method>[A-Z]+) (?P<uri>\S+)")
# A path segment that names one object, not a route: 42, a uuid, a long hex id.
ID_SEGMENT = re.compile(r"^(\d+|[0-9a-fA-F-]{16,})$")


@dataclass(frozen=True)
class Request:
    at: float
    backend: str
    server: str
    status: int
    ms: float
    route: str
    broken: bool

    @property
    def failed(self) -> bool:
        """A 5xx answer (the app's, or HAProxy's own 502/503/504), or a connection the server broke."""
        return self.status >= 500 or self.broken

    @property
    def client_error(self) -> bool:
        return 400 <= self.status < 500


def route(method: str, uri: str) -> str:
    """The route of a request: method and path, ids replaced, query dropped ("GET /api/orders/{id}")."""
    path = uri.split("?", 1)[0].split("#", 1)[0] or "/"
    segments = ["{id}" if ID_SEGMENT.match(segment) else segment for segment in path.split("/")]
    return f"{method} {'/'.join(segments)}"


def parse_line(line: str) -> Request | None:
    """One ring line, or None for anything else (a bad request, a line HAProxy cut short)."""
    match = LINE.match(line)
    if match is None:
        return None
    try:
        at = datetime.fromisoformat(match["at"]).timestamp()
    except ValueError:
        return None
    term = match["term"]
    return Request(at=at, backend=match["backend"], server=match["server"], status=int(match["status"]),
                   ms=float(max(0, int(match["total"]))), route=route(match["method"], match["uri"]),
                   # The server aborted or timed out, or no connection to it could be made.
                   broken=term[0] in "sS" or (int(match["connect"]) < 0 and match["server"] != "<NOSRV>"))


def parse(text: str) -> list[Request]:
    return [request for request in map(parse_line, text.splitlines()) if request is not None]


def recent(socket_path: str, seconds: float, now: float | None = None) -> list[Request]:
    """The requests of the last `seconds` that the ring still holds."""
    since = (time.time() if now is None else now) - seconds
    return [request for request in parse(send(socket_path, [f"show events {RING}"])) if request.at >= since]


class Stream:
    """New requests as HAProxy logs them, across proxy restarts."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.sock: socket.socket | None = None
        self.pending = b""
        self.reconnects = 0
        self._connect()

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
            sock.sendall(f"show events {RING} -w -n\n".encode())
        except OSError as exc:
            sock.close()
            raise HAProxyError(f"cannot read HAProxy's request log at {self.socket_path}: {exc}") from exc
        sock.setblocking(False)
        self.sock, self.pending = sock, b""

    def read(self, seconds: float) -> list[Request]:
        """What was logged until now, waiting up to `seconds` for it."""
        deadline = time.monotonic() + seconds
        complete = []
        while True:
            left = deadline - time.monotonic()
            if self.sock is None:
                if not self._reconnect(left):
                    break
                continue
            readable, _, _ = select.select([self.sock], [], [], max(0.0, left))
            if readable:
                try:
                    chunk = self.sock.recv(1 << 20)
                except OSError:
                    chunk = b""
                if not chunk:  # the proxy restarted or reloaded: follow the new one
                    self.close()  # a line the old proxy left unfinished is dropped, never glued to the next
                    continue
                lines, _, self.pending = (self.pending + chunk).rpartition(b"\n")
                complete.append(lines)
            if time.monotonic() >= deadline:
                break
        return parse(b"\n".join(complete).decode(errors="replace"))

    def _reconnect(self, left: float) -> bool:
        while True:
            try:
                self._connect()
                self.reconnects += 1
                return True
            except HAProxyError:
                if left <= 0:
                    return False
                time.sleep(min(0.2, left))
                left -= 0.2

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.pending = b""
