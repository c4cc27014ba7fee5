"""greenlight.deploy.secret writes several secret files in one call, only when they change, never printing them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .helpers import run_tasks


def run(tmp_path: Path) -> subprocess.CompletedProcess:
    folder = tmp_path / "secrets"
    return run_tasks(tmp_path, [{
        "greenlight.deploy.secret": {"files": [{"path": f"{folder}/app.password", "content": "s3cret-value", "mode": "0444"},
                                        {"path": f"{folder}/app.env", "content": "DB_HOST=db\n"}]},
        "register": "written"}, {"ansible.builtin.debug": {"var": "written"}}])


def test_several_files_in_one_call_once_and_never_shown(tmp_path: Path) -> None:
    first = run(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "changed=1" in first.stdout and "s3cret-value" not in first.stdout + first.stderr
    folder = tmp_path / "secrets"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "app.password").read_text() == "s3cret-value"
    assert (folder / "app.password").stat().st_mode & 0o777 == 0o444
    assert (folder / "app.env").stat().st_mode & 0o777 == 0o600
    again = run(tmp_path)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout
