"""Benchmark: backup, verification and restore times on a database of ROWS rows.

    .venv/bin/python bench/backups.py [--rows 1000000]      (make bench-backups)

Deploys the bench's test copy of the sample app (bench/run.py's environment: app `bench`,
/tmp/greenlight-bench, ports 17xxx) at v1, fills its `items` table to --rows rows with one
INSERT ... SELECT from MariaDB's sequence engine, then times, each from the playbook's start
to its end (Ansible's start-up included, as a user waits for it):
  backup.yml          dump, checksum, rows counted in the dump, restic copy
  verify-backup.yml   load into a throwaway database, count, compare
  restore.yml         check, backup of the database as it is, load behind the maintenance page
  import              greenlight import's playbook from a server: a MariaDB of the environment's
                      image holding a copy of the same rows (the source), dumped, checksummed
                      before and after, loaded behind the page, compared table by table
and the seconds the restore and the import kept users on the maintenance page (the load, from
the backup's metadata). Prints one markdown table, also written to /tmp/greenlight-bench/backups.md.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from greenlight.runner import SecretPipes  # noqa: E402

from run import APP, ENV_DIR, HISTORY, ROOT, BenchError, Logs, log, playbook, remove_bench, setup  # noqa: E402

BACKUPS = ENV_DIR / "backups"
RESULTS = ROOT / "backups.md"
DATABASE = "warehouse_wms"  # the production inventory's mysql_database


def sql(query: str) -> str:
    done = subprocess.run(["docker", "exec", f"{APP}-production-mysql", "mariadb", "--batch", "--skip-column-names",
                           "--database", DATABASE, "--execute", query], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"SQL failed: {done.stderr.strip()}")
    return done.stdout.strip()


def last_page_seconds() -> float:
    """How long the last restore kept users on the maintenance page, from the history."""
    last = json.loads(HISTORY.read_text().splitlines()[-1])
    return float(last["stages"]["maintenance_page"])


def newest(label: str = "") -> dict:
    found = sorted((b for b in (json.loads(p.read_text()) for p in BACKUPS.glob("*.json")) if b["label"] == label or not label),
                   key=lambda b: (b["created"], b["file"]))
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


SOURCE = f"{APP}-import-source"


def start_source(image: str, dump: Path) -> tuple[int, str]:
    """A MariaDB of `image` on 127.0.0.1, holding `dump` (the bench's backup: its database,
    with the same name), with a user that may dump it. Its port and that user's password."""
    subprocess.run(["docker", "rm", "-f", SOURCE], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", SOURCE, "-p", "127.0.0.1::3306", image], check=True,
                   capture_output=True)
    for _ in range(120):
        if subprocess.run(["docker", "exec", SOURCE, "mariadb-admin", "ping", "--silent"],
                          capture_output=True, check=False).returncode == 0:
            break
        time.sleep(0.5)
    password = secrets.token_urlsafe(18)
    loaded = subprocess.run(["bash", "-c", f'gunzip -c "$1" | docker exec -i {SOURCE} mariadb', "load", str(dump)],
                            capture_output=True, text=True, check=False)
    if loaded.returncode != 0:
        raise BenchError(f"cannot load the source: {loaded.stderr.strip()[:300]}")
    subprocess.run(["docker", "exec", "-i", SOURCE, "mariadb"], check=True, text=True, capture_output=True,
                   input=f"CREATE USER 'bench'@'%' IDENTIFIED BY '{password}';\n"
                         f"GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES ON {DATABASE}.* TO 'bench'@'%';\n")
    port = subprocess.run(["docker", "port", SOURCE, "3306/tcp"], capture_output=True, text=True,
                          check=True).stdout.split(":")[-1].strip()
    return int(port), password


def timed_import(logs: Logs, port: int, password: str) -> float:
    """restore.yml as greenlight import runs it: the source's password through a pipe."""
    with tempfile.TemporaryDirectory() as private:
        pipes = SecretPipes(private, {"restore_source_password": password})
        try:
            source = {"host": "127.0.0.1", "port": port, "user": "bench", "database": DATABASE}
            return timed(logs, "import", "restore.yml", "-e", json.dumps({"restore_source": source, **pipes.extravars}))
        finally:
            pipes.close()


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
        page_s = last_page_seconds()
        if int(sql("SELECT COUNT(*) FROM items")) != rows:
            raise BenchError("the restored database does not have the rows the backup was taken with")
        log("start the import's source: a MariaDB holding the same rows")
        image = json.loads(subprocess.run(["docker", "inspect", f"{APP}-production-mysql"], capture_output=True,
                                          text=True, check=True).stdout)[0]["Image"]
        port, password = start_source(image, BACKUPS / made["file"])
        import_s = timed_import(logs, port, password)
        imported = newest("imported")
        if int(sql("SELECT COUNT(*) FROM items")) != rows:
            raise BenchError(f"the import did not bring the source's {rows} rows ({imported['file']})")
        import_page_s = last_page_seconds()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        subprocess.run(["docker", "rm", "-f", SOURCE], capture_output=True, check=False)
        if not args.keep:
            remove_bench(keep_output=True)
    output = (f"| rows | dump (gzip) | backup | verify | restore | maintenance page | import from a server "
              f"| maintenance page |\n|---|---|---|---|---|---|---|---|\n"
              f"| {rows:,} | {made['size'] / 1048576:.1f} MiB | {backup_s:.0f} s | {verify_s:.0f} s | {restore_s:.0f} s "
              f"| {page_s:.0f} s | {import_s:.0f} s | {import_page_s:.0f} s |\n")
    print(output)
    RESULTS.write_text(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
