"""greenlight's own facts for Prometheus: what the history, the backups and the lock of an
environment say, as node exporter textfile lines (roles/monitoring, docs/operations.md).

The monitoring stack's status container writes them every interval from each registered
environment (a JSON file the monitoring role writes per environment, `registration`), so the
alert rules can ask: how old is the newest backup, was one proven restorable, is a deploy lock
held too long, what is live, how did the last deploy end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ansible_collections.greenlight.deploy.plugins.module_utils import backups, deploy_lock, history
from ansible_collections.greenlight.deploy.plugins.module_utils.history import epoch

# Values of greenlight_last_deploy_outcome: the history's outcomes, as numbers a rule can compare.
OUTCOME_VALUES = {"success": 1, "failed": 0, "interrupted": -1}


@dataclass(frozen=True)
class Registration:
    """What the monitoring role wrote about one environment (its registration file)."""

    app: str
    env: str
    history_file: str
    lock_file: str
    backup_dir: str
    database: str
    colors: tuple[str, ...]
    backup_max_age_seconds: float
    page: bool = False

    @property
    def labels(self) -> dict[str, str]:
        """The labels every series of the environment carries (its targets' too: page picks the severity)."""
        return {"app": self.app, "env": self.env, "page": "true" if self.page else "false"}

    @classmethod
    def from_dict(cls, data: dict) -> Registration:
        return cls(app=str(data["app"]), env=str(data["env"]), history_file=str(data["history_file"]),
                   lock_file=str(data["lock_file"]), backup_dir=str(data["backup_dir"]),
                   database=str(data["database"]), colors=tuple(data["colors"]),
                   backup_max_age_seconds=float(data["backup_max_age_seconds"]), page=bool(data.get("page")))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _line(name: str, labels: dict[str, str], value: float) -> str:
    inside = ",".join(f'{key}="{_label(str(val))}"' for key, val in labels.items())
    return f"{name}{{{inside}}} {float(value)!r}" if inside else f"{name} {float(value)!r}"


def _last_deploy(records: list[dict]) -> dict | None:
    for record in reversed(records):
        if record.get("kind") in ("deploy", "rollback"):
            return record
    return None


def environment(reg: Registration) -> list[str]:
    """The metric lines of one environment (no HELP/TYPE: `render` adds them once per name)."""
    base = reg.labels
    lines = [_line("greenlight_backup_max_age_seconds", base, reg.backup_max_age_seconds)]

    records = history.read(reg.history_file).records
    live = history.recorded_live(records, reg.colors)
    if live is not None:
        lines.append(_line("greenlight_live_info", {**base, "version": live.version, "commit": live.commit[:12],
                                                    "color": live.color, "warm": live.warm_color}, 1))
    last = _last_deploy(records)
    if last is not None:
        started, ended = epoch(last.get("started", "")), epoch(last.get("ended", ""))
        lines += [
            _line("greenlight_last_deploy_outcome", {**base, "kind": last.get("kind", ""),
                                                     "version": last.get("version", "")},
                  OUTCOME_VALUES.get(last.get("outcome", ""), 0)),
            _line("greenlight_last_deploy_timestamp_seconds", base, ended),
            _line("greenlight_last_deploy_duration_seconds", base, max(ended - started, 0) if started else 0),
        ]

    found = backups.listing(reg.backup_dir, reg.database)
    lines.append(_line("greenlight_backups", base, len(found)))
    if found:
        newest = found[0]
        verified = newest.verified or {}
        lines += [
            _line("greenlight_backup_newest_timestamp_seconds", base, epoch(newest.created)),
            # 1 verified, 0 not (yet), -1 its verification failed
            _line("greenlight_backup_newest_verified", base, (1 if verified.get("ok") else -1) if verified else 0),
        ]
    proven = [b for b in found if (b.verified or {}).get("ok")]
    # The newest backup proven restorable (0: none yet): the rule compares its age with the schedule.
    lines.append(_line("greenlight_backup_verified_timestamp_seconds", base, epoch(proven[0].created) if proven else 0))

    lock = deploy_lock.read(reg.lock_file)
    held = bool(lock and lock.get("token"))
    lines.append(_line("greenlight_lock_held", base, 1 if held else 0))
    lines.append(_line("greenlight_lock_since_timestamp_seconds", base, float(lock.get("since") or 0) if held else 0))
    return lines


HELP = {
    "greenlight_backup_max_age_seconds": "Age past which the newest backup is too old (the schedule's period and a margin).",
    "greenlight_live_info": "The release the history says serves, its color and the warm color.",
    "greenlight_last_deploy_outcome": "The last deploy or rollback: 1 success, 0 failed, -1 interrupted.",
    "greenlight_last_deploy_timestamp_seconds": "When the last deploy or rollback ended.",
    "greenlight_last_deploy_duration_seconds": "How long the last deploy or rollback ran.",
    "greenlight_backups": "Backups kept on the host.",
    "greenlight_backup_newest_timestamp_seconds": "When the newest backup was taken.",
    "greenlight_backup_newest_verified": "The newest backup: 1 verified by a restore, 0 not verified, -1 verification failed.",
    "greenlight_backup_verified_timestamp_seconds": "When the newest backup that a restore verified was taken (0: none).",
    "greenlight_lock_held": "1 while a greenlight run holds the environment's deploy lock.",
    "greenlight_lock_since_timestamp_seconds": "Since when the deploy lock is held (0: free).",
    "greenlight_container_running": "1 while the container runs (not restarting, not stopped).",
    "greenlight_container_restarts_total": "Times Docker restarted the container since it was created.",
    "greenlight_facts_errors": "Environments whose facts could not be read in the last round.",
    "greenlight_facts_timestamp_seconds": "When these facts were written.",
}


def containers(reg: Registration, rows: list[dict]) -> list[str]:
    """Lines for the environment's containers: {name, running, restarts} each."""
    lines = []
    for row in rows:
        labels = {**reg.labels, "name": row["name"]}
        lines.append(_line("greenlight_container_running", labels, 1 if row["running"] else 0))
        lines.append(_line("greenlight_container_restarts_total", labels, row["restarts"]))
    return lines


def render(lines: list[str], errors: int, now: float | None = None) -> str:
    """The textfile: HELP and TYPE once per metric, then its lines, in a stable order."""
    now = time.time() if now is None else now
    lines = [*lines, _line("greenlight_facts_errors", {}, errors), _line("greenlight_facts_timestamp_seconds", {}, now)]
    by_name: dict[str, list[str]] = {}
    for line in lines:
        by_name.setdefault(line.split("{")[0].split(" ")[0], []).append(line)
    out = []
    for name in sorted(by_name):
        kind = "counter" if name.endswith("_total") else "gauge"
        out += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} {kind}", *by_name[name]]
    return "\n".join(out) + "\n"
