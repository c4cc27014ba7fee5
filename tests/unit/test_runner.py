"""The runner: its private folders (0700, removed after each run, a killed run's swept by the next) and -v."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_scrub_removes_the_credentials_of_every_url_and_keeps_an_ssh_user() -> None:
    from greenlight.scrub import scrub

    text = ("cannot read https://ghp_T0KEN@github.com/me/app.git and https://me:pa55@example.com/x; "
            "webhook HTTPS://hook:s3cr3t@hooks.example.com/y; ssh://git@host/repo.git; ssh://git:pw@host/r")
    clean = scrub(text)

    for secret in ("ghp_T0KEN", "pa55", "s3cr3t", "git:pw"):
        assert secret not in clean
    assert "https://***@github.com/me/app.git" in clean
    assert "ssh://git@host/repo.git" in clean


def test_the_sweep_removes_what_dead_processes_left_and_nothing_of_live_ones(tmp_path) -> None:
    import os
    import subprocess

    from greenlight.runner import sweep_runs

    dead = subprocess.Popen(["true"])
    dead.wait()
    runs, ansible_tmp = tmp_path / "runs", tmp_path / "ansible-tmp"
    for folder in (runs / f"{dead.pid}-abc", runs / f"{os.getppid()}-live",
                   ansible_tmp / f"ansible-tmp-1795876017.87-{dead.pid}-1272", ansible_tmp / f"ansible-tmp-1795876017.87-{os.getppid()}-1",
                   ansible_tmp / "ansible-local-123abc"):
        folder.mkdir(parents=True)
        (folder / "AnsiballZ_x.py").write_text("secret")

    sweep_runs(runs, ansible_tmp)

    assert sorted(p.name for p in runs.iterdir()) == [f"{os.getppid()}-live"]
    assert sorted(p.name for p in ansible_tmp.iterdir()) == sorted(
        ["ansible-local-123abc", f"ansible-tmp-1795876017.87-{os.getppid()}-1"])


@pytest.mark.parametrize("verbosity", [0, 1])
def test_v_prints_ansibles_own_output_and_only_then(tmp_path: Path, capfd, verbosity: int) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "hello.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug:\n        msg: hello-from-ansible\n")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "inventories" / "staging").mkdir(parents=True)
    (tmp_path / "inventories" / "staging" / "hosts.yml").write_text(
        "all:\n  hosts:\n    here:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
    runner = Runner(tmp_path, tmp_path / "inventories", tmp_path / "state", verbosity=verbosity)
    assert runner.run("hello.yml", "staging").ok
    printed = capfd.readouterr().out
    assert ("hello-from-ansible" in printed) == bool(verbosity)


def test_extra_vars_are_data_never_templated(tmp_path: Path) -> None:
    """A value greenlight hands to a playbook (a failed stage's message, a digest staging
    reported) may hold an app's own output: Ansible must not template it."""
    marker = tmp_path / "ran"
    hostile = f"{{{{ lookup('ansible.builtin.pipe', 'touch {marker}') }}}}"
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "echo.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.set_stats:\n        per_host: false\n"
        "        data: {echoed: \"{{ given }}\", nested: \"{{ record.error }}\", listed: \"{{ record.stages[0] }}\",\n"
        "               key: \"{{ record.digests.keys() | first }}\",\n"
        "               types: \"{{ number_like | map('type_debug') | list }}\"}\n")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "inventories" / "staging").mkdir(parents=True)
    (tmp_path / "inventories" / "staging" / "hosts.yml").write_text(
        "all:\n  hosts:\n    here:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
    runner = Runner(tmp_path, tmp_path / "inventories", tmp_path / "state")

    result = runner.run("echo.yml", "staging", {"given": hostile, "record": {"error": hostile, "stages": [hostile],
                                                                              "digests": {hostile: "sha256:0"},
                                                                              "count": 3, "ok": True},
                                                 "number_like": ["010", "True", "1e3", "[1, 2]"]})

    assert result.ok, result.error
    assert not marker.exists()
    assert result.stats == {"echoed": hostile, "nested": hostile, "listed": hostile, "key": hostile,
                            "types": ["str", "str", "str", "str"]}
