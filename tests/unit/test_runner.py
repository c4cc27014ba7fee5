"""The runner's private folders: 0700, removed after each run, and a killed run's swept by the next."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from greenlight.runner import Runner, sweep_runs

PROJECT = Path(__file__).resolve().parents[2]


def test_a_killed_runs_folder_is_swept_and_a_live_ones_kept(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (runs / f"{dead.pid}-abc" / "env").mkdir(parents=True)
        (runs / f"{dead.pid}-abc" / "env" / "extravars").write_text("secret")
        (runs / f"{live.pid}-def").mkdir()
        sweep_runs(runs)
        assert sorted(p.name for p in runs.iterdir()) == [f"{live.pid}-def"]
    finally:
        live.kill()
        live.wait()


def test_a_runs_private_folder_is_private(tmp_path: Path) -> None:
    runner = Runner(PROJECT, PROJECT / "inventories", tmp_path)
    folder = Path(runner.private_dir())
    assert folder.parent == tmp_path / "runs"
    assert oct((tmp_path / "runs").stat().st_mode & 0o777) == "0o700"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
