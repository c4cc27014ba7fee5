"""The environment's derived names: defined once (roles/greenlight), and an inventory may set any of them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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
