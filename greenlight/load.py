"""Steady HTTP load against 127.0.0.1, counting every failed request and every stall.

Used by the end-to-end tests and the benchmark to prove that a deploy drops nothing: reads
(GET) and writes (POST /api/items) on a fixed timetable, request n due at start + n/rate.
Each request's latency is measured from the moment it was *due*, not from when a thread
got round to sending it (as wrk2 does): when the target stalls, the requests queued behind
the stall count their wait, instead of the stall vanishing from the numbers (coordinated
omission). Threads are added while requests fall behind their time, up to `max_workers`,
so the asked rate holds; the report states the rate achieved, and says when it fell more
than 5% short. Only loopback targets are accepted, and an address the caller names in
`allow` (the host's side of a veth pair a test made, reached from its network namespace).
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import ssl
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class TLSConnection(http.client.HTTPSConnection):
    """HTTPS to an address, with the name the server's certificate is checked against (SNI)."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext, server_name: str) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self) -> None:
        plain = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(plain, server_hostname=self.server_name or self.host)
# A run whose achieved rate is below this share of the asked one says so (and the bench fails it).
RATE_TOLERANCE = 0.95


@dataclass
class Outcome:
    started: float  # when the request was due (monotonic seconds)
    latency: float  # from due to answered, seconds
    ok: bool
    kind: str
    detail: str = ""


