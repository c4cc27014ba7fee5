"""Steady HTTP load against 127.0.0.1, counting every failed request.

Used by the end-to-end tests and the benchmark to prove that a deploy drops nothing:
a fixed request rate of reads (GET /api/items) and writes (POST /api/items), each
request's outcome and latency kept, and the longest stretch without a success measured.
Only loopback targets are accepted.
"""

from __future__ import annotations

import http.client
import itertools
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Outcome:
    started: float
    latency: float
    ok: bool
    kind: str
    detail: str = ""


@dataclass
class LoadReport:
    outcomes: list[Outcome] = field(default_factory=list)
    created_skus: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

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
            "p50_ms": round(self.latency_ms(0.50), 1),
            "p99_ms": round(self.latency_ms(0.99), 1),
            "max_ms": round(max(latencies, default=0) * 1000, 1),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
            "longest_gap_s": round(self.longest_gap_s(), 3),
            "failures": sorted({f"{o.kind}: {o.detail}" for o in self.failed})[:10],
        }


class Load:
    """Send `rate` requests per second to `base_url` until stop(), from `workers` threads.

    Every `write_every`-th request is a POST that creates an item with a unique sku; the
    skus of the created items are kept, so a test can check none was lost. The others GET
    `read_path`.
    """

    def __init__(self, base_url: str, rate: float = 100.0, workers: int = 8,
                 write_every: int = 5, max_seconds: float = 600.0, timeout: float = 10.0,
                 read_path: str = "/api/items") -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError(f"load is only sent to loopback addresses, not {parts.hostname!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.interval = 1.0 / rate
        self.workers = workers
        self.write_every = write_every
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.read_path = read_path
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticket = itertools.count()
        self._threads: list[threading.Thread] = []
        self._start = 0.0

    def __enter__(self) -> Load:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._start = time.monotonic()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self.workers)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> LoadReport:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.report

    def _work(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            ticket = next(self._ticket)
            due = self._start + ticket * self.interval
            if due - self._start > self.max_seconds:
                return
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            outcome, keep = self._request(conn, write=ticket % self.write_every == 0)
            if not keep:
                conn.close()
                conn = None
            with self._lock:
                self.report.outcomes.append(outcome)
        if conn is not None:
            conn.close()

    def _request(self, conn: http.client.HTTPConnection, write: bool) -> tuple[Outcome, bool]:
        if write:
            sku = f"LOAD-{uuid.uuid4().hex[:12]}"
            method, path = "POST", "/api/items"
            body = json.dumps({"sku": sku, "name": "load test", "quantity": 1, "location": "L-1"})
            headers = {"Content-Type": "application/json"}
        else:
            sku, method, path, body, headers = "", "GET", self.read_path, None, {}
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            latency = time.monotonic() - started
            return Outcome(started, latency, False, method, type(exc).__name__), False
        latency = time.monotonic() - started
        ok = response.status == (201 if write else 200)
        if ok and write:
            with self._lock:
                self.report.created_skus.append(sku)
        keep = not response.will_close
        return Outcome(started, latency, ok, method, "" if ok else f"HTTP {response.status}"), keep


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
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("give the command to run under load after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1:]
    try:
        load = Load(args.url, rate=args.rate)
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
