"""Benchmark: HTTP load on 127.0.0.1 through production deploys, against the naive way.

    .venv/bin/python bench/run.py [--rate 100] [--min-requests 20000] [--cases naive blue_green ...]

Each case is one deploy (or rollback) of a test copy of the sample app (app `bench`, state
in /tmp/greenlight-bench, ports 17xxx) under a steady load of reads and writes on a fixed
timetable (greenlight.load: latency from each request's due time): the load starts, runs
LEAD_S alone, the deploy runs, and the load goes on for at least TAIL_S after it and until
--min-requests were sent. The strategies upgrade v1 to v2 (a migration) on a fresh
database each. The `naive` case does the same to a docker-compose project whose backend
container `docker-compose up -d` recreates with the new image. The `judge` case deploys
releases made to test the canary judge (`slow`, `flaky2`) and the good v2, --judge-runs
times each, and counts how often the judge rolled back. Prints markdown tables (also
written to /tmp/greenlight-bench/results.md) and exits 1 when a target is missed, 2 when
the bench cannot run at all.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from greenlight.load import Load, LoadReport  # noqa: E402
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, read_servers  # noqa: E402,I001

APP = "bench"
ROOT = Path("/tmp/greenlight-bench")
ENV_DIR = ROOT / f"{APP}-production"
HISTORY = ENV_DIR / "history.jsonl"
ADMIN_SOCKET = ENV_DIR / "proxy" / "run" / "admin.sock"
APP_REPO = ROOT / "warehouse.git"
VARS_FILE = ROOT / "vars.json"
LOGS = ROOT / "logs"
RESULTS = ROOT / "results.md"
BIN = Path(sys.executable).parent

PORTS = {"proxy_http_port": 17080, "proxy_https_port": 17443, "proxy_api_port": 17500,
         "proxy_preview_port": 17900, "proxy_metrics_port": 17404, "mysql_port": 17307}
API_URL = f"http://127.0.0.1:{PORTS['proxy_api_port']}"

NAIVE_PROJECT = "greenlight-bench-naive"
NAIVE_COMPOSE = REPO / "bench" / "naive" / "docker-compose.yml"
NAIVE_URL = "http://127.0.0.1:17600"

LEAD_S = 5.0
TAIL_S = 5.0
# Threads the load generator starts with; it adds more while requests fall behind their time.
LOAD_WORKERS = 48
# Deploys that only prepare a case skip the watch window after the switch (not measured).
UNMEASURED = ("-e", "deploy_watch_seconds=0")
# The unhealthy release never gets healthy; waiting the default 60 s for it proves nothing more.
UNHEALTHY_TIMEOUT = ("-e", "healthcheck_timeout=20")
ROLLBACK_TARGET_MS = 100
FLAKY_MAX_FAILED_PERCENT = 1.0

# Every case, in the order they run.
CASES = ("naive", "blue_green", "canary", "rolling", "rollback", "flaky", "unhealthy", "judge")
# The judge case: releases, rates (requests/s) and the share of runs that must be rolled back.
JUDGE_ROWS = (("fault/slow", 10, 0.95), ("fault/slow", 100, 1.0), ("fault/flaky2", 10, 0.95),
              ("fault/flaky2", 100, 1.0), ("v2", 100, 0.0))


class BenchError(Exception):
    """The bench cannot go on (setup failed, a tool is missing): one line for the user."""


@dataclass
class Window:
    """What happened in one case's load window."""
    report: LoadReport
    seconds: float
    deploy_started: float
    deploy_seconds: float
    rc: int


@dataclass
class Result:
    case: str
    strategy: str
    release: str
    window: Window
    switch: str
    target: str
    misses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baseline: bool = False
    rollback: str = "n/a"
    recreate: str = "n/a"

    @property
    def summary(self) -> dict:
        return self.window.report.summary()

    @property
    def failed_percent(self) -> float:
        total = self.window.report.total
        return 100.0 * len(self.window.report.failed) / total if total else 0.0

    @property
    def met(self) -> str:
        if self.baseline:
            return "-"
        return "no" if self.misses or not self.window.report.rate_met else "yes"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the environment under test ---------------------------------------------------------

def extra_vars() -> dict:
    return {
        "greenlight_app": APP,
        "greenlight_root": str(ROOT),
        "app_repo": str(APP_REPO),
        # Images are tagged by commit, so the bench shares the demo's.
        "release_images": {"backend": "warehouse-backend", "frontend": "warehouse-frontend"},
        **PORTS,
    }


