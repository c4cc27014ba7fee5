"""Interruptions: greenlight killed, stopped or locked out in the middle of a production
deploy, and the next run putting things right with nobody's help.

The kill test promotes the release production does not run, under the suite's 50 requests/s of reads
and writes on production, and kills greenlight with SIGKILL at one point of production's
deploy, in one of three ways:
- "pid": the greenlight process alone (the OOM killer, `timeout`, `kill PID`): ansible-playbook
  runs in a session of its own, so what greenlight started must end with it (its reaper);
- "group": greenlight's process group (Ctrl-C's group, a lost SSH session's);
- "tree": every process greenlight started, frozen first (a power cut);
then at once (for "tree", after 2 s) a plain `greenlight promote` of the same release runs, as
cron would, and is itself killed at the next point, and so on; once `greenlight rollback
production` follows a kill instead. After each kill nothing greenlight started may still run,
a kill at a canary step must have seen the split, and the next run must have taken the lock
at once, recorded the interruption and left production on one color with stickiness off once
its recovery step ran; the rollback must put back the release live before the interrupted
deploy, not the one before that; a last plain promote must converge; and no request may fail
over all of it.

`make test` kills at three points (REPRESENTATIVE: a canary split by each of pid and group,
and a switch not yet recorded by tree, followed by the rollback); `make interruptions` at
every point (GREENLIGHT_KILL_MATRIX=all).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.deploy_lock import identity
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import parse_map, read_servers, send

from . import stack

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")

# Short holds keep each run near two minutes; every canary step is still there to be killed in.
CANARY = ["-e", "deploy_strategy=canary", "-e", "deploy_canary_hold=3", "-e", "deploy_watch_seconds=3",
          "-e", "deploy_judge_min_requests=10"]

# Where in production's deploy greenlight is killed: the task it is in (from its log), in deploy order.
KILL_POINTS = {
    "after the lock": r"task: Put the environment back on its recorded release$",
    "backup": r"task: Dump the database$",
    "migration": r"task: Apply the release's database migrations$",
    "health wait": r"task: Wait until HAProxy finds the new color healthy",
    "smoke checks": r"task: Wait until HAProxy finds the new color healthy, then smoke-test it through the preview port",
    "canary 5%": r"task: Send a canary share of the traffic to the new color, hold and judge it: 5%",
    "canary 25%": r"task: Send a canary share of the traffic to the new color, hold and judge it: 25%",
    "canary 50%": r"task: Send a canary share of the traffic to the new color, hold and judge it: 50%",
    "after the switch": r"task: Note the new live color and how long the switch took$",
    "watch window": r"task: Watch the new release after the switch",
    "between switch and record": r"task: Persist the new live release for the proxy's next start$",
}
SPLIT_AT = {"canary 5%": [5, 95], "canary 25%": [25, 75], "canary 50%": [50, 50]}

# (kill point, how, what runs next). After a rollback the next promote starts from the top.
MATRIX = [(point, ("pid", "group", "tree")[index % 3], "rollback" if point == "canary 25%" else "promote")
          for index, point in enumerate(KILL_POINTS)]
REPRESENTATIVE = [("canary 5%", "pid", "promote"), ("canary 25%", "group", "promote"),
                  ("between switch and record", "tree", "rollback")]
CHAIN = MATRIX if os.environ.get("GREENLIGHT_KILL_MATRIX") == "all" else REPRESENTATIVE


def weights() -> dict[str, int]:
    return {color: info["weight"] for color, info in read_servers(stack.admin_socket("production"))["api"].items()}


def sticky() -> str:
    return parse_map(send(stack.admin_socket("production"), ["show map /usr/local/etc/haproxy/sticky.map"]))["canary"]


def other_version() -> str:
    return "v2" if stack.live_version("production") == "v1" else "v1"


def interruptions() -> list[dict]:
    return [r for r in stack.history("production") if r["outcome"] == "interrupted"]


class AfterRecovery(threading.Thread):
    """Reads production's proxy the moment a run's production deploy is past its recovery step."""

    def __init__(self, after_line: int) -> None:
        super().__init__(daemon=True)
        self.after_line = after_line
        self.seen: tuple[dict, str] | None = None

    def run(self) -> None:
        stage = stack.wait_for_log(r"stage: deploy production", self.after_line)
        stack.wait_for_log(r"task: Ensure the environment's network, the database", stage)
        self.seen = (weights(), sticky())

    def check(self) -> None:
        self.join(timeout=600)
        assert self.seen is not None, "the rerun never got past production's recovery step"
        seen_weights, seen_sticky = self.seen
        assert sorted(seen_weights.values()) == [0, 100] and seen_sticky == "off", \
            f"production still split after the recovery step: {self.seen}"


def promote(target: str) -> tuple[subprocess.Popen, AfterRecovery]:
    watcher = AfterRecovery(len(stack.log_lines()))
    watcher.start()
    return stack.greenlight("promote", target, *CANARY, session=True), watcher


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] not in "ZX"]


def kill(run: subprocess.Popen, how: str) -> None:
    """SIGKILL greenlight as `how` says; then nothing it started may run on (it would go on moving traffic)."""
    started = stack.descendants(run.pid)
    if how == "tree":
        stack.kill_tree(run)
    else:
        os.killpg(run.pid, signal.SIGKILL) if how == "group" else os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=60)
    deadline = time.monotonic() + 5
    while alive(started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(started), f"still running after greenlight was killed ({how}): {alive(started)}"


def kill_at(run: subprocess.Popen, point: str, how: str, after_line: int) -> tuple[dict, str]:
    production = stack.wait_for_log(r"stage: deploy production", after_line, process=run)
    stack.wait_for_log(KILL_POINTS[point], production, process=run)
    if point in SPLIT_AT:
        deadline = time.monotonic() + 30
        while sorted(weights().values()) != SPLIT_AT[point] and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
    kill(run, how)
    left = weights(), sticky()
    if point in SPLIT_AT:
        assert sorted(left[0].values()) == SPLIT_AT[point] and left[1] == "on", f"the kill at {point} saw {left}"
    return left


def test_killed_at_every_point_each_plain_rerun_recovers_and_the_last_converges() -> None:
    target = other_version()
    run: subprocess.Popen | None = None
    with stack.load("production") as load:
        run, watcher = promote(target)
        for index, (point, how, following) in enumerate(CHAIN):
            before = stack.live_version("production")
            recorded = len(interruptions())
            left = kill_at(run, point, how, watcher.after_line)
            if how == "tree":
                time.sleep(2)  # users keep coming while nothing runs
            if following == "rollback":
                done = stack.run_greenlight("rollback", "production")
                assert done.returncode == 0, done.stdout + done.stderr
                assert "was undone" in done.stdout, done.stdout
                # Back on the release that served before the interrupted deploy, not the one before that.
                assert stack.live_version("production") == before
                assert sorted(weights().values()) == [0, 100] and sticky() == "off"
                run, watcher = promote(target)  # the next kill's, or the last plain promote
            else:
                run, watcher = promote(target)
                watcher.check()
            found = interruptions()
            assert len(found) == recorded + 1, f"the deploy killed at {point} was not recorded as interrupted"
            assert (found[-1]["kind"], found[-1]["version"]) == ("deploy", target)
            print(f"\nSIGKILL ({how}) at {point}: production left at api weights {left[0]}, stickiness {left[1]}; "
                  f"the {following} after it recovered: {' / '.join(found[-1]['recovered']) or 'nothing to undo'}")
        stdout, stderr = run.communicate(timeout=900)
    summary = load.report.summary()
    print(f"load over the {len(CHAIN)} kills and the runs after them: {json.dumps(summary)}")

    # The last plain promote converges.
    assert run.returncode == 0, stdout + stderr
    watcher.check()
    assert stack.live_version("production") == target
    assert stack.history("production")[-1]["kind"] == "promote"
    assert not stack.lock_file("production").exists()
    assert sorted(weights().values()) == [0, 100] and sticky() == "off"
    stack.assert_no_failed(summary)
    # The load ran through the whole chain, at its rate (not cut short by its own time limit).
    assert summary["seconds"] < stack.LOAD_MAX_SECONDS and summary["rate_met"], summary
    stored = {item["sku"] for item in stack.items("production")}
    assert set(load.report.created_skus) <= stored, "an acknowledged write is missing"


def test_sigterm_at_a_canary_step_stops_the_run_the_way_a_failure_does() -> None:
    # SIGINT (exit 130) takes the same path; tests/unit/test_cli.py sends both signals to a real process.
    signum, code, env = signal.SIGTERM, 143, "production"
    before = stack.live_version(env)
    target = "v2" if before == "v1" else "v1"
    with stack.load(env) as load:
        start = len(stack.log_lines())
        run = stack.greenlight("deploy", env, target, *CANARY)
        stack.wait_for_log(KILL_POINTS["canary 5%"], start, process=run)
        time.sleep(1)
        run.send_signal(signum)
        stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == code, stdout + stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    assert stack.live_version(env) == before
    servers = read_servers(stack.admin_socket(env))["api"]
    assert sorted(info["weight"] for info in servers.values()) == [0, 100]
    assert parse_map(send(stack.admin_socket(env), ["show map /usr/local/etc/haproxy/sticky.map"]))["canary"] == "off"
    assert not stack.lock_file(env).exists()
    assert stack.run_greenlight("lock", "status").stdout.count("free") == 3
    record = stack.history(env)[-1]
    assert (record["outcome"], record["version"]) == ("interrupted", target)
    assert f"stopped by {signal.Signals(signum).name}" in record["error"]
    stack.assert_no_failed(load.report.summary(), env)


def write_lock(pid: int, **holder: str) -> None:
    path = stack.lock_file("production")
    path.write_text(json.dumps({"token": f"t-{pid}", "holder": {**identity(pid, "somebody"), **holder},
                                "since": time.time(), "purpose": {"kind": "deploy", "env": "production", "version": "v9"}}))


def test_the_lock_of_a_dead_run_is_taken_over_and_a_live_ones_is_not() -> None:
    live = stack.live_version("production")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        write_lock(sleeper.pid)
        refused = stack.run_greenlight("rollback", "production")
        assert refused.returncode == 75, refused.stdout + refused.stderr
        assert f"pid {sleeper.pid}" in refused.stderr
        status = stack.run_greenlight("lock", "status")
        assert f"pid {sleeper.pid}" in status.stdout and "its holder runs" in status.stdout
        release = stack.run_greenlight("lock", "release", "production")
        assert release.returncode == 75 and "still runs" in release.stderr
        assert stack.lock_file("production").exists()
    finally:
        sleeper.kill()
        sleeper.wait()

    # The holder is gone: the next run takes the lock over, recovers, records the interrupted
    # run, and goes on; v9 never reached users, so the rollback is the ordinary one.
    records = len(stack.history("production"))
    taken = stack.run_greenlight("rollback", "production")
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert "rolled back" in taken.stdout and stack.live_version("production") != live
    interrupted = stack.history("production")[records]
    assert (interrupted["outcome"], interrupted["version"]) == ("interrupted", "v9")
    assert not stack.lock_file("production").exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_lock(dead.pid)
    released = stack.run_greenlight("lock", "release", "production")
    assert released.returncode == 0 and "released" in released.stdout
    assert not stack.lock_file("production").exists()


def test_a_canary_whose_lock_another_run_took_over_stops_and_touches_nothing() -> None:
    """A run judged gone (its controller unreachable, say) whose lock the next run took over
    must not move the traffic again when it wakes up: its window stops, its rescue too."""
    target = other_version()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        with stack.load("production") as load:
            start = len(stack.log_lines())
            run = stack.greenlight("deploy", "production", target, *CANARY, "-e", "deploy_canary_hold=60",
                                   "-e", "deploy_canary_max_hold=90")
            stack.wait_for_log(KILL_POINTS["canary 5%"], start, process=run)
            deadline = time.monotonic() + 30
            while sorted(weights().values()) != [5, 95] and time.monotonic() < deadline:
                time.sleep(0.1)
            taken = time.monotonic()
            write_lock(sleeper.pid)  # "the other run" now holds it
            stdout, stderr = run.communicate(timeout=120)
            stopped = time.monotonic() - taken
            left = weights(), sticky()
        assert run.returncode == 75, stdout + stderr
        assert "another run took the deploy lock" in stderr and "nothing was put back" in stderr, stderr
        assert stopped < 30, f"the window went on for {stopped:.0f} s after losing the lock"
        assert sorted(left[0].values()) == [5, 95] and left[1] == "on", f"the stopped run moved the traffic: {left}"
        assert json.loads(stack.lock_file("production").read_text())["token"] == f"t-{sleeper.pid}"
        stack.assert_no_failed(load.report.summary())
    finally:
        sleeper.kill()
        sleeper.wait()
    # "The other run" is gone: the next run takes over and puts the recorded release back.
    back = stack.run_greenlight("rollback", "production")
    assert back.returncode == 0, back.stdout + back.stderr
    assert sorted(weights().values()) == [0, 100] and sticky() == "off"


def test_a_lock_taken_on_another_machine_is_released_only_with_force() -> None:
    write_lock(os.getpid(), machine_id="another-machine", host="controller-2")
    try:
        refused = stack.run_greenlight("lock", "release", "production")
        assert refused.returncode == 75 and "--force releases it anyway" in refused.stderr, refused.stderr
        assert stack.lock_file("production").exists()
        status = stack.run_greenlight("lock", "status")
        assert "held from another machine" in status.stdout, status.stdout
        forced = stack.run_greenlight("lock", "release", "production", "--force")
        assert forced.returncode == 0 and "released" in forced.stdout, forced.stdout + forced.stderr
        assert not stack.lock_file("production").exists()
    finally:
        stack.lock_file("production").unlink(missing_ok=True)