@dataclass
class LoadReport:
    outcomes: list[Outcome] = field(default_factory=list)
    created_skus: list[str] = field(default_factory=list)
    asked_rate: float = 0.0
    seconds: float = 0.0
    workers: int = 0
    # When the load started, on the wall clock and on the monotonic one the timetable and
    # the outcomes use: failures are reported in UTC, to be matched with the proxy's log.
    wall_start: float = 0.0
    clock_start: float = 0.0

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def achieved_rate(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0

    @property
    def rate_met(self) -> bool:
        return self.asked_rate <= 0 or self.achieved_rate >= RATE_TOLERANCE * self.asked_rate

    def latency_ms(self, quantile: float) -> float:
        latencies = sorted(o.latency for o in self.outcomes)
        if not latencies:
            return 0.0
        index = min(len(latencies) - 1, int(quantile * len(latencies)))
        return latencies[index] * 1000

    def longest_gap_s(self) -> float:
        """Longest time between two successive successful responses."""
        ends = sorted(o.started + o.latency for o in self.outcomes if o.ok)
        return max((b - a for a, b in itertools.pairwise(ends)), default=0.0)

    def summary(self) -> dict:
        latencies = [o.latency for o in self.outcomes]
        return {
            "requests": self.total,
            "failed": len(self.failed),
            "asked_rate": round(self.asked_rate, 1),
            "achieved_rate": round(self.achieved_rate, 1),
            "rate_met": self.rate_met,
            "seconds": round(self.seconds, 1),
            "workers": self.workers,
            "p50_ms": round(self.latency_ms(0.50), 1),
            "p99_ms": round(self.latency_ms(0.99), 1),
            "max_ms": round(max(latencies, default=0) * 1000, 1),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
            "longest_gap_s": round(self.longest_gap_s(), 3),
            "failures": sorted({f"{o.kind}: {o.detail}" for o in self.failed})[:10],
            "failed_at": [f"{self.utc(o.started)} {o.kind} {o.detail} after {o.latency * 1000:.0f} ms"
                          for o in sorted(self.failed, key=lambda o: o.started)[:5]],
        }

    def utc(self, clock: float) -> str:
        """A monotonic time of this run as UTC (HH:MM:SS.mmm)."""
        moment = self.wall_start + (clock - self.clock_start)
        return time.strftime("%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1000):03d}"


class Load:
    """Send `rate` requests per second to `base_url` until stop(), on a fixed timetable.

    Every `write_every`-th request (none when 0) is a POST that creates an item with a unique sku; the
    skus of the created items are kept, so a test can check none was lost. The others GET
    `read_path`. Starts with `workers` threads and adds one whenever a request is picked up
    later than one interval after its time, up to `max_workers`. A connection is kept alive
    for the next requests, or for `connection_requests` of them (0: as long as the server keeps
    it), as a browser's ends once idle.
    """

    def __init__(self, base_url: str, rate: float = 100.0, workers: int = 8,
                 write_every: int = 5, max_seconds: float = 600.0, timeout: float = 10.0,
                 read_path: str = "/api/items", max_workers: int = 256, allow: tuple[str, ...] = (),
                 connection_requests: int = 0, tls: ssl.SSLContext | None = None, server_name: str = "") -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in LOOPBACK_HOSTS and parts.hostname not in allow:
            raise ValueError(f"load is only sent to loopback addresses, not {parts.hostname!r}")
        if rate <= 0:
            raise ValueError("the rate must be above 0 requests a second")
        self.host, self.port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        # https: the certificate checked with `tls` (default: the system's CAs) for server_name (default: the host).
        self.tls = (tls or ssl.create_default_context()) if parts.scheme == "https" else None
        self.server_name = server_name
        self.interval = 1.0 / rate
        self.workers = workers
        self.max_workers = max(workers, max_workers)
        self.write_every = write_every
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.read_path = read_path
        self.connection_requests = connection_requests
        self.report = LoadReport(asked_rate=rate)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticket = itertools.count()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Load:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.report.wall_start, self.report.clock_start = time.time(), time.monotonic()
        for _ in range(self.workers):
            self._add_worker()

    def _add_worker(self) -> None:
        thread = threading.Thread(target=self._work, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> LoadReport:
        stopped = time.monotonic()
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        self.report.seconds = min(stopped - self.report.clock_start, self.max_seconds)
        self.report.workers = len(threads)
        return self.report

    def _work(self) -> None:
        conn: http.client.HTTPConnection | None = None
        used = 0
        while not self._stop.is_set():
            ticket = next(self._ticket)
            due = self.report.clock_start + ticket * self.interval
            if due - self.report.clock_start >= self.max_seconds:
                return
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if delay < -self.interval:  # every thread was busy when this one fell due
                with self._lock:
                    if len(self._threads) < self.max_workers and not self._stop.is_set():
                        self._add_worker()
            if conn is None:
                conn, used = self._connection(), 0
            outcome, keep = self._request(conn, due, write=bool(self.write_every) and ticket % self.write_every == 0)
            used += 1
            if not keep or used == self.connection_requests:
                conn.close()
                conn = None
            with self._lock:
                self.report.outcomes.append(outcome)
        if conn is not None:
            conn.close()

    def _connection(self) -> http.client.HTTPConnection:
        if self.tls is None:
            return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return TLSConnection(self.host, self.port, self.timeout, self.tls, self.server_name)

    def _request(self, conn: http.client.HTTPConnection, due: float, write: bool) -> tuple[Outcome, bool]:
        if write:
            sku = f"LOAD-{uuid.uuid4().hex[:12]}"
            method, path = "POST", "/api/items"
            # The sku in the name too: an app that keeps only a name (examples/shop) keeps it.
            body = json.dumps({"sku": sku, "name": sku, "quantity": 1, "location": "L-1"})
            headers = {"Content-Type": "application/json"}
        else:
            sku, method, path, body, headers = "", "GET", self.read_path, None, {}
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(due, time.monotonic() - due, False, method, type(exc).__name__), False
        latency = time.monotonic() - due
        ok = response.status == (201 if write else 200)
        if ok and write:
            with self._lock:
                self.report.created_skus.append(sku)
        keep = not response.will_close
        return Outcome(due, latency, ok, method, "" if ok else f"HTTP {response.status}"), keep


def main(argv: list[str] | None = None) -> int:
    """`python -m greenlight.load URL [--rate N] -- COMMAND...`: load URL while COMMAND runs.

    Prints the load's summary as JSON and exits with COMMAND's exit code; a failed request
    does not change the exit code (read the summary).
    """
    import argparse
    import subprocess
    import sys

    parser = argparse.ArgumentParser(prog="python -m greenlight.load", description=main.__doc__)
    parser.add_argument("url", help="base URL on 127.0.0.1, for example http://127.0.0.1:80")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (default 100)")
    parser.add_argument("--report", help="also write the summary to this file")
    parser.add_argument("--read-path", default="/api/items", help="what the reads GET (default /api/items)")
    parser.add_argument("--write-every", type=int, default=5,
                        help="every Nth request is a write, POST /api/items (default 5; 0: none)")
    parser.add_argument("--connection-requests", type=int, default=0,
                        help="requests a connection carries before the client closes it (default 0: no limit)")
    parser.add_argument("--allow", action="append", default=[],
                        help="an address besides loopback this machine made (a test's veth pair)")
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("give the command to run under load after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1:]
    try:
        load = Load(args.url, rate=args.rate, allow=tuple(args.allow), read_path=args.read_path,
                    write_every=args.write_every, connection_requests=args.connection_requests)
    except ValueError as exc:
        parser.error(str(exc))
    with load:
        rc = subprocess.call(command)
    summary = json.dumps(load.report.summary())
    print(f"load on {args.url}: {summary}", file=sys.stderr)
    if args.report:
        with open(args.report, "w") as report:
            report.write(summary + "\n")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
