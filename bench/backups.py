"""Benchmark: backup, verification and restore times on a database of ROWS rows.

    .venv/bin/python bench/backups.py [--rows 1000000]      (make bench-backups)

Deploys the bench's test copy of the sample app (bench/run.py's environment: app `bench`,
/tmp/greenlight-bench, ports 17xxx) at v1, fills its `items` table to --rows rows with one
INSERT ... SELECT from MariaDB's sequence engine, then times, each from the playbook's start
to its end (Ansible's start-up included, as a user waits for it):
  backup.yml          dump, checksum, rows counted in the dump, restic copy
  verify-backup.yml   load into a throwaway database, count, compare
  restore.yml         check, backup of the database as it is, load behind the maintenance page
and the seconds the restore kept users on the maintenance page (the load, from the backup's
metadata). Prints one markdown table, also written to /tmp/greenlight-bench/backups.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import APP, ENV_DIR, ROOT, BenchError, Logs, log, playbook, remove_bench, setup  # noqa: E402

BACKUPS = ENV_DIR / "backups"
RESULTS = ROOT / "backups.md"
DATABASE = "warehouse_wms"  # the production inventory's mysql_database


def sql(query: str) -> str:
    done = subprocess.run(["docker", "exec", f"{APP}-production-mysql", "mariadb", "--batch", "--skip-column-names",
                           "--database", DATABASE, "--execute", query], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"SQL failed: {done.stderr.strip()}")
    return done.stdout.strip()


def newest() -> dict:
    found = sorted((json.loads(p.read_text()) for p in BACKUPS.glob("*.json")), key=lambda b: (b["created"], b["file"]))
    if not found:
        raise BenchError(f"no backup in {BACKUPS}")
    return found[-1]


def timed(logs: Logs, name: str, playbook_name: str, *args: str) -> float:
    log_file = logs.new(name)
    started = time.monotonic()
    if playbook(log_file, playbook_name, *args) != 0:
        raise BenchError(f"{playbook_name} failed; see {log_file}")
    seconds = time.monotonic() - started
    log(f"{name}: {seconds:.1f} s")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/backups.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the items table (default 1000000)")
    parser.add_argument("--keep", action="store_true", help="leave the bench's environment running at the end")
    args = parser.parse_args(argv)
    try:
        log("remove what an earlier bench left")
        remove_bench(keep_output=False)
        logs = Logs()
        setup(logs, need_v2_image=False)
        log(f"fill items to {args.rows} rows")
        have = int(sql("SELECT COUNT(*) FROM items"))
        if have < args.rows:
            sql(f"INSERT INTO items (sku, name, quantity, location) SELECT CONCAT('BENCH-', seq), "
                f"CONCAT('bench item ', seq), seq % 1000, CONCAT('L-', seq % 97) FROM seq_1_to_{args.rows - have}")
        rows = int(sql("SELECT COUNT(*) FROM items"))
        backup_s = timed(logs, "backup", "backup.yml", "-e", "backup_label=bench")
        made = newest()
        verify_s = timed(logs, "verify", "verify-backup.yml", "-e", f"backup_verify_file={made['file']}")
        restore_s = timed(logs, "restore", "restore.yml", "-e", f"restore_file={made['file']}")
        page_s = json.loads((BACKUPS / made["file"].replace(".sql.gz", ".json")).read_text())["verified"]["seconds"]
        if int(sql("SELECT COUNT(*) FROM items")) != rows:
            raise BenchError("the restored database does not have the rows the backup was taken with")
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            remove_bench(keep_output=True)
    output = (f"| rows | dump (gzip) | backup | verify | restore | maintenance page |\n|---|---|---|---|---|---|\n"
              f"| {rows:,} | {made['size'] / 1048576:.1f} MiB | {backup_s:.0f} s | {verify_s:.0f} s | {restore_s:.0f} s "
              f"| {page_s:.0f} s |\n")
    print(output)
    RESULTS.write_text(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