class Logs:
    """One file per step in LOGS, numbered in the order the steps ran."""

    def __init__(self) -> None:
        self.count = 0

    def new(self, name: str) -> Path:
        self.count += 1
        return LOGS / f"{self.count:02d}-{name}.log"


def ansible_env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


# -e KEY=VALUE given to bench/run.py, passed to every playbook.
EXTRA_VARS: list[str] = []


def playbook(log_file: Path, name: str, *args: str) -> int:
    command = [str(BIN / "ansible-playbook"), f"playbooks/{name}", "-i", "inventories/production",
               "-e", f"@{VARS_FILE}", *args]
    for extra in EXTRA_VARS:
        command += ["-e", extra]
    with log_file.open("w") as out:
        out.write(" ".join(command) + "\n\n")
        out.flush()
        done = subprocess.run(command, cwd=REPO, env=ansible_env(), stdout=out, stderr=subprocess.STDOUT,
                              timeout=1200, check=False)
    return done.returncode


def deploy(log_file: Path, version: str, strategy: str, *args: str) -> int:
    return playbook(log_file, "deploy.yml", "-e", f"app_version={version}", "-e", f"deploy_strategy={strategy}", *args)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def live_version(samples: int = 20) -> str:
    """The release(s) the proxy's API port serves, from a few requests: "v2", or "v1+v2" when split."""
    versions = set()
    for _ in range(samples):
        try:
            versions.add(str(get_json(f"{API_URL}/api/version")["version"]))
        except (OSError, ValueError, KeyError):
            versions.add("none")
    return "+".join(sorted(versions))


def current_release() -> str:
    """The release the newest successful deploy or rollback put live (a failed one leaves it)."""
    for record in reversed(history_records()):
        if record.get("kind", "deploy") in ("deploy", "rollback") and record.get("outcome") == "success":
            return str(record["version"])
    return live_version()


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            get_json(f"{url}/health")
            return
        except (OSError, ValueError) as exc:
            if time.monotonic() > deadline:
                raise BenchError(f"{url}/health did not answer 200 within {timeout:.0f} s: {exc}") from exc
            time.sleep(0.5)


def create_read_item(url: str) -> str:
    """Create the item the load reads, and return its path."""
    body = json.dumps({"sku": f"BENCH-READ-{uuid.uuid4().hex[:12]}", "name": "bench read", "quantity": 1,
                       "location": "L-1"}).encode()
    request = urllib.request.Request(f"{url}/api/items", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return f"/api/items/{json.loads(response.read())['id']}"
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"cannot create the item the load reads at {url}: {exc}") from exc


def history_records() -> list[dict]:
    if not HISTORY.exists():
        return []
    return [json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()]


