"""An environment's backups on disk (plugins/module_utils/backups.py): recording, listing, retention."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
import time
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.backups import (BackupError, check_name, compare_counts, count_sql, leftovers, listing, load,
                                         mark_verified, past_retention, record, remove)

DUMP = b"""-- MariaDB dump 10.19
USE `shop`;
CREATE TABLE `items` (
  `id` int(11) NOT NULL
) ENGINE=InnoDB;
INSERT INTO `items` VALUES (1),(2),(3);
-- Dump completed on 2026-11-28 12:00:00
"""
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def make(folder, name: str, when: datetime = T0, dump: bytes = DUMP):
    (folder / name).write_bytes(gzip.compress(dump))
    return record(str(folder), name, "production", "shop", "before-v2", {"version": "v2", "commit": "b" * 40}, now=when)


def test_record_writes_the_checksum_and_the_metadata_with_the_dumps_row_counts(tmp_path) -> None:
    backup = make(tmp_path, "shop-20261128T120000Z-before-v2.sql.gz")
    dump = tmp_path / backup.file
    assert backup.sha256 == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert (tmp_path / (backup.file + ".sha256")).read_text() == f"{backup.sha256}  {backup.file}\n"
    data = json.loads((tmp_path / "shop-20261128T120000Z-before-v2.json").read_text())
    assert data["tables"] == {"shop.items": 3} and data["rows"] == 3
    assert (data["env"], data["database"], data["release"]["version"], data["created"]) == (
        "production", "shop", "v2", "2026-11-28T12:00:00Z")
    assert load(str(tmp_path), backup.file) == backup
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_record_refuses_a_dump_of_another_database(tmp_path) -> None:
    with pytest.raises(BackupError, match="not only 'shop'"):
        make(tmp_path, "shop-x.sql.gz", dump=DUMP.replace(b"USE `shop`", b"USE `other`"))


@pytest.mark.parametrize("name", ["../shop.sql.gz", "a/b.sql.gz", "shop.sql", ".hidden.sql.gz", "shop..x.sql.gz", ""])
def test_names_that_are_not_a_plain_backup_file_are_refused(name: str) -> None:
    with pytest.raises(BackupError):
        check_name(name)


def test_listing_is_newest_first_and_skips_a_dump_without_metadata(tmp_path) -> None:
    for hours in (0, 2, 1):
        make(tmp_path, f"shop-{hours}.sql.gz", T0 + timedelta(hours=hours))
    (tmp_path / "shop-interrupted.sql.gz").write_bytes(gzip.compress(DUMP))
    assert [b.file for b in listing(str(tmp_path), "shop")] == ["shop-2.sql.gz", "shop-1.sql.gz", "shop-0.sql.gz"]


def test_retention_keeps_the_newest_and_never_a_protected_one(tmp_path) -> None:
    backups = [make(tmp_path, f"shop-{n}.sql.gz", T0 + timedelta(hours=n)) for n in range(4)]
    newest_first = listing(str(tmp_path), "shop")
    assert [b.file for b in past_retention(newest_first, 2)] == ["shop-1.sql.gz", "shop-0.sql.gz"]
    # The oldest is being restored: retention leaves it.
    assert [b.file for b in past_retention(newest_first, 2, {"shop-0.sql.gz"})] == ["shop-1.sql.gz"]
    assert [b.file for b in past_retention(newest_first, 1)] == ["shop-2.sql.gz", "shop-1.sql.gz", "shop-0.sql.gz"]
    for keep in (0, -1):
        with pytest.raises(BackupError, match="1 or more"):
            past_retention(newest_first, keep)
    remove(str(tmp_path), backups[0])
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("shop-0")) == []


def test_leftovers_are_the_old_files_of_no_whole_backup(tmp_path) -> None:
    make(tmp_path, "shop-whole.sql.gz")
    for name in ("shop-a.sql.gz.part", "shop-b.sql.gz", "shop-b.sql.gz.sha256", "shop-c.json.part", "shop-notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    old = time.time() - 7200
    for path in tmp_path.iterdir():
        os.utime(path, (old, old))
    (tmp_path / "shop-new.sql.gz.part").write_bytes(b"x")  # a dump being written now
    assert [p.name for p in leftovers(str(tmp_path), "shop", time.time() - 3600)] == [
        "shop-a.sql.gz.part", "shop-b.sql.gz", "shop-b.sql.gz.sha256", "shop-c.json.part"]


def test_verification_counts_each_table_by_index_and_compares_with_the_dump(tmp_path) -> None:
    dump = DUMP.replace(b"-- Dump completed", b"CREATE TABLE `odd``name` (\n  `id` int\n);\n-- Dump completed")
    backup = make(tmp_path, "shop-1.sql.gz", dump=dump)
    assert backup.tables == {"shop.items": 3, "shop.odd`name": 0}
    assert count_sql(backup) == "SELECT 0, COUNT(*) FROM `shop`.`items` UNION ALL SELECT 1, COUNT(*) FROM `shop`.`odd``name`;"
    assert compare_counts(backup, "0\t3\n1\t0\n") == []
    assert compare_counts(backup, "0\t2\n1\t0\n") == ["shop.items: 2 rows restored, the dump holds 3"]
    assert compare_counts(backup, "0\t3\n") == ["shop.odd`name: not counted in the restored database"]
    assert compare_counts(backup, "ERROR 1146\n")[0].startswith("unexpected line")


def test_a_verification_is_written_into_the_metadata(tmp_path) -> None:
    make(tmp_path, "shop-1.sql.gz")
    mark_verified(str(tmp_path), "shop-1.sql.gz", ["shop.items: 2 rows restored, the dump holds 3"], 4.26, now=T0)
    verified = load(str(tmp_path), "shop-1.sql.gz").verified
    assert verified == {"at": "2026-11-28T12:00:00Z", "ok": False, "seconds": 4.3,
                        "problems": ["shop.items: 2 rows restored, the dump holds 3"]}
