"""The environment's history: one schema, one writer, one reader.

One JSON object per line in <env dir>/history.jsonl, oldest first, appended by `append()`
only (the greenlight.deploy.history, greenlight.deploy.recover and greenlight.deploy.rollback modules; the
greenlight command's promote record goes through greenlight.deploy.history too). docs/commands.md
documents the fields.

The history is also the truth recovery goes back to: `recorded_live()` is what the
newest deploy or rollback record says serves.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
from dataclasses import dataclass, field

from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_all, write_atomically

KINDS = ("deploy", "rollback", "promote", "restore", "backup", "recovery")
OUTCOMES = ("success", "failed", "interrupted")

# Every record has every field; a writer gives what it knows and the rest takes these defaults.
FIELDS: dict[str, object] = {
    "kind": "deploy",          # deploy, rollback, promote (a promotion's summary), restore, backup or recovery
    "env": "",                 # the environment ("staging -> production" for a promote)
    "version": "",             # the release the run deployed or tried to (as asked: tag, branch, commit)
    "commit": "",              # its commit
    "images": {},              # part -> image reference
    "digests": {},             # part -> image ID
    "color": "",               # the color the run put (or tried to put) the release on
    "strategy": "",            # blue_green, canary, rolling, instant (a rollback) or "" (none moved)
    "switch_ms": 0.0,          # HAProxy's time to move the traffic
    "rollback_ms": 0.0,        # from a judge's failing verdict to the traffic being back
    "analysis": [],            # every judged window: {window, seconds, outcome, reason, evidence, canary, baseline}
    "previous_version": "",    # what served before the run
    "previous_commit": "",
    "backup": "",              # the pre-deploy backup's path, and its checksum
    "backup_sha256": "",
    "live": {},                # what serves after the run: {version, commit, color, serving, warm}
    "recovered": [],           # what recovery did before or after the run, one line each
    "stages": {},              # a promote's stages and their seconds
    "verified": {},            # a promote: what staging's verify saw ({version, checks})
    "actor": "unknown",        # who ran it
    "started": "",             # UTC, ISO 8601
    "ended": "",
    "outcome": "success",      # success, failed or interrupted
    "error": "",               # why it failed, or what interrupted it
}

# Newest records read: enough for any report, and a history of years stays quick to read.
TAIL_BYTES = 4 * 1024 * 1024
# A history past this size is rotated by the next append: the whole file becomes
# <history>.1 (replacing the one before) and the history keeps its newest KEEP_BYTES, plus the
# record that says what serves (recovery goes back to it), so it never outgrows what is read.
ROTATE_BYTES = TAIL_BYTES
KEEP_BYTES = 512 * 1024


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> float:
    """Seconds since the epoch of a time as `now()` writes it (the backups' too); 0 when empty or unreadable."""
    try:
        return datetime.datetime.fromisoformat(text).timestamp() if text else 0.0
    except ValueError:
        return 0.0


def make_record(given: dict) -> dict:
    """A complete record from the fields a writer knows; ValueError on an unknown field or value."""
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown history field {unknown[0]!r}")
    record = {key: json.loads(json.dumps(default)) for key, default in FIELDS.items()}
    record.update({key: value for key, value in given.items() if value is not None})
    if record["kind"] not in KINDS:
        raise ValueError(f"history kind must be one of {', '.join(KINDS)}, not {record['kind']!r}")
    if record["outcome"] not in OUTCOMES:
        raise ValueError(f"history outcome must be one of {', '.join(OUTCOMES)}, not {record['outcome']!r}")
    for key in ("switch_ms", "rollback_ms"):
        record[key] = float(record[key] or 0)
    record["ended"] = record["ended"] or now()
    return record


def append(path: str, given: dict) -> dict:
    """Add one record: one write of one whole line, flushed to disk before returning. Writers
    take turns (flock), and the one that finds the file too big rotates it first."""
    record = make_record(given)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    line = (json.dumps(record, sort_keys=False) + "\n").encode()
    while True:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            # Rotated by another writer while this one waited: write to the new file.
            if os.fstat(descriptor).st_ino != os.stat(path).st_ino:
                continue
            if os.fstat(descriptor).st_size > ROTATE_BYTES:
                _rotate(path)
                continue
            os.fchmod(descriptor, 0o600)
            # A line cut short by a crash would glue onto the next one; start on a fresh line.
            if os.fstat(descriptor).st_size and not _ends_with_newline(path):
                line = b"\n" + line
            write_all(descriptor, line)
            os.fsync(descriptor)
            return record
        finally:
            os.close(descriptor)


def _rotate(path: str) -> None:
    """Archive the whole history as <path>.1, then replace it with its newest KEEP_BYTES of
    lines and the record that says what serves. Each step is one rename: a kill anywhere
    leaves a history holding every recent record."""
    with open(path, "rb") as stream:
        data = stream.read()
    _replace(f"{path}.1", data)
    lines = [line for line in data.split(b"\n") if line.strip()]
    start, size = len(lines), 0
    while start > 0 and (start == len(lines) or size + len(lines[start - 1]) + 1 <= KEEP_BYTES):
        start -= 1
        size += len(lines[start]) + 1
    numbered = [(number, record) for number, record in enumerate(map(_record, lines)) if record is not None]
    serving = live_index([record for _, record in numbered])
    kept = lines[start:]
    if serving is not None and numbered[serving][0] < start:
        kept.insert(0, lines[numbered[serving][0]])
    _replace(path, b"\n".join(kept) + b"\n")


def _record(line: bytes) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _replace(path: str, data: bytes) -> None:
    write_atomically(path, data, 0o600)


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as stream:
        stream.seek(-1, os.SEEK_END)
        return stream.read(1) == b"\n"


@dataclass
class Reading:
    records: list[dict] = field(default_factory=list)
    skipped: int = 0  # lines that are not a record (a crash mid-write, a hand edit)


def parse(text: str) -> Reading:
    reading = Reading()
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            reading.skipped += 1
            continue
        if isinstance(record, dict):
            reading.records.append(record)
        else:
            reading.skipped += 1
    return reading


def read(path: str, limit: int = 0) -> Reading:
    """The newest `limit` records (all when 0), oldest first, from the end of the file."""
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - TAIL_BYTES))
            data = stream.read()
    except FileNotFoundError:
        return Reading()
    if size > TAIL_BYTES:
        data = data.split(b"\n", 1)[-1]  # the first line read is probably cut
    reading = parse(data.decode("utf-8", errors="replace"))
    if limit:
        reading.records = reading.records[-limit:]
    return reading


