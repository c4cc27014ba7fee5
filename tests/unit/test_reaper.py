"""A greenlight command's death ends its run: what it started (in a session of its own, as
ansible-runner starts ansible-playbook) is killed however the command ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils import deploy_lock

PROJECT = Path(__file__).resolve().parents[2]

# A stand-in for greenlight: a Runner starts its reaper, then a "playbook" in a session of its
# own, with the run's environment (as ansible-runner would), which starts a "worker" of its own.
COMMAND = textwrap.dedent("""
    import os, subprocess, sys, time
    from pathlib import Path
    from greenlight.runner import Runner
    runner = Runner(Path(sys.argv[1]), Path(sys.argv[1]) / "inventories", Path(sys.argv[2]))
    runner.start_reaper()
    environment = {**os.environ, **runner.envvars(sys.argv[2])}
    playbook = subprocess.Popen([sys.executable, "-c",
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); time.sleep(120)"],
        env=environment, start_new_session=True)
    print(runner.run_id, playbook.pid, flush=True)
    time.sleep(120)
""")


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("how", ["pid alone", "process group"])
def test_a_killed_commands_playbook_and_its_workers_end_with_it(tmp_path: Path, how: str) -> None:
    command = subprocess.Popen([sys.executable, "-c", COMMAND, str(PROJECT), str(tmp_path)], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    run, playbook = command.stdout.readline().split()
    try:
        assert wait_until(lambda: len(deploy_lock.run_processes(run)) == 2), deploy_lock.run_processes(run)
        if how == "pid alone":
            os.kill(command.pid, signal.SIGKILL)
        else:
            os.killpg(command.pid, signal.SIGKILL)
        command.wait()
        assert wait_until(lambda: not deploy_lock.run_processes(run), timeout=15), \
            f"left running after the command was killed: {deploy_lock.run_processes(run)}"
    finally:
        deploy_lock.end_run(run)


def test_a_command_that_ends_normally_leaves_nothing_and_its_reaper_ends(tmp_path: Path) -> None:
    from greenlight.runner import Runner

    runner = Runner(PROJECT, PROJECT / "inventories", tmp_path)
    runner.start_reaper()
    reaper = runner._reaper
    assert reaper is not None and reaper.poll() is None
    os.close(runner._reaper_pipe)  # what the command's exit does
    assert reaper.wait(timeout=5) == 0


def test_end_run_kills_only_the_processes_of_that_run_whose_command_is_gone() -> None:
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan = subprocess.Popen(sleep, env={**os.environ, "GREENLIGHT_RUN": "run-a", "GREENLIGHT_PID": str(gone.pid)})
    other = subprocess.Popen(sleep, env={**os.environ, "GREENLIGHT_RUN": "run-b", "GREENLIGHT_PID": str(gone.pid)})
    # A lock file may name any run: one whose command still runs (this test) is never ended.
    running = subprocess.Popen(sleep, env={**os.environ, "GREENLIGHT_RUN": "run-a", "GREENLIGHT_PID": str(os.getpid())})
    try:
        assert wait_until(lambda: sorted(deploy_lock.run_processes("run-a")) == sorted([orphan.pid, running.pid]))
        assert deploy_lock.end_run("run-a") == 0
        assert orphan.wait(timeout=5) == -signal.SIGKILL
        assert other.poll() is None and running.poll() is None
        assert deploy_lock.end_run("") == 0
    finally:
        for process in (other, running):
            process.kill()
            process.wait()
