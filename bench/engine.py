"""Where the time of greenlight's commands goes: the configured waits, and the engine's own.

    .venv/bin/python bench/engine.py [--runs 1] [--cases promote noop latest rollback status verify]

A copy of the demo's inventories (app `engine`, state in /tmp/greenlight-engine, ports 15xxx
and 25xxx, the demo's own strategies, holds and windows: blue-green staging, canary
production) gets v1 on both environments (not measured), then each case runs the greenlight
command as a user would, with GREENLIGHT_TIMINGS naming a file where the runner writes
every task's seconds (greenlight/runner.py):

| case | command |
|---|---|
| promote | `greenlight promote v2` (staging, verify, production), from v1 live on both |
| noop | `greenlight deploy production v2`, the release already live |
| latest | `greenlight promote --latest --quiet`, main (v2) already live: cron's no-op |
| rollback | `greenlight rollback production`, to the warm v1; also the time from the command to the switch, seen in HAProxy |
| status | `greenlight status` (both environments) |
| verify | `greenlight verify staging` |

Each row splits the wall time into configured waits (the canary holds and watch windows,
the judge's baseline window: greenlight.deploy.canary and greenlight.deploy.baseline; the waits for health:
tasks that retry until a container or a color is healthy) and the engine's overhead
(everything else: Ansible's start, every other task, greenlight itself). Then the ten
slowest tasks of each case. Prints markdown and writes it to /tmp/greenlight-engine/engine.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
APP = "engine"
ROOT = Path("/tmp/greenlight-engine")
INVENTORIES = ROOT / "inventories"
STATE = ROOT / "state"
RESULTS = ROOT / "engine.md"
PORTS = {
    "production": {"proxy_http_port": 15080, "proxy_https_port": 15443, "proxy_api_port": 15500,
                   "proxy_preview_port": 15900, "proxy_metrics_port": 15404, "mysql_port": 15307,
                   "monitoring_mysqld_exporter_port": 15104},
    "staging": {"proxy_http_port": 25080, "proxy_https_port": 25443, "proxy_api_port": 25500,
                "proxy_preview_port": 25900, "proxy_metrics_port": 25404, "mysql_port": 25308,
                "monitoring_mysqld_exporter_port": 25104},
}
CASES = ("promote", "noop", "latest", "rollback", "status", "verify")
COMMANDS = {
    "promote": ["promote", "v2"],
    "noop": ["deploy", "production", "v2"],
    "latest": ["promote", "--latest", "--quiet"],
    "rollback": ["rollback", "production"],
    "status": ["status"],
    "verify": ["verify", "staging"],
}
# The modules whose time is a configured wait: canary holds, watch windows, the judge's baseline.
WAIT_ACTIONS = ("canary", "baseline")
# Tasks that wait for health (they retry until healthy), by the start of their name.
HEALTH_WAITS = ("Wait until", "Wait for the database", "Wait for the throwaway database")


def greenlight(*args: str, timings: Path | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "GREENLIGHT_STATE_DIR": str(STATE)}
    if timings:
        environment["GREENLIGHT_TIMINGS"] = str(timings)
    return subprocess.run([str(BIN / "greenlight"), "--inventories", str(INVENTORIES), *args], cwd="/",
                          env=environment, capture_output=True, text=True, timeout=1800)


def remove() -> None:
    subprocess.run(["bash", str(REPO / "scripts/remove-app.sh"), APP], capture_output=True,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "GREENLIGHT_ROOT": str(ROOT)})
    shutil.rmtree(ROOT, ignore_errors=True)


def set_up() -> None:
    remove()
    ROOT.mkdir(parents=True)
    subprocess.run(["bash", str(REPO / "examples/warehouse/make-repo.sh"), str(ROOT / "warehouse.git")], check=True,
                   capture_output=True)
    shutil.copytree(REPO / "inventories", INVENTORIES)
    for env in ("staging", "production"):
        own = {"greenlight_app": APP, "greenlight_root": str(ROOT), "app_repo": str(ROOT / "warehouse.git"),
               # Images are tagged by commit: the demo's are reused.
               "release_images": {"backend": "warehouse-backend", "frontend": "warehouse-frontend"},
               "backup_schedule": "", **PORTS[env]}
        (INVENTORIES / env / "group_vars" / "all" / "zz-engine.yml").write_text(yaml.safe_dump(own))
    for env in ("staging", "production"):
        done = greenlight("deploy", env, "v1")
        if done.returncode != 0:
            raise SystemExit(f"the bench's v1 deploy of {env} failed:\n{done.stdout}{done.stderr}")


def weights() -> dict[str, int]:
    import greenlight  # noqa: F401, PLC0415 (puts greenlight's collection on the path)
    from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import read_servers  # noqa: PLC0415

    socket = ROOT / f"{APP}-production" / "proxy" / "run" / "admin.sock"
    return {color: info["weight"] for color, info in read_servers(str(socket))["api"].items()}


def switch_seen(started: float, stop: threading.Event, seen: list[float]) -> None:
    """The moment HAProxy's production weights change (a rollback's switch), from `started`."""
    before = weights()
    while not stop.is_set():
        if weights() != before:
            seen.append(time.monotonic() - started)
            return
        time.sleep(0.005)


def measure(case: str) -> dict:
    timings = ROOT / f"timings-{case}.jsonl"
    timings.unlink(missing_ok=True)
    seen: list[float] = []
    stop = threading.Event()
    started = time.monotonic()
    watcher = threading.Thread(target=switch_seen, args=(started, stop, seen), daemon=True)
    if case == "rollback":
        watcher.start()
    done = greenlight(*COMMANDS[case], timings=timings)
    wall = time.monotonic() - started
    stop.set()
    tasks = [json.loads(line) for line in timings.read_text().splitlines()] if timings.exists() else []
    waits = sum(t["seconds"] for t in tasks if t["action"].rsplit(".", 1)[-1] in WAIT_ACTIONS
                or t["task"].startswith(HEALTH_WAITS))
    return {"case": case, "rc": done.returncode, "wall": wall, "waits": waits, "overhead": wall - waits,
            "tasks": len([t for t in tasks if not t["skipped"]]), "playbooks": len({(t["playbook"], t["env"]) for t in tasks}),
            "switch": seen[0] if seen else None, "slowest": sorted(tasks, key=lambda t: -t["seconds"])[:10],
            "output": (done.stdout + done.stderr)[-1500:]}


def report(rows: list[dict], commit: str) -> str:
    lines = [f"greenlight's engine at {commit}, {time.strftime('%Y-%m-%d %H:%M')}, this machine "
             f"({os.cpu_count()} cores); seconds", "",
             "| case | exit | wall | configured waits | engine overhead | tasks run | playbooks | to the switch |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        switch = f"{row['switch']:.2f}" if row["switch"] is not None else "-"
        lines.append(f"| {row['case']} | {row['rc']} | {row['wall']:.1f} | {row['waits']:.1f} | {row['overhead']:.1f} | "
                     f"{row['tasks']} | {row['playbooks']} | {switch} |")
    for row in rows:
        lines += ["", f"ten slowest tasks of {row['case']}:", "", "| seconds | playbook | task |", "|---|---|---|"]
        lines += [f"| {t['seconds']:.2f} | {t['playbook']} {t['env']} | {t['task']} |" for t in row["slowest"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--keep", action="store_true", help="leave the bench's environments for a look afterwards")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    set_up()
    rows = []
    try:
        for case in CASES:
            if case in args.cases:
                rows.append(measure(case))
                print(f"{case}: {rows[-1]['wall']:.1f} s (exit {rows[-1]['rc']})", flush=True)
    finally:
        if not args.keep:
            remove()
    text = report(rows, commit)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    failed = [row for row in rows if row["rc"] != 0]
    for row in failed:
        print(f"{row['case']} exited {row['rc']}:\n{row['output']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
