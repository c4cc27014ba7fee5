"""An environment's backups on its host: what each holds, and which ones retention removes.

A backup is three files in the environment's backup folder (0700), each 0600:
  NAME.sql.gz   the dump (mariadb-dump --single-transaction, gzipped; written as .part, then renamed)
  NAME.sha256   its checksum, in sha256sum's format
  NAME.json     its metadata: environment, database, release, time, size, checksum, and the
                rows of each table, counted in the dump itself (backup_dump.py)
The metadata is written last, each file under a temporary name renamed when complete: a
backup without its .json was interrupted and is not listed as whole.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ansible_collections.greenlight.deploy.plugins.module_utils.backup_dump import inspect

FORMAT = 1
SUFFIX = ".sql.gz"
# Every file a backup is made of, or was while being written (longest first).
PARTS = (".sql.gz.sha256.part", ".sql.gz.sha256", ".sql.gz.part", ".sql.gz", ".json.part", ".json")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.sql\.gz$")


class BackupError(ValueError):
    """A backup that is missing, damaged or not what it claims to be."""


@dataclass
class Backup:
    file: str
    env: str
    database: str
    label: str
    created: str  # ISO 8601, UTC
    size: int
    sha256: str
    tables: dict[str, int] = field(default_factory=dict)
    release: dict[str, str] = field(default_factory=dict)  # version, commit
    verified: dict = field(default_factory=dict)  # the last verification: at, ok, seconds, problems
    format: int = FORMAT

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def as_data(self) -> dict:
        return {**asdict(self), "rows": self.rows}


def check_name(name: str) -> str:
    """`name` when it is a plain backup file name (no folder, no `..`), else BackupError."""
    if not NAME.match(name) or ".." in name:
        raise BackupError(f"not a backup file name: {name!r} (a NAME.sql.gz file of the backup folder)")
    return name


def _write(path: Path, text: str) -> None:
    """`text` to `path`, mode 0600, under a temporary name first: never half a file."""
    part = path.with_name(path.name + ".part")
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)  # a full disk: no half file left behind
        raise


def record(folder: str, name: str, env: str, database: str, label: str, release: dict[str, str],
           now: datetime | None = None) -> Backup:
    """Read a finished dump and write its .sha256 and .json beside it."""
    path = Path(folder) / check_name(name)
    if not path.is_file():
        raise BackupError(f"{path} was not written")
    contents, sha256 = inspect(str(path))
    if contents.databases != [database]:
        raise BackupError(f"{path} holds the databases {contents.databases}, not only {database!r}")
    os.chmod(path, 0o600)
    backup = Backup(file=name, env=env, database=database, label=label,
                    created=(now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    size=path.stat().st_size, sha256=sha256, tables=contents.tables, release=dict(release))
    _write(path.with_name(name + ".sha256"), f"{sha256}  {name}\n")
    _write(path.with_name(name[: -len(SUFFIX)] + ".json"), json.dumps(backup.as_data(), indent=2, sort_keys=True) + "\n")
    return backup


def metadata_path(folder: str, name: str) -> Path:
    return Path(folder) / (check_name(name)[: -len(SUFFIX)] + ".json")


def load(folder: str, name: str) -> Backup:
    """A backup's metadata, BackupError when it has none (interrupted) or it is unreadable."""
    path = metadata_path(folder, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("rows", None)
        return Backup(**data)
    except FileNotFoundError:
        raise BackupError(f"{name} has no metadata ({path.name}): it was interrupted, or is not a greenlight backup") from None
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from exc


def listing(folder: str, database: str) -> list[Backup]:
    """The whole backups of `database` in `folder`, newest first."""
    found = []
    for path in Path(folder).glob(f"{database}-*{SUFFIX}"):
        try:
            backup = load(folder, path.name)
        except BackupError:
            continue  # interrupted before its metadata: not a backup yet
        if backup.database == database:
            found.append(backup)
    return sorted(found, key=lambda b: (b.created, b.file), reverse=True)


def past_retention(backups: list[Backup], keep: int, protect: set[str] = frozenset()) -> list[Backup]:
    """The backups retention removes: all but the newest `keep` (at least 1), never a protected one."""
    if keep < 1:
        raise BackupError(f"backup_keep must be 1 or more, not {keep}: the newest backup is never removed")
    return [b for b in backups[keep:] if b.file not in protect]


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def count_sql(backup: Backup) -> str:
    """One query counting the rows of each of the backup's tables, as `index<TAB>rows` lines
    (the index into sorted(backup.tables): names never have to be read back from output)."""
    parts = []
    for index, table in enumerate(sorted(backup.tables)):
        database, _, name = table.partition(".")
        parts.append(f"SELECT {index}, COUNT(*) FROM {_quoted(database)}.{_quoted(name)}")
    return " UNION ALL ".join(parts) + ";" if parts else "SELECT 0, 0 FROM DUAL WHERE FALSE;"


def compare_counts(backup: Backup, output: str) -> list[str]:
    """What differs between the rows the dump holds and the counts (count_sql's output) of
    a database restored from it; empty when they match."""
    tables = sorted(backup.tables)
    restored: dict[str, int] = {}
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            index, rows = (int(field) for field in line.split("\t"))
            restored[tables[index]] = rows
        except (ValueError, IndexError):
            return [f"unexpected line in the restored database's counts: {line[:80]!r}"]
    problems = []
    for table in tables:
        if table not in restored:
            problems.append(f"{table}: not counted in the restored database")
        elif restored[table] != backup.tables[table]:
            problems.append(f"{table}: {restored[table]} rows restored, the dump holds {backup.tables[table]}")
    return problems


def mark_verified(folder: str, name: str, problems: list[str], seconds: float, now: datetime | None = None) -> Backup:
    """Write a verification's result into the backup's metadata."""
    backup = load(folder, name)
    backup.verified = {"at": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "ok": not problems, "seconds": round(seconds, 1), "problems": problems}
    _write(metadata_path(folder, name), json.dumps(backup.as_data(), indent=2, sort_keys=True) + "\n")
    return backup


def files(folder: str, name: str) -> list[Path]:
    """A backup's three files: its metadata, its checksum, its dump."""
    base = Path(folder) / check_name(name)
    return [metadata_path(folder, name), base.with_name(name + ".sha256"), base]


def remove(folder: str, backup: Backup) -> None:
    """A backup's three files, its metadata first: killed half way, what is left is not listed
    as a backup, and the next retention run removes it (leftovers)."""
    for path in files(folder, backup.file):
        path.unlink(missing_ok=True)


def leftovers(folder: str, database: str, older_than: float) -> list[Path]:
    """Files of `database`'s backups that are not part of a whole one (a run killed while
    dumping, recording or removing), last changed before `older_than` (epoch seconds)."""
    whole = {b.file for b in listing(folder, database)}
    found = []
    for path in Path(folder).glob(f"{database}-*"):
        suffix = next((s for s in PARTS if path.name.endswith(s)), None)
        if suffix is None:
            continue  # not a file greenlight writes
        if path.name[: -len(suffix)] + SUFFIX in whole or path.stat().st_mtime >= older_than:
            continue
        found.append(path)
    return sorted(found)
