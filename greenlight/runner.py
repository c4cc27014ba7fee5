"""The one place that calls ansible-runner.

Runs a playbook of the project against one environment's inventory and turns what
ansible-runner reports (status, rc, stats, events) into a PlaybookResult. Progress is
passed on as (kind, text) pairs while the playbook runs.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner

Progress = Callable[[str, str], None]


@dataclass
class PlaybookResult:
    playbook: str
    env: str
    status: str
    rc: int
    failures: int = 0
    unreachable: int = 0
    changed: int = 0
    hosts: int = 0
    error: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        # status, rc and stats are checked together: any one of them can report a failure alone.
        return self.status == "successful" and self.rc == 0 and not self.failures and not self.unreachable


class Runner:
    def __init__(self, project_dir: Path, inventory_dir: Path, progress: Progress | None = None) -> None:
        self.project_dir = project_dir
        self.inventory_dir = inventory_dir
        self.progress = progress or (lambda kind, text: None)
        # ansible-runner looks for ansible-playbook on PATH; cron's PATH lacks the virtualenv.
        bin_dir = str(Path(sys.executable).parent)
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")

    def run(self, playbook: str, env: str, extravars: dict | None = None) -> PlaybookResult:
        errors: list[str] = []

        def on_event(event: dict) -> bool:
            data = event.get("event_data", {})
            kind = event.get("event", "")
            if kind == "playbook_on_task_start" and not data.get("task", "").startswith("Validating arguments"):
                self.progress("task", data.get("task", ""))
            elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                result = data.get("res", {})
                errors.append(str(result.get("msg") or result.get("stderr") or result)[:2000])
            if kind in ("runner_on_ok", "runner_on_failed") and isinstance(data.get("res", {}).get("verdict"), dict):
                # A canary step or watch window was judged: show its numbers, not just its task.
                verdict = data["res"]["verdict"]
                self.progress("verdict", f"{data.get('task', '')}: {verdict.get('outcome', '?').upper()}"
                                         f" - {verdict.get('reason', '')}")
            return True

        with tempfile.TemporaryDirectory(prefix="greenlight-run-") as private_data_dir:
            run = ansible_runner.run(
                private_data_dir=private_data_dir,
                project_dir=str(self.project_dir),
                playbook=f"playbooks/{playbook}",
                inventory=str(self.inventory_dir / env),
                extravars=extravars or {},
                envvars={"ANSIBLE_CONFIG": str(self.project_dir / "ansible.cfg"),
                         "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
                         **({"GREENLIGHT_BASE_IMAGE": os.environ["GREENLIGHT_BASE_IMAGE"]}
                            if "GREENLIGHT_BASE_IMAGE" in os.environ else {})},
                event_handler=on_event,
                quiet=True,
                settings={"suppress_ansible_output": True},
            )
            stats = run.stats or {}
            custom = _custom_stats(run.events)
        return PlaybookResult(
            playbook=playbook, env=env, status=run.status, rc=run.rc,
            failures=sum(stats.get("failures", {}).values()),
            unreachable=sum(stats.get("dark", {}).values()),
            changed=sum(stats.get("changed", {}).values()),
            hosts=len(stats.get("processed", {})),
            # The last failure is the play's own verdict; earlier ones were rescued.
            error=errors[-1] if errors else "",
            stats=custom,
        )


    def inventory_vars(self, env: str) -> dict:
        """The variables of the environment's host, as the inventory sets them (not templated)."""
        inventory = self.inventory_dir / env
        listing, error = ansible_runner.get_inventory(
            action="list", inventories=[str(inventory)], response_format="json", quiet=True,
            envvars={"ANSIBLE_CONFIG": str(self.project_dir / "ansible.cfg")},
        )
        if not isinstance(listing, dict):
            raise ValueError(f"cannot read {inventory}: {str(error).strip()[:300]}")
        hostvars = next(iter(listing.get("_meta", {}).get("hostvars", {}).values()), {})
        return {key: _dereference(value, hostvars) for key, value in hostvars.items()}


def _dereference(value: object, variables: dict) -> object:
    """Follow the inventories' `name: "{{ vault_name }}"` convention, one level, nothing else."""
    if isinstance(value, str):
        match = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", value.strip())
        if match and match.group(1) in variables:
            return variables[match.group(1)]
    return value


def _custom_stats(events: object) -> dict:
    """What the playbook reported with set_stats (per_host: false)."""
    for event in events:
        if event.get("event") == "playbook_on_stats":
            return event.get("event_data", {}).get("artifact_data", {}) or {}
    return {}
