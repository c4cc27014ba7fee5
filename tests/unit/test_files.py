"""Files greenlight replaces are whole after a crash: written whole, on disk before the rename."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ansible_collections.greenlight.deploy.plugins.module_utils import files, history


def short_writes(monkeypatch) -> list[int]:
    """os.write takes at most 3 bytes a call, as a write may on a full pipe or disk."""
    real, sizes = os.write, []

    def write(descriptor: int, data) -> int:
        sizes.append(len(data))
        return real(descriptor, bytes(data[:3]))

    monkeypatch.setattr(os, "write", write)
    return sizes


def test_a_short_write_is_retried_until_every_byte_is_written(tmp_path: Path, monkeypatch) -> None:
    sizes = short_writes(monkeypatch)
    files.write_atomically(str(tmp_path / "state"), "the whole text\n", 0o600)
    assert (tmp_path / "state").read_text() == "the whole text\n"
    assert len(sizes) > 1 and (tmp_path / "state").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]


def test_the_new_content_is_on_disk_before_it_replaces_the_old(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "live-color"
    target.write_text("blue\n")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        events.append("fsync:" + os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    def replace(source, destination) -> None:
        events.append("replace")
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    files.write_atomically(str(target), "green\n")
    assert target.read_text() == "green\n"
    assert events[0].startswith(f"fsync:{target}.") and events[1] == "replace"
    assert events[2] == f"fsync:{tmp_path}", "the folder holding the rename was not flushed"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "servers.state"
    target.write_text("old\n")

    def full(descriptor: int, data) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    try:
        files.write_atomically(str(target), "new\n")
    except OSError:
        pass
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["servers.state"]


def test_a_history_record_is_one_whole_line_even_when_writes_come_short(tmp_path: Path, monkeypatch) -> None:
    path = str(tmp_path / "history.jsonl")
    short_writes(monkeypatch)
    history.append(path, {"kind": "deploy", "env": "production", "version": "v2", "outcome": "success"})
    lines = Path(path).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["version"] == "v2"
