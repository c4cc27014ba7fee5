"""Backups on the real stack: recorded with their rows, copied into restic, verified in a
throwaway database, scheduled by cron, and every fault a user can meet saying what it is
while losing nothing that existed (issue 10; restores are in test_deploy.py)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from . import stack

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")

ENV_DIR = stack.ROOT / f"{stack.APP}-production"
BACKUPS = ENV_DIR / "backups"
CRON_FILE = Path("/etc/cron.d/greenlight-e2e-production")


def newest() -> dict:
    found = sorted((json.loads(p.read_text()) for p in BACKUPS.glob("*.json")), key=lambda b: (b["created"], b["file"]))
    return found[-1]


def rows() -> int:
    return len(stack.items("production"))


def snapshots() -> list[dict]:
    """production's restic snapshots, read with the password file greenlight wrote."""
    env = {**os.environ, "RESTIC_REPOSITORY": str(stack.ROOT / "restic" / f"{stack.APP}-production"),
           "RESTIC_PASSWORD_FILE": str(ENV_DIR / "secrets" / "restic-password")}
    done = subprocess.run(["restic", "snapshots", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_backup_holds_its_rows_and_is_copied_into_restic() -> None:
    done = stack.run_greenlight("backup", "production", "--label", "e2e")
    assert done.returncode == 0, done.stdout + done.stderr
    backup = newest()
    assert backup["label"] == "e2e" and backup["env"] == "production"
    assert backup["tables"][f"{backup['database']}.items"] == rows()
    assert stat.S_IMODE(BACKUPS.stat().st_mode) == 0o700
    for path in BACKUPS.glob(backup["file"].removesuffix(".sql.gz") + ".*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    tagged = [s for s in snapshots() if "label:e2e" in s.get("tags", [])]
    assert tagged and tagged[-1]["hostname"] == f"{stack.APP}-production"
    assert any(p.endswith(backup["file"]) for p in tagged[-1]["paths"])
    listed = stack.run_greenlight("--json", "backups", "production")
    assert json.loads(listed.stdout)["backups"][0]["file"] == backup["file"]


def test_verify_restores_the_newest_backup_into_a_throwaway_database() -> None:
    done = stack.run_greenlight("backup", "verify", "production")
    assert done.returncode == 0, done.stdout + done.stderr
    assert newest()["verified"]["ok"] is True
    left = stack.docker("ps", "-aq", "--filter", f"label=greenlight.app={stack.APP}",
                        "--filter", "label=greenlight.part=backup-verify")
    assert left.strip() == ""


def test_a_tampered_backup_fails_verification_and_says_so() -> None:
    victim = BACKUPS / newest()["file"]
    original = victim.read_bytes()
    try:
        victim.write_bytes(original[:-40])  # cut short
        done = stack.run_greenlight("backup", "verify", "production", victim.name)
        assert done.returncode == 1
        assert "does not match its checksum" in done.stdout + done.stderr, done.stdout + done.stderr
    finally:
        victim.write_bytes(original)


def test_a_backup_without_its_checksum_file_is_not_used_and_nothing_is_lost() -> None:
    victim = BACKUPS / newest()["file"]
    sidecar = victim.with_name(victim.name + ".sha256")
    kept = sidecar.read_bytes()
    before = len(stack.items("production"))
    try:
        sidecar.unlink()
        done = stack.run_greenlight("backup", "verify", "production", victim.name)
        assert done.returncode == 1
        assert f"{sidecar.name} is missing" in done.stdout + done.stderr, done.stdout + done.stderr
        assert victim.exists() and len(stack.items("production")) == before
    finally:
        sidecar.write_bytes(kept)


def test_the_scheduled_backup_is_a_cron_entry_that_backs_up_verifies_and_checks_restic() -> None:
    live = stack.live_version("production")
    deployed = stack.run_greenlight("deploy", "production", live)  # the deploy writes the entry
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    line = next(line for line in CRON_FILE.read_text().splitlines() if line.endswith("--scheduled"))
    fields = line.split(None, 6)
    assert fields[:6] == ["17", "3", "*", "*", "*", "root"], line
    assert "backup production --scheduled" in fields[6]
    done = subprocess.run(["sh", "-c", fields[6]], env={**os.environ, "GREENLIGHT_STATE_DIR": str(stack.STATE)},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    backup = newest()
    assert backup["label"] == "scheduled" and backup["verified"]["ok"] is True
    assert any("label:scheduled" in s.get("tags", []) for s in snapshots())


@pytest.mark.parametrize(("override", "message"), [
    ("backup_restic_password=not-the-password", "the restic password is wrong"),
    ("backup_restic_repository=rest:http://127.0.0.1:9/", "cannot reach the restic repository"),
    ("backup_keep=0", "backup_keep '0': a whole number of backups, 1 or more"),
])
def test_a_backup_fault_says_what_it_is_and_loses_nothing(override: str, message: str) -> None:
    before_rows = rows()
    before_files = sorted(p.name for p in BACKUPS.iterdir())
    done = stack.run_greenlight("backup", "production", "-e", override)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr, done.stdout + done.stderr
    assert rows() == before_rows
    assert set(before_files) <= {p.name for p in BACKUPS.iterdir()}  # no backup that existed is gone
    assert "not-the-password" not in (stack.STATE / "greenlight.log").read_text()


def test_a_full_disk_fails_the_backup_with_its_cause_and_keeps_every_backup() -> None:
    filler = BACKUPS / "filler"
    with filler.open("wb") as out:  # all but 4 KiB of the folder's small filesystem
        left = shutil.disk_usage(BACKUPS).free - 4096
        while left > 0:
            left -= out.write(b"\0" * min(left, 1 << 20))
    before, before_rows = sorted(p.name for p in BACKUPS.iterdir()), rows()
    try:
        done = stack.run_greenlight("backup", "production")
        after = sorted(p.name for p in BACKUPS.iterdir())
    finally:
        filler.unlink()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No space left on device" in done.stdout + done.stderr, done.stdout + done.stderr
    assert after == before  # nothing half-written is left, nothing that was there is gone
    assert rows() == before_rows


def test_a_backup_with_the_database_down_fails_and_leaves_no_half_backup() -> None:
    database = f"{stack.APP}-production-mysql"
    before = {p.name for p in BACKUPS.glob("*.json")}
    stack.docker("stop", database)
    try:
        done = stack.run_greenlight("backup", "production")
    finally:
        stack.docker("start", database)
        wait_healthy(database)
    assert done.returncode == 1, done.stdout + done.stderr
    assert {p.name for p in BACKUPS.glob("*.json")} == before
    assert not list(BACKUPS.glob("*.part"))


def wait_healthy(container: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while stack.docker("inspect", "-f", "{{.State.Health.Status}}", container).strip() != "healthy":
        assert time.monotonic() < deadline, f"{container} did not come back healthy"
        time.sleep(1)
