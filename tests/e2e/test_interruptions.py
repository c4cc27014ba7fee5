"""Interruptions: greenlight killed, stopped or locked out in the middle of a production
deploy, and the next run putting things right with nobody's help.

Each kill case promotes the release production does not run, under 100 requests/s of
reads and writes on production, kills the whole greenlight process tree with SIGKILL at
one point of production's deploy (frozen first, as a power cut or the OOM killer would
leave it), then runs a plain `greenlight promote` of the same release (or `greenlight
rollback production`) and checks: no request failed over all of it, production was not
split once the rerun's recovery step had run, the rerun converged, and the history and
the rerun's output say what was interrupted.

`make test` runs three representative points (REPRESENTATIVE); `make interruptions` runs
all of them (GREENLIGHT_KILL_MATRIX=all).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ansible.module_utils.deploy_lock import identity
from ansible.module_utils.haproxy_runtime import parse_map, read_servers, send
from . import stack

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")

# Short holds keep a case near two minutes; every canary step is still there to be killed in.
CANARY = ["-e", "deploy_strategy=canary", "-e", "deploy_canary_hold=4", "-e", "deploy_watch_seconds=4"]

# Where in production's deploy greenlight is killed: the task it is in (from its log).
KILL_POINTS = {
    "after the lock": r"task: Put the environment back on its recorded release$",
    "backup": r"task: Dump the database$",
    "migration": r"task: Apply the release's database migrations$",
    "health wait": r"task: Wait until HAProxy finds healthy the color",
    "smoke checks": r"task: Smoke-test through the preview port",
    "canary 5%": r"task: Send a canary share of the traffic to the new color, hold and judge it: 5%",
    "canary 25%": r"task: Send a canary share of the traffic to the new color, hold and judge it: 25%",
    "canary 50%": r"task: Send a canary share of the traffic to the new color, hold and judge it: 50%",
    "after the switch": r"task: Note the new live color and how long the switch took$",
    "watch window": r"task: Watch the new release after the switch",
    "between switch and record": r"task: Persist the new live release for the proxy's next start$",
}
SPLIT_AT = {"canary 5%": [5, 95], "canary 25%": [25, 75], "canary 50%": [50, 50]}

MATRIX = [(point, "promote") for point in KILL_POINTS] + [("canary 25%", "rollback")]
REPRESENTATIVE = [("canary 5%", "rollback"), ("migration", "promote"), ("between switch and record", "promote")]
CASES = MATRIX if os.environ.get("GREENLIGHT_KILL_MATRIX") == "all" else REPRESENTATIVE


def weights() -> dict[str, int]:
    return {color: info["weight"] for color, info in read_servers(stack.admin_socket("production"))["api"].items()}


def sticky() -> str:
    return parse_map(send(stack.admin_socket("production"), ["show map /usr/local/etc/haproxy/sticky.map"]))["canary"]


def other_version() -> str:
    return "v2" if stack.live_version("production") == "v1" else "v1"


class AfterRecovery(threading.Thread):
    """Reads production's proxy the moment the rerun's production deploy is past its recovery step."""

    def __init__(self, after_line: int) -> None:
        super().__init__(daemon=True)
        self.after_line = after_line
        self.seen: tuple[dict, str] | None = None

    def run(self) -> None:
        stage = stack.wait_for_log(r"stage: deploy production", self.after_line)
        stack.wait_for_log(r"task: Create the environment's private network", stage)
        self.seen = (weights(), sticky())


@pytest.mark.parametrize(("point", "rerun"), CASES, ids=[f"{p}-then-{r}".replace(" ", "-") for p, r in CASES])
def test_sigkill_then_a_plain_rerun_recovers_by_itself(point: str, rerun: str) -> None:
    before, target = stack.live_version("production"), other_version()
    interruptions = len([r for r in stack.history("production") if r["outcome"] == "interrupted"])
    with stack.load("production") as load:
        start = len(stack.log_lines())
        first = stack.greenlight("promote", target, *CANARY)
        production = stack.wait_for_log(r"stage: deploy production", start, process=first)
        stack.wait_for_log(KILL_POINTS[point], production, process=first)
        if point in SPLIT_AT:
            deadline = time.monotonic() + 30
            while sorted(weights().values()) != SPLIT_AT[point] and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)
        stack.kill_tree(first)
        left = (weights(), sticky())
        time.sleep(2)  # users keep coming while nothing runs

        after = len(stack.log_lines())
        watcher = AfterRecovery(after)
        if rerun == "promote":
            watcher.start()
            done = stack.run_greenlight("promote", target, *CANARY)
        else:
            done = stack.run_greenlight("rollback", "production")
    summary = load.report.summary()
    recorded = [r for r in stack.history("production") if r["outcome"] == "interrupted"]
    assert len(recorded) == interruptions + 1, "the interrupted deploy was not recorded"
    interrupted = recorded[-1]
    print(f"\nSIGKILL at {point}: left api weights {left[0]}, stickiness {left[1]}; "
          f"{rerun} then: {' / '.join(interrupted['recovered']) or 'nothing to undo'}; "
          f"load {json.dumps(summary)}")

    assert done.returncode == 0, done.stdout + done.stderr
    assert summary["failed"] == 0, summary
    assert summary["requests"] > 1000, summary
    stored = {item["sku"] for item in json.loads(stack.get("production", "/api/items")[1])}
    assert set(load.report.created_skus) <= stored, "an acknowledged write is missing"
    assert interrupted["kind"] == "deploy" and interrupted["version"] == target
    assert not stack.lock_file("production").exists()
    final = weights()
    assert sorted(final.values()) == [0, 100] and sticky() == "off"
    if rerun == "promote":
        watcher.join(timeout=60)
        assert watcher.seen is not None, "the rerun never got past production's recovery"
        seen_weights, seen_sticky = watcher.seen
        assert sorted(seen_weights.values()) == [0, 100] and seen_sticky == "off", watcher.seen
        assert stack.live_version("production") == target
        assert "interrupted deploy" in done.stdout, done.stdout
        assert stack.history("production")[-1]["kind"] == "promote"
    else:
        # Back on the release that served before the interrupted canary, not the one before that.
        assert stack.live_version("production") == before
        assert "was undone" in done.stdout, done.stdout


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_at_a_canary_step_stops_the_run_the_way_a_failure_does(signum: int, code: int) -> None:
    before, target = stack.live_version("production"), other_version()
    with stack.load("production") as load:
        start = len(stack.log_lines())
        run = stack.greenlight("deploy", "production", target, *CANARY)
        stack.wait_for_log(KILL_POINTS["canary 25%"], start, process=run)
        time.sleep(1)
        run.send_signal(signum)
        stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == code, stdout + stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    assert stack.live_version("production") == before
    assert sorted(weights().values()) == [0, 100] and sticky() == "off"
    assert not stack.lock_file("production").exists()
    assert stack.run_greenlight("lock", "status").stdout.count("free") == 3
    record = stack.history("production")[-1]
    assert (record["outcome"], record["version"]) == ("interrupted", target)
    assert f"stopped by {signal.Signals(signum).name}" in record["error"]
    assert load.report.summary()["failed"] == 0, load.report.summary()


def write_lock(pid: int) -> None:
    path = stack.lock_file("production")
    path.write_text(json.dumps({"token": f"t-{pid}", "holder": identity(pid, "somebody"), "since": time.time(),
                                "purpose": {"kind": "deploy", "env": "production", "version": "v9"}}))


def test_the_lock_of_a_dead_run_is_taken_over_and_a_live_ones_is_not() -> None:
    live = stack.live_version("production")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        write_lock(sleeper.pid)
        refused = stack.run_greenlight("deploy", "production", live)
        assert refused.returncode == 75, refused.stdout + refused.stderr
        assert f"pid {sleeper.pid}" in refused.stderr
        status = stack.run_greenlight("lock", "status")
        assert f"pid {sleeper.pid}" in status.stdout and "its holder runs" in status.stdout
        release = stack.run_greenlight("lock", "release", "production")
        assert release.returncode == 75 and "still runs" in release.stderr
    finally:
        sleeper.kill()
        sleeper.wait()

    taken = stack.run_greenlight("deploy", "production", live)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert "interrupted deploy of v9" in taken.stdout
    record = stack.history("production")[-1]
    assert (record["outcome"], record["version"]) == ("interrupted", "v9")
    assert not stack.lock_file("production").exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_lock(dead.pid)
    released = stack.run_greenlight("lock", "release", "production")
    assert released.returncode == 0 and "released" in released.stdout
    assert not stack.lock_file("production").exists()