def commit_of(version: str) -> str:
    done = subprocess.run(["git", "-C", str(APP_REPO), "rev-parse", "--verify", f"{version}^{{commit}}"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{version} is not in {APP_REPO}: {done.stderr.strip()}")
    return done.stdout.strip()


def backend_image(version: str) -> str:
    return f"warehouse-backend:{commit_of(version)[:12]}"


def image_exists(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0


def other_release(version: str) -> str:
    return "v1" if version == "v2" else "v2"


def milliseconds(record: dict, key: str) -> float | None:
    try:
        return float(record[key])
    except (KeyError, TypeError, ValueError):
        return None


def format_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{round(value, 1):g}"


# --- load windows -----------------------------------------------------------------------

def under_load(url: str, read_path: str, rate: float, min_requests: int, action: Callable[[], int]) -> Window:
    """Run action (a deploy; returns its exit code) inside a load window on url."""
    # Reads fetch one item by id: GET /api/items lists the whole table, which the writes grow
    # by 50 rows a second, so it would soon cost more CPU than the deploy under test.
    load = Load(url, rate=rate, workers=LOAD_WORKERS, max_seconds=3600.0, read_path=read_path)
    started = time.monotonic()
    load.start()
    try:
        time.sleep(LEAD_S)
        deploy_started = time.monotonic()
        rc = action()
        deploy_seconds = time.monotonic() - deploy_started
        tail_until = time.monotonic() + TAIL_S
        while time.monotonic() < tail_until or load.report.total < min_requests:
            time.sleep(0.1)
    finally:
        report = load.stop()
    return Window(report, time.monotonic() - started, deploy_started, deploy_seconds, rc)


def common_misses(window: Window, min_requests: int) -> list[str]:
    misses = []
    if window.report.total < min_requests:
        misses.append(f"only {window.report.total} requests")
    if not window.report.rate_met:
        misses.append(f"the load fell short: {window.report.achieved_rate:.0f} of {window.report.asked_rate:.0f} "
                      "requests/s asked")
    return misses


# --- the naive way: docker-compose recreate ---------------------------------------------

def compose(log_file: Path, images: dict[str, str], *args: str) -> int:
    command = ["docker-compose", "-p", NAIVE_PROJECT, "-f", str(NAIVE_COMPOSE), *args]
    with log_file.open("a") as out:
        out.write(f"$ {' '.join(f'{k}={v}' for k, v in images.items())} {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=NAIVE_COMPOSE.parent, env={**os.environ, **images},
                              stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False)
    return done.returncode


def remove_naive(log_file: Path | None = None) -> None:
    if shutil.which("docker-compose") is None:
        return
    # Down reads the file, whose images must be named; these placeholders are never run.
    images = {"MYSQL_IMAGE": "unused", "BACKEND_IMAGE": "unused"}
    compose(log_file or Path(os.devnull), images, "down", "-v", "--remove-orphans")


def naive_case(logs: Logs, rate: float, min_requests: int) -> Result:
    log_file = logs.new("naive")
    mysql_image = subprocess.run(["docker", "inspect", f"{APP}-production-mysql", "--format", "{{.Config.Image}}"],
                                 capture_output=True, text=True, check=False).stdout.strip()
    if not mysql_image:
        raise BenchError("the bench's database container is missing, so its image is unknown; run the setup first")
    old = {"MYSQL_IMAGE": mysql_image, "BACKEND_IMAGE": backend_image("v1")}
    new = {**old, "BACKEND_IMAGE": backend_image("v2")}
    log(f"naive: start the compose project on v1 ({old['BACKEND_IMAGE']})")
    for args in (("up", "-d", "db"), ("run", "--rm", "migrate"), ("up", "-d", "backend")):
        if compose(log_file, old, *args) != 0:
            raise BenchError(f"docker-compose {' '.join(args)} failed; see {log_file}")
    wait_healthy(NAIVE_URL)
    read_path = create_read_item(NAIVE_URL)
    recreate_ms: list[float] = []

    def recreate() -> int:
        # As a compose user deploys: migrations of the new image, then `up -d` recreates the backend.
        rc = compose(log_file, new, "run", "--rm", "migrate")
        if rc != 0:
            return rc
        started = time.monotonic()
        rc = compose(log_file, new, "up", "-d", "backend")
        recreate_ms.append((time.monotonic() - started) * 1000)
        return rc

    log(f"naive: load {NAIVE_URL}, then `docker-compose up -d backend` with v2 ({new['BACKEND_IMAGE']})")
    window = under_load(NAIVE_URL, read_path, rate, min_requests, recreate)
    try:
        version = str(get_json(f"{NAIVE_URL}/api/version").get("version", "?"))
    except (OSError, ValueError) as exc:
        version = f"unknown ({exc})"
    remove_naive(log_file)
    result = Result("naive compose", "compose recreate", "v1 -> v2", window, "n/a", "baseline, for comparison",
                    baseline=True, recreate=format_ms(recreate_ms[0] if recreate_ms else None))
    if window.rc != 0 or version != "v2":
        result.notes.append(f"the recreate did not end on v2 (rc {window.rc}, version {version})")
    return result


# --- greenlight cases -------------------------------------------------------------------

@dataclass
class Deployed:
    window: Window
    before: str
    after: str
    record: dict | None


def greenlight_window(logs: Logs, name: str, rate: float, min_requests: int,
                      run: Callable[[Path], int]) -> Deployed:
    log_file = logs.new(name)
    before = live_version()
    records_before = len(history_records())
    read_path = create_read_item(API_URL)
    window = under_load(API_URL, read_path, rate, min_requests, lambda: run(log_file))
    records = history_records()
    record = records[-1] if len(records) > records_before else None
    deployed = Deployed(window, before, live_version(), record)
    log(f"{name}: rc {window.rc}, {before} -> {deployed.after}, {window.report.total} requests, "
        f"{len(window.report.failed)} failed; log {log_file}")
    return deployed


def strategy_case(logs: Logs, rate: float, min_requests: int, strategy: str) -> Result:
    # The upgrade users do: v1 to v2, with v2's migration, on a database no earlier case touched.
    fresh_v1(logs)
    version = "v2"
    log(f"{strategy}: deploy {version} under {rate:.0f} requests/s")
    run = greenlight_window(logs, strategy, rate, min_requests, lambda f: deploy(f, version, strategy))
    switch = milliseconds(run.record or {}, "switch_ms")
    result = Result(strategy, strategy, f"{run.before} -> {version}", run.window, format_ms(switch),
                    f"0 failed of >= {min_requests}", common_misses(run.window, min_requests))
    if run.window.rc != 0:
        result.misses.append(f"deploy failed (rc {run.window.rc})")
    if run.after != version:
        result.misses.append(f"live is {run.after}, not {version}")
    if run.window.report.failed:
        result.misses.append(f"{len(run.window.report.failed)} failed requests")
    return result


def rollback_case(logs: Logs, rate: float, min_requests: int) -> Result:
    # A rolling deploy leaves no warm old color; a blue-green one does.
    version = other_release(current_release())
    log(f"rollback: first deploy {version} with blue_green (not measured), so the old color is warm")
    prep_log = logs.new("rollback-prep")
    if deploy(prep_log, version, "blue_green", *UNMEASURED) != 0:
        raise BenchError(f"the blue_green deploy before the rollback failed; see {prep_log}")
    log("rollback: roll back under load")
    run = greenlight_window(logs, "rollback", rate, min_requests, lambda f: playbook(f, "rollback.yml"))
    record = run.record or {}
    switch, rollback = milliseconds(record, "switch_ms"), milliseconds(record, "rollback_ms")
    result = Result("rollback", "rollback.yml", f"{run.before} -> {run.after}", run.window, format_ms(switch),
                    f"0 failed of >= {min_requests}, switch <= {ROLLBACK_TARGET_MS} ms",
                    common_misses(run.window, min_requests), rollback=format_ms(rollback))
    if run.window.rc != 0:
        result.misses.append(f"rollback failed (rc {run.window.rc})")
    if run.after != other_release(version):
        result.misses.append(f"live is {run.after}, not {other_release(version)}")
    if run.window.report.failed:
        result.misses.append(f"{len(run.window.report.failed)} failed requests")
    moved = rollback if rollback is not None else switch
    if moved is None:
        result.misses.append("the history records no switch_ms/rollback_ms for the rollback")
    elif moved > ROLLBACK_TARGET_MS:
        result.misses.append(f"traffic moved back in {moved:.0f} ms")
    return result


def flaky_case(logs: Logs, rate: float, min_requests: int) -> Result:
    log("flaky: deploy fault/flaky with canary; analysis must roll it back")
    run = greenlight_window(logs, "canary-flaky", rate, min_requests,
                            lambda f: deploy(f, "fault/flaky", "canary"))
    record = run.record or {}
    switch, rollback = milliseconds(record, "switch_ms"), milliseconds(record, "rollback_ms")
    result = Result("canary flaky", "canary", f"{run.before} -> fault/flaky", run.window, format_ms(switch),
                    f"rolled back, < {FLAKY_MAX_FAILED_PERCENT:g}% failed, rollback <= {ROLLBACK_TARGET_MS} ms",
                    common_misses(run.window, min_requests), rollback=format_ms(rollback))
    if run.window.rc == 0:
        result.misses.append("the deploy succeeded: flaky went live")
    if run.after != run.before:
        result.misses.append(f"live is {run.after}, not {run.before}")
    if result.failed_percent >= FLAKY_MAX_FAILED_PERCENT:
        result.misses.append(f"{result.failed_percent:.2f}% failed")
    if rollback is None:
        result.misses.append("the history records no rollback_ms")
    elif rollback > ROLLBACK_TARGET_MS:
        result.misses.append(f"rolled back {rollback:.0f} ms after the decision")
    return result


def api_servers() -> dict[str, dict]:
    try:
        return read_servers(str(ADMIN_SOCKET))["api"]
    except (HAProxyError, KeyError) as exc:
        raise BenchError(f"cannot read the api servers from HAProxy at {ADMIN_SOCKET}: {exc}") from exc


def unhealthy_case(logs: Logs, rate: float, min_requests: int) -> Result:
    before = api_servers()
    log("unhealthy: deploy fault/unhealthy with blue_green; it must fail")
    run = greenlight_window(logs, "unhealthy", rate, min_requests,
                            lambda f: deploy(f, "fault/unhealthy", "blue_green", *UNHEALTHY_TIMEOUT))
    after = api_servers()
    # The color the release was started on, as recorded; else the one that was idle.
    idle = [name for name, server in before.items() if server["weight"] == 0]
    color = str((run.record or {}).get("color") or (idle[0] if len(idle) == 1 else ""))
    result = Result("unhealthy", "blue_green", f"{run.before} -> fault/unhealthy", run.window, "n/a",
                    "deploy refused, unhealthy gets 0 requests, 0 failed", common_misses(run.window, min_requests))
    if color not in before or color not in after:
        result.misses.append(f"cannot tell which color the unhealthy release ran on (HAProxy has {sorted(after)})")
        received = 0
    else:
        received = int(after[color].get("stot", 0)) - int(before[color].get("stot", 0))
        result.notes.append(f"requests HAProxy sent to the unhealthy color ({color}): {received}")
        if before[color]["weight"] != 0:
            result.notes.append(f"{color} served the old release before the deploy, so that count includes those")
    if run.window.rc == 0:
        result.misses.append("the deploy succeeded: unhealthy went live")
    if run.after != run.before:
        result.misses.append(f"live is {run.after}, not {run.before}")
    if received < 0:
        result.misses.append("HAProxy's counters were reset (the proxy restarted); cannot tell")
    elif received > 0:
        result.misses.append(f"the unhealthy color received {received} requests")
    if run.window.report.failed:
        result.misses.append(f"{len(run.window.report.failed)} failed requests")
    return result


# --- the judge: releases made to test it, many runs each -------------------------------

@dataclass
class JudgeRow:
    release: str
    rate: float
    target: float
    asked: int  # runs asked for; a row with fewer (an interrupted bench) is not met
    runs: list[tuple[bool, str, dict]] = field(default_factory=list)  # (rolled back, reason, load summary)

    @property
    def rolled_back(self) -> int:
        return sum(rolled for rolled, _, _ in self.runs)

    @property
    def share(self) -> float:
        return self.rolled_back / len(self.runs) if self.runs else 0.0

    @property
    def rate_met(self) -> bool:
        return all(summary["rate_met"] for _, _, summary in self.runs)

    @property
    def met(self) -> bool:
        good = self.share <= self.target if self.target == 0 else self.share >= self.target
        return len(self.runs) >= self.asked and good and self.rate_met


def judge_case(logs: Logs, runs: int, rows: list[JudgeRow]) -> None:
    """Each release of JUDGE_ROWS deployed with canary `runs` times under its rate; how often the judge said no.

    Fills `rows` in rounds (one run of every row, then the next), so a bench stopped early
    has as many runs of each row and still prints them."""
    rows.extend(JudgeRow(release, rate, target, runs) for release, rate, target in JUDGE_ROWS)
    for run_number in range(1, runs + 1):
        for row in rows:
            version = row.release
            if current_release() != "v1":  # every run upgrades v1 (a good v2 run leaves v2 live)
                # A canary keeps the old color warm: one switch back to v1, not a deploy.
                log_file = logs.new("judge-reset-v1")
                if playbook(log_file, "rollback.yml") != 0 or current_release() != "v1":
                    log_file = logs.new("judge-reset-v1-deploy")
                    if deploy(log_file, "v1", "blue_green", *UNMEASURED) != 0:
                        raise BenchError(f"the unmeasured deploy of v1 failed; see {log_file}")
            name = f"judge-{row.release.replace('/', '-')}-{row.rate:g}-{run_number}"
            run = greenlight_window(logs, name, row.rate, 0, lambda f, v=version: deploy(f, v, "canary"))
            record = run.record or {}
            failed = [w for w in record.get("analysis", []) if w.get("outcome") == "fail"]
            rolled = run.window.rc != 0 and bool(failed)
            if run.window.rc != 0 and not failed:
                raise BenchError(f"{name}: the deploy failed without a verdict; see its log")
            reason = f"{failed[-1].get('window')}: {failed[-1].get('reason', '')}" if failed else ""
            row.runs.append((rolled, reason, run.window.report.summary()))
            log(f"{name}: {'rolled back' if rolled else 'went live'} {reason[:160]}")


def judge_table(rows: list[JudgeRow]) -> str:
    lines = ["| release | requests/s | runs | rolled back | share | target | load rate held | met |", "|" + "---|" * 8]
    for row in rows:
        target = "0 (a false rollback)" if row.target == 0 else f">= {row.target:.0%}"
        achieved = min((summary["achieved_rate"] for _, _, summary in row.runs), default=0.0)
        runs = f"{len(row.runs)}" if len(row.runs) >= row.asked else f"{len(row.runs)} of {row.asked}"
        lines.append(f"| {row.release} | {row.rate:g} | {runs} | {row.rolled_back} | {row.share:.0%} | "
                     f"{target} | {'yes' if row.rate_met else 'no'} (lowest {achieved:g}/s) | "
                     f"{'yes' if row.met else 'no'} |")
    lines += ["", f"Canary with the production inventory's settings (steps 5/25/50/100 %, holds from 20 s, "
              f"extended up to 120 s until the sample can catch 2% errors), "
              f"{' / '.join(sorted({str(len(row.runs)) for row in rows}))} runs per row.", ""]
    for row in rows:
        reasons = sorted({reason.split(";")[0] for rolled, reason, _ in row.runs if rolled})
        if reasons:
            lines.append(f"- {row.release} at {row.rate:g}/s, why: " + " | ".join(reasons[:4]))
    return "\n".join(lines) + "\n"


# --- setup and cleanup ------------------------------------------------------------------

def remove_bench(keep_output: bool) -> None:
    """Remove what the bench made: the compose project, app `bench`'s Docker objects, ROOT's state."""
    remove_naive()
    removed = subprocess.run(["bash", str(REPO / "scripts" / "remove-app.sh"), APP], capture_output=True, text=True,
                             check=False)
    if removed.returncode != 0:
        log(f"scripts/remove-app.sh {APP} failed: {removed.stderr.strip()}")
    if ROOT.exists():
        for path in ROOT.iterdir():
            # The results (results.md, and the other benches' monitoring.md, contention.md) and the logs.
            if keep_output and (path.name == LOGS.name or path.suffix == ".md"):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def fresh_v1(logs: Logs) -> None:
    """A new environment on v1 with an empty database (the case after it upgrades it)."""
    log("fresh database: remove the bench's environment and deploy v1 again (not measured)")
    remove_bench(keep_output=True)
    setup(logs, need_v2_image=False)


def setup(logs: Logs, need_v2_image: bool) -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(exist_ok=True)
    subprocess.run(["bash", str(REPO / "examples" / "warehouse" / "make-repo.sh"), str(APP_REPO)],
                   check=True, capture_output=True)
    VARS_FILE.write_text(json.dumps(extra_vars(), indent=2) + "\n")
    releases = ["v1"]
    if need_v2_image and not image_exists(backend_image("v2")):
        # The naive case runs v2's image before any greenlight deploy of v2 built it.
        releases = ["v2", "v1"]
    for version in releases:
        log(f"setup: deploy {version} with blue_green (not measured)")
        log_file = logs.new(f"setup-{version}")
        if deploy(log_file, version, "blue_green", *UNMEASURED) != 0:
            raise BenchError(f"the setup deploy of {version} failed; see {log_file}")
    if live_version() != "v1":
        raise BenchError(f"after the setup {API_URL} serves {live_version()}, not v1")


def check_tools(cases: list[str]) -> None:
    if shutil.which("docker") is None:
        raise BenchError("docker is not installed (run `make setup`)")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        raise BenchError("Docker does not answer (run `make setup`)")
    if not (BIN / "ansible-playbook").exists():
        raise BenchError(f"no ansible-playbook beside {sys.executable}; run the bench with .venv/bin/python")
    if "naive" in cases and shutil.which("docker-compose") is None:
        raise BenchError("docker-compose is not installed: apt-get install -y docker-compose (`make bench` does it)")
    if not os.environ.get("GREENLIGHT_BASE_IMAGE"):
        base_image_file = REPO / ".greenlight" / "base-image"
        if not base_image_file.exists():
            raise BenchError("set GREENLIGHT_BASE_IMAGE, or run `make setup` to build the local base image")
        os.environ["GREENLIGHT_BASE_IMAGE"] = base_image_file.read_text().strip()


# --- output -----------------------------------------------------------------------------

COLUMNS = ("case", "strategy", "release", "requests", "failed", "failed %", "p50 ms", "p99 ms", "max ms",
           "longest gap s", "switch ms", "rollback ms", "recreate ms", "target", "met")


def table(results: list[Result], rate: float) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        s = r.summary
        cells = (r.case, r.strategy, r.release, s["requests"], s["failed"], f"{r.failed_percent:.2f}",
                 s["p50_ms"], s["p99_ms"], s["max_ms"], f"{s['longest_gap_s']:.3f}", r.switch, r.rollback,
                 r.recreate, r.target, r.met)
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", f"Load: {rate:g} requests/s asked (1 in 5 a write) on a fixed timetable, latency from each "
              f"request's due time; window = {LEAD_S:g} s before the deploy, the deploy, then at least {TAIL_S:g} s "
              "and until the minimum count was sent. switch ms: HAProxy applying the move of the traffic; "
              "rollback ms: from the judge's decision to the traffic back; recreate ms: `docker-compose up -d`.", ""]
    for r in results:
        w = r.window
        sent = w.report.achieved_rate
        behind = " -- the load fell short of the rate asked" if not w.report.rate_met else ""
        lines.append(f"- {r.case}: window {w.seconds:.1f} s ({sent:.0f} requests/s sent{behind}), "
                     f"deploy {w.deploy_seconds:.1f} s, rc {w.rc}"
                     + "".join(f"; {note}" for note in r.notes)
                     + "".join(f"; MISSED: {miss}" for miss in r.misses))
        failures = r.summary["failures"]
        if failures:
            times = [o.started - w.deploy_started for o in w.report.failed]
            lines.append(f"  - failures, sent from {min(times):+.1f} s to {max(times):+.1f} s of the deploy's start: "
                         f"{', '.join(failures)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # 100: what this 2-core machine serves while a deploy runs beside it (at 250 the queue grew for minutes).
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (default 100)")
    parser.add_argument("--min-requests", type=int, default=20000,
                        help="requests each case sends at least (default 20000)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), metavar="CASE",
                        help=f"cases to run, always in this order: {' '.join(CASES)} (default all)")
    parser.add_argument("-e", "--extra-var", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to every playbook as -e (for example deploy_canary_hold=10); repeatable")
    parser.add_argument("--judge-runs", type=int, default=10, help="runs of each judge row (default 10)")
    parser.add_argument("--keep", action="store_true", help="leave the bench's environment running at the end")
    args = parser.parse_args(argv)
    EXTRA_VARS.extend(args.extra_var)
    if args.rate <= 0 or args.min_requests < 0:
        parser.error("--rate must be > 0 and --min-requests >= 0")
    cases = [case for case in CASES if case in args.cases]
    case_functions: dict[str, Callable[[Logs, float, int], Result]] = {
        "naive": naive_case,
        "blue_green": partial(strategy_case, strategy="blue_green"),
        "canary": partial(strategy_case, strategy="canary"),
        "rolling": partial(strategy_case, strategy="rolling"),
        "rollback": rollback_case,
        "flaky": flaky_case,
        "unhealthy": unhealthy_case,
    }

    results: list[Result] = []
    judged: list[JudgeRow] = []
    started = time.monotonic()
    try:
        check_tools(cases)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    try:
        log("remove what an earlier bench left")
        remove_bench(keep_output=False)
        logs = Logs()
        setup(logs, need_v2_image="naive" in cases)
        for case in cases:
            if case == "judge":
                judge_case(logs, args.judge_runs, judged)
            else:
                results.append(case_functions[case](logs, args.rate, args.min_requests))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if results or judged:
            output = (table(results, args.rate) if results else "") + (
                "\n## The judge\n\n" + judge_table(judged) if judged else "")
            print(output)
            RESULTS.write_text(output)
        if not args.keep:
            log("remove the bench's containers, networks, volumes and state (results and logs stay)")
            remove_bench(keep_output=True)
    missed = [r.case for r in results if r.met == "no"] + [
        f"judge {row.release} at {row.rate:g}/s" for row in judged if not row.met]
    log(f"done in {time.monotonic() - started:.0f} s; results in {RESULTS}, logs in {LOGS}")
    if missed:
        print(f"bench: targets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
