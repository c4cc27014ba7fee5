"""Benchmark: the monitoring stack's resident memory and CPU, both environments under load.

    .venv/bin/python bench/monitoring.py [--rate 100] [--minutes 5]      (make bench-monitoring)

Deploys the bench's test copy of the sample app (bench/run.py's: app `bench`, /tmp/greenlight-bench)
as production (ports 17xxx) and as staging (ports 27xxx) at v1, converges the monitoring stack
for both with its default intervals (scrape 15 s, status page every 60 s), lets it settle for
a minute, then sends --rate requests/s of reads and writes to each environment for --minutes
while it reads, from Docker, each part's CPU time (at the start and the end: the average over
the run) and memory (every 10 s: Docker's usage less the reclaimable page cache, as
`docker stats` shows it; the highest seen). Prints one markdown table, also written to
/tmp/greenlight-bench/monitoring.md. Target (issue 11): under 300 MiB and 5% of a core in all.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from run import (APP, PORTS, REPO, ROOT, VARS_FILE, BenchError, Logs, ansible_env, check_tools,  # noqa: E402
                 create_read_item, log, remove_bench, setup)

from greenlight.load import Load  # noqa: E402

NAME = f"{APP}-monitoring"
STAGING_PORTS = {"proxy_http_port": 27080, "proxy_https_port": 27443, "proxy_api_port": 27500,
                 "proxy_preview_port": 27900, "proxy_metrics_port": 27404, "mysql_port": 27307}
MONITORING = {"monitoring_name": NAME, "monitoring_prometheus_port": 17090, "monitoring_alertmanager_port": 17093,
              "monitoring_blackbox_port": 17115, "monitoring_node_port": 17100, "monitoring_status_port": 17099}
EXPORTERS = {"production": 17104, "staging": 27104}
RESULTS = ROOT / "monitoring.md"
SOCKET = "/var/run/docker.sock"


def run_playbook(logs: Logs, name: str, env: str, extra: dict) -> None:
    settings = ROOT / f"monitoring-bench-{env}-{name}.json"
    settings.write_text(json.dumps(extra))
    log_file = logs.new(f"{name}-{env}")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), f"playbooks/{name}", "-i", f"inventories/{env}",
               "-e", f"@{VARS_FILE}", "-e", f"@{settings}"]
    with log_file.open("w") as out:
        done = subprocess.run(command, cwd=REPO, env=ansible_env(), stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise BenchError(f"{name} for {env} failed; see {log_file}")


class DockerConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCKET)


def stats(name: str) -> dict:
    """Docker's one-shot stats of a container (its cgroup's CPU time and memory)."""
    connection = DockerConnection("localhost", timeout=30)
    try:
        connection.request("GET", f"/containers/{name}/stats?stream=false")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def memory_bytes(sample: dict) -> float:
    memory = sample.get("memory_stats", {})
    detail = memory.get("stats", {})
    return memory.get("usage", 0) - detail.get("inactive_file", detail.get("total_inactive_file", 0))


def remove_stack() -> None:
    """The bench's monitoring stack (its exporters go with the app, in remove_bench)."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=greenlight.monitoring={NAME}"],
                         capture_output=True, text=True, check=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=True)


def parts() -> list[str]:
    rows = subprocess.run(["docker", "ps", "--filter", f"label=greenlight.monitoring={NAME}", "--format", "{{.Names}}"],
                          capture_output=True, text=True, check=True).stdout.split()
    return sorted(rows) + [f"{APP}-{env}-mysqld-exporter" for env in ("production", "staging")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/monitoring.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s to each environment (default 100)")
    parser.add_argument("--minutes", type=float, default=5.0, help="minutes measured (default 5)")
    parser.add_argument("--keep", action="store_true", help="leave the environments and the stack running")
    args = parser.parse_args(argv)
    check_tools([])
    try:
        log("remove what an earlier bench left")
        remove_stack()
        remove_bench(keep_output=False)
        logs = Logs()
        setup(logs, need_v2_image=False)
        log("deploy the staging copy at v1")
        run_playbook(logs, "deploy.yml", "staging", {**STAGING_PORTS, "app_version": "v1"})
        for env, ports in (("staging", STAGING_PORTS), ("production", PORTS)):
            log(f"monitoring for {env}")
            run_playbook(logs, "monitoring.yml", env, {**ports, **MONITORING, "monitoring_mysqld_exporter_port": EXPORTERS[env]})
        log("let the stack settle for a minute")
        time.sleep(60)
        names = parts()
        urls = [f"http://127.0.0.1:{ports['proxy_http_port']}" for ports in (PORTS, STAGING_PORTS)]
        loads = [Load(url, rate=args.rate, workers=24, read_path=create_read_item(url), max_seconds=args.minutes * 60 + 120)
                 for url in urls]
        for load in loads:
            load.__enter__()
        start = {name: stats(name) for name in names}
        started = time.monotonic()
        peak = dict.fromkeys(names, 0.0)
        log(f"{args.rate:.0f} requests/s to each environment for {args.minutes:g} minutes")
        while time.monotonic() - started < args.minutes * 60:
            for name in names:
                peak[name] = max(peak[name], memory_bytes(stats(name)))
            time.sleep(10)
        end = {name: stats(name) for name in names}
        seconds = time.monotonic() - started
        summaries = []
        for load in loads:
            load.__exit__(None, None, None)
            summaries.append(load.report.summary())
        rows, total_cpu, total_mib = [], 0.0, 0.0
        for name in names:
            cpu = (end[name]["cpu_stats"]["cpu_usage"]["total_usage"] - start[name]["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9
            share = cpu / seconds * 100
            mib = peak[name] / 1048576
            total_cpu += share
            total_mib += mib
            rows.append(f"| {name} | {mib:.1f} | {share:.2f}% |")
        load_text = ", ".join(f"{s['requests']} requests, {s['failed']} failed, rate met: {s['rate_met']}" for s in summaries)
        table = "\n".join([
            f"Monitoring stack, both environments under {args.rate:.0f} requests/s each for {seconds / 60:.1f} minutes "
            f"(load: {load_text})",
            "", "| container | peak memory (MiB) | CPU (share of one core) |", "|---|---|---|", *rows,
            f"| **all** | **{total_mib:.1f}** (target < 300) | **{total_cpu:.2f}%** (target < 5%) |"])
        RESULTS.write_text(table + "\n")
        print(table)
        return 0
    except BenchError as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        if not args.keep:
            remove_stack()
            remove_bench(keep_output=True)


if __name__ == "__main__":
    sys.exit(main())