@dataclass(frozen=True)
class Live:
    """What the history says serves: the release, its color(s), and the warm color if any."""

    version: str
    commit: str
    color: str
    serving: tuple[str, ...]
    warm_color: str = ""
    warm_version: str = ""
    warm_commit: str = ""

    def as_dict(self) -> dict:
        return {"version": self.version, "commit": self.commit, "color": self.color,
                "serving": list(self.serving),
                "warm": ({"color": self.warm_color, "version": self.warm_version, "commit": self.warm_commit}
                         if self.warm_color else {})}

    @classmethod
    def from_dict(cls, data: dict) -> Live | None:
        if not data or not data.get("color") or not data.get("commit"):
            return None
        warm = data.get("warm") or {}
        return cls(data.get("version", ""), data["commit"], data["color"],
                   tuple(data.get("serving") or [data["color"]]),
                   warm.get("color", ""), warm.get("version", ""), warm.get("commit", ""))


def live_index(records: list[dict]) -> int | None:
    """The index of the newest deploy, rollback or recovery record that says what serves."""
    for index in range(len(records) - 1, -1, -1):
        record = records[index]
        if record.get("kind") not in ("deploy", "rollback", "recovery"):
            continue
        if "live" in record:
            if Live.from_dict(record.get("live") or {}) is not None or record.get("outcome") == "success":
                return index
            continue  # a failed first deploy: nothing served, look further back
        # A record of the first round's format (no "live"): a success put its release live.
        if record.get("outcome") == "success" and record.get("color"):
            return index
    return None


def recorded_live(records: list[dict], colors: tuple[str, ...] | list[str]) -> Live | None:
    """What serves according to the newest deploy, rollback or recovery record that says."""
    index = live_index(records)
    if index is None:
        return None
    record = records[index]
    if "live" in record:
        return Live.from_dict(record.get("live") or {})
    color = record["color"]
    rolling = record.get("strategy") == "rolling"
    serving = tuple(colors) if rolling else (color,)
    other = next((c for c in colors if c != color), "")
    warm = not rolling and record.get("previous_commit")
    return Live(record.get("version", ""), record.get("commit", ""), color, serving,
                other if warm else "", record.get("previous_version", "") if warm else "",
                record.get("previous_commit", "") if warm else "")
