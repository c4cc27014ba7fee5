"""Benchmark: production's latency while every staging container burns CPU.

    .venv/bin/python bench/contention.py [--rate 100] [--seconds 40]      (make bench-contention)

Deploys the bench's test copy of the sample app (bench/run.py's: app `bench`) as production
(ports 17xxx) and as staging (ports 27xxx, the staging inventory's limits and CPU weight) at v1,
then sends --rate requests/s of reads and writes to production for --seconds, three times:
  1. quiet: staging idle;
  2. burn, staging's weight as production's: two busy loops in every staging container, the
     containers' CPU weight set to Docker's default 1024 (what staging had before issue 12);
  3. burn, staging's own weight (greenlight_cpu_shares: 256 in its inventory).
Each staging container is also capped (its cpus), but together they may use more than the two
cores of the bench's machine: only the weight keeps production ahead. Prints one markdown table,
also written to /tmp/greenlight-bench/contention.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring import STAGING_PORTS, run_playbook  # noqa: E402
from run import APP, PORTS, ROOT, BenchError, Logs, check_tools, create_read_item, log, remove_bench, setup  # noqa: E402

from greenlight.load import Load  # noqa: E402

RESULTS = ROOT / "contention.md"
LOOPS_PER_CONTAINER = 2


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def staging_containers() -> list[str]:
    return sorted(docker("ps", "--filter", f"label=greenlight.app={APP}", "--filter", "label=greenlight.env=staging",
                         "--format", "{{.Names}}").split())


def burn(names: list[str], seconds: float) -> None:
    """Busy loops in every container, each ending by itself after `seconds` (coreutils' timeout)."""
    for name in names:
        for _ in range(LOOPS_PER_CONTAINER):
            docker("exec", "-d", name, "timeout", str(int(seconds)), "sh", "-c", "while :; do :; done")


def measure(url: str, read_path: str, rate: float, seconds: float) -> dict:
    load = Load(url, rate=rate, workers=24, read_path=read_path, max_seconds=seconds + 60)
    with load:
        time.sleep(seconds)
    return load.report.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/contention.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s to production (default 100)")
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of each measurement (default 40)")
    parser.add_argument("--keep", action="store_true", help="leave the environments running")
    args = parser.parse_args(argv)
    check_tools([])
    try:
        log("remove what an earlier bench left")
        remove_bench(keep_output=False)
        logs = Logs()
        setup(logs, need_v2_image=False)
        log("deploy the staging copy at v1")
        run_playbook(logs, "deploy.yml", "staging", {**STAGING_PORTS, "app_version": "v1"})
        names = staging_containers()
        shares = {name: docker("inspect", "--format", "{{.HostConfig.CpuShares}}", name).strip() for name in names}
        url = f"http://127.0.0.1:{PORTS['proxy_http_port']}"
        read_path = create_read_item(url)
        rows = []
        log(f"1/3 quiet: {args.rate:.0f} requests/s to production for {args.seconds:g} s")
        rows.append(("staging idle", "-", measure(url, read_path, args.rate, args.seconds)))
        log("2/3 every staging container burning, with production's weight (1024)")
        docker("update", "--cpu-shares", "1024", *names)
        burn(names, args.seconds + 5)
        rows.append(("staging burning", "1024 (Docker's default)", measure(url, read_path, args.rate, args.seconds)))
        time.sleep(6)
        log("3/3 every staging container burning, with staging's own weight")
        for name, value in shares.items():
            docker("update", "--cpu-shares", value, name)
        burn(names, args.seconds + 5)
        rows.append(("staging burning", f"{sorted(set(shares.values()))[0]} (greenlight_cpu_shares)",
                     measure(url, read_path, args.rate, args.seconds)))
        table = "\n".join([
            f"Production under {args.rate:.0f} requests/s for {args.seconds:g} s each; staging's {len(names)} containers "
            f"({LOOPS_PER_CONTAINER} busy loops each when burning)", "",
            "| staging | staging's CPU weight | requests | failed | p50 (ms) | p99 (ms) | max (ms) |",
            "|---|---|---|---|---|---|---|",
            *[f"| {what} | {weight} | {s['requests']} | {s['failed']} | {s['p50_ms']} | {s['p99_ms']} | {s['max_ms']} |"
              for what, weight, s in rows]])
        RESULTS.write_text(table + "\n")
        print(table)
        return 0
    except BenchError as exc:
        log(f"failed: {exc}")
        return 1
    finally:
        if not args.keep:
            remove_bench(keep_output=True)


if __name__ == "__main__":
    sys.exit(main())
