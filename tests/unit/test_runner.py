"""The runner: its private folders (0700, removed after each run, a killed run's swept by the next) and -v."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from greenlight import COLLECTION_PATH
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
    playbooks = tmp_path / COLLECTION_PATH / "playbooks"
    playbooks.mkdir(parents=True)
    (playbooks / "hello.yml").write_text(
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
    playbooks = tmp_path / COLLECTION_PATH / "playbooks"
    playbooks.mkdir(parents=True)
    (playbooks / "echo.yml").write_text(
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


def test_mitogens_folders_are_swept_only_while_no_greenlight_run_is_alive(tmp_path, monkeypatch) -> None:
    import os

    from greenlight.reaper import deploy_lock

    runs, ansible_tmp = tmp_path / "runs", tmp_path / "ansible-tmp"
    left = [ansible_tmp / "ansible_mitogen_action_0123456789abcdef", ansible_tmp / "ansible_mitogen_runner_x1y2"]
    for folder in left:
        folder.mkdir(parents=True)
        (folder / "dump.sql").write_text("secret")
    (ansible_tmp / "theirs").mkdir()
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                           env={**os.environ, "GREENLIGHT_RUN": "0123abcd"})
    try:
        sweep_runs(runs, ansible_tmp)
        assert sorted(p.name for p in ansible_tmp.iterdir()) == sorted([p.name for p in left] + ["theirs"])
    finally:
        run.kill()
        run.wait()
    # No run alive (greenlight's own runs on this machine, a CI's e2e say, would keep them).
    monkeypatch.setattr(deploy_lock, "run_processes", lambda run, orphans_only=False: [])
    sweep_runs(runs, ansible_tmp)
    assert [p.name for p in ansible_tmp.iterdir()] == ["theirs"]


def test_mitogens_debug_switches_never_reach_a_playbook(tmp_path, monkeypatch) -> None:
    import os

    monkeypatch.setenv("MITOGEN_LOG_LEVEL", "debug")
    monkeypatch.setenv("MITOGEN_ROUTER_DEBUG", "1")
    runner = Runner(PROJECT, PROJECT / "inventories", tmp_path)
    assert not [name for name in {**os.environ, **runner.envvars(str(tmp_path))} if name.startswith("MITOGEN_")]


def test_a_state_folder_too_long_for_the_runs_socket_is_refused_in_one_line() -> None:
    from greenlight.runner import STATE_DIR_MAX, state_dir_problem

    assert state_dir_problem(Path("/var/lib/greenlight")) == ""
    assert state_dir_problem(Path("/" + "s" * (STATE_DIR_MAX - 1))) == ""
    problem = state_dir_problem(Path("/" + "s" * STATE_DIR_MAX))
    assert "GREENLIGHT_STATE_DIR" in problem and "\n" not in problem


@pytest.mark.parametrize("playbooks_vars", [False, True])
def test_the_projects_ansible_cfg_runs_tasks_in_one_python_per_host_forked_for_each_task(tmp_path, playbooks_vars) -> None:
    """Mitogen's persistent interpreter: without greenlight's playbooks/group_vars, two tasks'
    commands have the same parent process (under Ansible's own strategy each task is a Python
    of its own); with them, each task runs in a fork of its own."""
    import json
    import os
    import shutil

    playbook = tmp_path / "parents.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  connection: local\n  tasks:\n"
        + "".join(f"    - ansible.builtin.command: sh -c 'echo $PPID'\n      register: p{i}\n" for i in (1, 2))
        + "    - ansible.builtin.copy:\n        content: \"{{ [p1.stdout, p2.stdout] | to_json }}\"\n"
        + f"        dest: {tmp_path / 'parents.json'}\n")
    if playbooks_vars:
        shutil.copytree(PROJECT / "playbooks" / "group_vars", tmp_path / "group_vars")
    (tmp_path / "vault").write_text("not used\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
         "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_VAULT_PASSWORD_FILE": str(tmp_path / "vault")})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    parents = json.loads((tmp_path / "parents.json").read_text())
    assert (parents[0] != parents[1]) == playbooks_vars, parents
