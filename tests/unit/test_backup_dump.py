"""Row counts read from a dump (plugins/module_utils/backup_dump.py), on dumps in mariadb-dump's format."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.backup_dump import DumpError, inspect, read_dump, rows_in

DUMP = rb"""-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: shop
-- ------------------------------------------------------
CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;

USE `shop`;
DROP TABLE IF EXISTS `items`;
CREATE TABLE `items` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(200) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=6 DEFAULT CHARSET=utf8mb4;
LOCK TABLES `items` WRITE;
INSERT INTO `items` VALUES (1,'bolt (M8)'),(2,'it\'s a nut, (2),(3)'),(3,'back\\slash\\'),(4,NULL);
INSERT INTO `items` VALUES (5,'line\nbreak ;\r\n');
UNLOCK TABLES;
DROP TABLE IF EXISTS `empty``table`;
CREATE TABLE `empty``table` (
  `id` int(11) NOT NULL
) ENGINE=InnoDB;
DELIMITER ;;
/*!50003 CREATE*/ /*!50003 TRIGGER `items_log` AFTER INSERT ON `items` FOR EACH ROW
INSERT INTO `items` VALUES (NEW.id, 'copy') */;;
DELIMITER ;
-- Dump completed on 2026-11-28 12:00:00
"""


def test_rows_are_the_tuples_outside_strings() -> None:
    assert rows_in(rb"(1,'a'),(2,'b)(c'),(3,'d\')(')" + b";") == 3
    assert rows_in(b"(1,0x28),(2,NULL);") == 2


def test_a_dump_gives_its_database_and_each_table_with_its_rows() -> None:
    contents = read_dump(DUMP.splitlines(keepends=True))
    assert contents.databases == ["shop"]
    # The trigger's INSERT is a statement of its body, not a row; the empty table counts, at 0.
    assert contents.tables == {"shop.items": 5, "shop.empty`table": 0}
    assert contents.rows == 5
    assert contents.complete


def test_inspect_reads_the_gzip_file_and_checksums_it_as_stored(tmp_path) -> None:
    path = tmp_path / "shop.sql.gz"
    path.write_bytes(gzip.compress(DUMP))
    contents, sha256 = inspect(str(path))
    assert contents.tables["shop.items"] == 5
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["truncated", "cut before the end", "not gzip"])
def test_a_damaged_dump_is_refused(tmp_path, damage: str) -> None:
    whole = gzip.compress(DUMP)
    data = {"truncated": whole[: len(whole) // 2],
            "cut before the end": gzip.compress(DUMP[: DUMP.index(b"-- Dump completed")]),
            "not gzip": DUMP}[damage]
    path = tmp_path / "shop.sql.gz"
    path.write_bytes(data)
    with pytest.raises(DumpError):
        inspect(str(path))


def test_an_insert_with_one_row_per_line_is_counted_to_its_end() -> None:
    # MariaDB 10.11's mariadb-dump: VALUES, then each row on its own line.
    dump = (b"USE `shop`;\n"
            b"INSERT INTO `schema_migrations` VALUES\n"
            b"('0001_create_items','2026-11-28 08:59:00'),\n"
            b"('0002_add;supplier),(','2026-11-28 08:59:01');\n"
            b"INSERT INTO `items` VALUES (1,'a'),(2,'b');\n"
            b"-- Dump completed on 2026-11-28\n")
    contents = read_dump(dump.splitlines(keepends=True))
    assert contents.tables == {"shop.schema_migrations": 2, "shop.items": 2}
