"""greenlight's facts for Prometheus and the status page, from real history, backup and lock files."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from ansible_collections.greenlight.deploy.plugins.module_utils import backups, deploy_lock, history, monitoring_facts
from ansible_collections.greenlight.deploy.plugins.module_utils.monitoring_facts import Registration

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc).timestamp()

spec = importlib.util.spec_from_file_location("greenlight_status", REPO / "roles/monitoring/files/greenlight_status.py")
status_page = importlib.util.module_from_spec(spec)
spec.loader.exec_module(status_page)


def registration(tmp_path: Path, env: str = "production") -> Registration:
    return Registration.from_dict({
        "app": "shop", "env": env, "page": env == "production", "history_file": str(tmp_path / "history.jsonl"),
        "lock_file": str(tmp_path / "lock.json"), "backup_dir": str(tmp_path / "backups"), "database": "shop",
        "colors": ["blue", "green"], "backup_max_age_seconds": 93600})


def metrics(text: str) -> dict[str, float]:
    """'name{labels}' -> value of every sample line."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            found[key] = float(value)
    return found


def value(found: dict[str, float], name: str, **labels: str) -> float:
    matches = [v for key, v in found.items() if key.split("{")[0] == name
               and all(f'{k}="{val}"' in key for k, val in labels.items())]
    assert len(matches) == 1, (name, labels, found)
    return matches[0]


def write_backup(folder: Path, name: str, created: datetime, verified: dict | None = None) -> None:
    folder.mkdir(exist_ok=True)
    data = {"file": name, "env": "production", "database": "shop", "label": "scheduled",
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "size": 10, "sha256": "0" * 64,
            "tables": {"items": 3}, "release": {}, "verified": verified or {}, "format": backups.FORMAT}
    (folder / name).write_bytes(b"x")
    (folder / (name[: -len(backups.SUFFIX)] + ".json")).write_text(json.dumps(data))


def test_an_environment_with_nothing_yet_says_so(tmp_path: Path) -> None:
    found = metrics(monitoring_facts.render(monitoring_facts.environment(registration(tmp_path)), 0, NOW))
    assert value(found, "greenlight_backups", env="production") == 0
    assert value(found, "greenlight_backup_verified_timestamp_seconds") == 0  # BackupUnverified fires
    assert value(found, "greenlight_lock_held") == 0
    assert not any(key.startswith("greenlight_live_info") for key in found)
    assert value(found, "greenlight_facts_timestamp_seconds") == NOW


def test_live_release_last_deploy_backups_and_lock(tmp_path: Path) -> None:
    reg = registration(tmp_path)
    history.append(reg.history_file, {"kind": "deploy", "version": "v1", "commit": "a" * 40, "color": "blue",
                                      "live": {"version": "v1", "commit": "a" * 40, "color": "blue", "serving": ["blue"]},
                                      "started": "2026-11-28T10:00:00Z", "ended": "2026-11-28T10:01:30Z"})
    history.append(reg.history_file, {"kind": "deploy", "version": "v2", "commit": "b" * 40, "color": "green",
                                      "outcome": "failed", "started": "2026-11-28T11:00:00Z", "ended": "2026-11-28T11:02:00Z",
                                      "live": {"version": "v1", "commit": "a" * 40, "color": "blue", "serving": ["blue"]}})
    folder = Path(reg.backup_dir)
    write_backup(folder, "shop-20261127T031700Z-scheduled.sql.gz", datetime(2026, 11, 27, 3, 17, tzinfo=timezone.utc),
                 {"ok": True, "at": "2026-11-27T03:18:00Z"})
    write_backup(folder, "shop-20261128T110000Z-v2.sql.gz", datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc))
    deploy_lock.acquire(reg.lock_file, deploy_lock.identity(1), {"kind": "deploy"})

    found = metrics(monitoring_facts.render(monitoring_facts.environment(reg), 0, NOW))
    assert value(found, "greenlight_live_info", version="v1", color="blue", page="true") == 1
    assert value(found, "greenlight_last_deploy_outcome", version="v2") == 0  # failed
    assert value(found, "greenlight_last_deploy_duration_seconds") == 120
    assert value(found, "greenlight_backups") == 2
    assert value(found, "greenlight_backup_newest_timestamp_seconds") == datetime(2026, 11, 28, 11, tzinfo=timezone.utc).timestamp()
    assert value(found, "greenlight_backup_newest_verified") == 0
    assert value(found, "greenlight_backup_verified_timestamp_seconds") == datetime(2026, 11, 27, 3, 17, tzinfo=timezone.utc).timestamp()
    assert value(found, "greenlight_lock_held") == 1
    assert value(found, "greenlight_lock_since_timestamp_seconds") > 0


def test_a_failed_verification_is_minus_one(tmp_path: Path) -> None:
    reg = registration(tmp_path, "staging")
    write_backup(Path(reg.backup_dir), "shop-20261128T110000Z-scheduled.sql.gz", datetime(2026, 11, 28, 11, tzinfo=timezone.utc),
                 {"ok": False, "problems": ["items: 2 rows, not 3"]})
    found = metrics(monitoring_facts.render(monitoring_facts.environment(reg), 0, NOW))
    assert value(found, "greenlight_backup_newest_verified", env="staging", page="false") == -1
    assert value(found, "greenlight_backup_verified_timestamp_seconds") == 0


def test_the_textfile_is_valid_exposition_format(tmp_path: Path) -> None:
    reg = registration(tmp_path)
    text = monitoring_facts.render(monitoring_facts.environment(reg)
                                   + monitoring_facts.containers(reg, [{"name": 'a"b', "running": True, "restarts": 4}]), 1, NOW)
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$')
    helped = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif not line.startswith("# TYPE "):
            assert sample.match(line), line
            assert line.split("{")[0].split(" ")[0] in helped, line  # HELP before the samples
    assert 'name="a\\"b"' in text and "greenlight_container_restarts_total" in text
    assert value(metrics(text), "greenlight_facts_errors") == 1


def test_the_status_page_shows_both_environments_and_their_alerts(tmp_path: Path) -> None:
    status = {
        "generated": "2026-11-28T12:00:00Z", "problems": [], "host_alerts": [],
        "environments": [
            {"app": "shop", "env": env, "page": env == "production", "health": health, "health_24h": 0.9992,
             "live": {"version": version, "color": "blue", "warm": {"version": "v1", "color": "green"}},
             "charts": {"requests/s": [(NOW - 60, 10.0), (NOW, 12.0)]},
             "backup": {"created": "2026-11-28T03:17:00Z", "rows": 3, "verified": True},
             "alerts": alerts, "deploys": [{"ended": "2026-11-28T11:02:00Z", "kind": "deploy", "version": version,
                                           "outcome": "success", "seconds": 95.0}]}
            for env, version, health, alerts in (
                ("production", "v2", "down", [{"name": "EnvironmentDown", "severity": "page", "summary": "<b>none</b>"}]),
                ("staging", "v3", "up", []))],
    }
    page = status_page.render(status)
    production, staging = page.index('id="env-shop-production"'), page.index('id="env-shop-staging"')
    assert production < staging
    assert "v2" in page[production:staging] and "v3" in page[staging:]
    assert "EnvironmentDown" in page[production:staging] and "EnvironmentDown" not in page[staging:]
    assert "&lt;b&gt;none&lt;/b&gt;" in page  # escaped
    assert "<svg" in page and "99.92%" in page and "95 s" in page
