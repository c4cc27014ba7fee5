"""The environment's derived names: defined once (roles/greenlight), and an inventory may set any of them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from greenlight import COLLECTION_PATH

PROJECT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "names"


def playbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(FIXTURE / "inventory"),
         str(FIXTURE / "names.yml"), *args],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})


def test_names_are_derived_once_and_the_inventory_can_set_one() -> None:
    done = playbook()
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(re.search(r'"msg": "(.*)"', done.stdout).group(1).replace('\\"', '"'))
    assert found["prefix"] == "shop-production"
    assert found["network"] == "shop-prod-private"  # the inventory's, not the derived default
    assert found["lock"] == "/srv/greenlight/locks/shop-production.json"
    assert found["history"] == "/srv/greenlight/shop-production/history.jsonl"


def test_a_bad_name_is_refused_before_anything_runs() -> None:
    done = playbook("-e", "greenlight_app=../x")
    assert done.returncode != 0
    assert "greenlight_app '../x': a lower-case name" in done.stdout


def test_a_misspelt_setting_is_refused_with_the_name_it_resembles() -> None:
    done = playbook("-e", '{"deploy_canary_stpes": [5, 100]}')
    assert done.returncode != 0
    assert "unknown setting deploy_canary_stpes: did you mean deploy_canary_steps?" in done.stdout


def test_a_misspelt_setting_in_the_inventory_is_refused(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(FIXTURE / "inventory", inventory)
    with (inventory / "group_vars" / "all" / "main.yml").open("a") as stream:
        stream.write("proxy_htp_port: 8080\nmy_own_variable: kept\n")
    done = playbook("-i", str(inventory))
    assert done.returncode != 0
    assert "unknown setting proxy_htp_port: did you mean proxy_http_port?" in done.stdout
    assert "my_own_variable" not in done.stdout  # a name outside greenlight's families is the user's own


def test_every_setting_the_command_and_the_sample_inventories_give_is_declared() -> None:
    # The example inventories and the notification settings the command reads pass the check.
    done = playbook("-e", '{"greenlight_notify_webhook_url": "", "greenlight_lock_alert_minutes": 30, '
                          '"app_repo": "/srv/app.git"}')
    assert done.returncode == 0, done.stdout


def test_every_variable_the_command_passes_to_a_playbook_is_declared() -> None:
    """The keys of every dict the command hands a playbook (Pipeline.stage, runner.run) pass
    the unknown-setting check: a key no role declares would fail that playbook's first task."""
    import ast

    from ansible_collections.greenlight.deploy.plugins.module_utils.settings import unknown_settings

    keys: set[str] = set()
    for path in (PROJECT / "greenlight").glob("**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("stage", "run"):
                for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                    for inner in ast.walk(argument):
                        if isinstance(inner, ast.Dict):
                            keys |= {key.value for key in inner.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)}
    assert {"greenlight_record", "app_version", "greenlight_actor"} <= keys
    from ansible_collections.greenlight.deploy.plugins.action import settings as action  # noqa: PLC0415
    declared = action.declared_settings()
    assert unknown_settings(keys, declared) == []
    # A playbook's own variable (restore_file, lock_action) is no setting of a family, so the
    # check above lets a misspelt one pass: each must be a name the playbooks read.
    playbooks = "\n".join(path.read_text() for path in (PROJECT / "playbooks").glob("**/*.yml"))
    runner_options = {"GIT_TERMINAL_PROMPT", "suppress_ansible_output", "pexpect_timeout"}  # ansible-runner's, not a playbook's
    unread = sorted(key for key in keys - set(declared) - runner_options
                    if not re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", playbooks))
    assert not unread, f"passed to a playbook that never reads them: {unread}"


@pytest.mark.parametrize(("where", "playbook_name"), [("inventory", "check.yml"), ("-e", "status.yml"),
                                                     ("-e check_only", "deploy.yml")])
def test_what_a_playbook_tells_its_frame_is_never_taken_from_an_inventory_or_e(tmp_path: Path, where: str,
                                                                                  playbook_name: str) -> None:
    """greenlight_lock_purpose would take the deploy lock and run recovery in a read-only command,
    greenlight_steps would choose the task file a play runs: both refused first, even by
    greenlight check, which otherwise reports problems and goes on (roles/greenlight/tasks/frame.yml)."""
    inventory = tmp_path / "inventory"
    shutil.copytree(FIXTURE / "inventory", inventory)
    extra: list[str] = []
    if where == "inventory":
        with (inventory / "group_vars" / "all" / "main.yml").open("a") as stream:
            stream.write("greenlight_lock_purpose: {kind: backup}\n")
    elif where == "-e":
        extra = ["-e", "greenlight_steps=restore"]
    else:
        # Would skip the demo vault's refusal and turn the deploy's checks into an unread report.
        extra = ["-e", "greenlight_check_only=true"]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
         str(PROJECT / COLLECTION_PATH / "playbooks" / playbook_name), *extra],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})
    assert done.returncode != 0
    name = {"inventory": "greenlight_lock_purpose", "-e": "greenlight_steps"}.get(where, "greenlight_check_only")
    assert f"{name} is set by greenlight's playbooks, never by an inventory or -e" in done.stdout, done.stdout
    assert "Take the lock" not in done.stdout and "Run the play's steps" not in done.stdout


def test_a_setting_of_the_wrong_type_is_a_usage_error_reported_as_data() -> None:
    """The role's argument specs are checked inside the frame's block (roles/greenlight/tasks/frame.yml),
    so the failure reaches the caller as greenlight_result with code usage (exit 2), not as a bare failure."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(FIXTURE / "inventory"),
         str(PROJECT / COLLECTION_PATH / "playbooks" / "status.yml"), "-e", "greenlight_labels=soon"],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree", "ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    assert done.returncode != 0
    assert "greenlight_labels" in done.stdout and "Report the failure to the caller" in done.stdout, done.stdout
    stats = done.stdout[done.stdout.index("CUSTOM STATS"):]
    assert "'code': 'usage'" in stats or '"code": "usage"' in stats, stats
