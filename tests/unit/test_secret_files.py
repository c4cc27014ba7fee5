"""greenlight_secret writes several secret files in one call, only when they change, never printing them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path) -> subprocess.CompletedProcess:
    playbook = tmp_path / "secret.yml"
    folder = tmp_path / "secrets"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "greenlight_secret": {"files": [{"path": f"{folder}/app.password", "content": "s3cret-value", "mode": "0444"},
                                        {"path": f"{folder}/app.env", "content": "DB_HOST=db\n"}]},
        "register": "written"}, {"ansible.builtin.debug": {"var": "written"}}]}]))
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "ANSIBLE_LIBRARY": str(PROJECT / "library"),
                                                       "ANSIBLE_MODULE_UTILS": str(PROJECT / "module_utils"),
                                                       "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"), "ANSIBLE_NOCOLOR": "1"})


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
