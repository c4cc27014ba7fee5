"""greenlight's alert rules under promtool: the monitoring role's rules.yml.j2 as Ansible renders it
with the role's defaults, every rule firing and staying quiet on the series of
fixtures/alert-rules-test.yml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles/monitoring"
CASES = Path(__file__).parent / "fixtures/alert-rules-test.yml"
# The dead man's switch fires always, by design: it has no quiet case.
ALWAYS_FIRING = {"Watchdog"}


def promtool() -> str:
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    assert found and os.access(found, os.X_OK), "promtool not found: `make unit` unpacks it (Debian's prometheus package)"
    return found


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rules.yml as the role's template task writes it, from the role's defaults."""
    folder = tmp_path_factory.mktemp("alert-rules")
    playbook = folder / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render the monitoring role's alert rules",
        "hosts": "localhost",
        "gather_facts": False,
        "vars_files": [str(ROLE / "defaults/main.yml")],
        "tasks": [{"name": "Write the alert rules", "ansible.builtin.template": {
            "src": str(ROLE / "templates/rules.yml.j2"), "dest": str(folder / "rules.yml"), "mode": "0644"}}],
    }], sort_keys=False))
    # An empty configuration: the project's names a vault password file and an inventory, which rendering does not need.
    (folder / "ansible.cfg").write_text("")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
        cwd=folder, env={**os.environ, "ANSIBLE_CONFIG": str(folder / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "rules.yml"


def alert_rules(rules_file: Path) -> list[dict]:
    return [rule for group in yaml.safe_load(rules_file.read_text())["groups"] for rule in group["rules"] if "alert" in rule]


def test_every_rule_fires_and_stays_quiet_as_the_cases_say(rules: Path) -> None:
    checked = subprocess.run([promtool(), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The cases name rules.yml: promtool reads it beside them.
    cases = shutil.copy(CASES, rules.parent / CASES.name)
    tested = subprocess.run([promtool(), "test", "rules", str(cases)], capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_rule_has_a_firing_and_a_quiet_case(rules: Path) -> None:
    expressions = {rule["alert"]: rule["expr"] for rule in alert_rules(rules)}
    names = set(expressions)
    assert len(names) == len(alert_rules(rules)), "two rules of one name"
    checks = [check for group in yaml.safe_load(CASES.read_text())["tests"] for check in group.get("alert_rule_test", [])]
    firing = {check["alertname"] for check in checks if check.get("exp_alerts")}
    quiet = {check["alertname"] for check in checks if not check.get("exp_alerts")}
    assert firing == names
    assert quiet == names - ALWAYS_FIRING
    assert {name: expressions[name] for name in ALWAYS_FIRING} == {name: "vector(1)" for name in ALWAYS_FIRING}
