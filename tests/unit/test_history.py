"""The history: one schema, appends that survive a crash, a reader that skips what is not a record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils import history
from ansible_collections.greenlight.deploy.plugins.module_utils.history import Live, append, make_record, read, recorded_live

from .helpers import V1, V2

COLORS = ("blue", "green")


def test_a_record_gets_every_field_and_its_end_time() -> None:
    record = make_record({"kind": "deploy", "version": "v2", "outcome": "failed", "switch_ms": "0.4"})
    assert set(record) == set(history.FIELDS)
    assert record["switch_ms"] == 0.4 and record["ended"].endswith("Z")


@pytest.mark.parametrize("given", [{"kind": "deploi"}, {"outcome": "ok"}, {"colour": "blue"}])
def test_a_record_with_an_unknown_kind_outcome_or_field_is_refused(given: dict) -> None:
    with pytest.raises(ValueError):
        make_record(given)


def test_append_writes_one_line_a_crash_cut_short_does_not_glue_onto(tmp_path: Path) -> None:
    path = tmp_path / "env" / "history.jsonl"
    append(str(path), {"version": "v1"})
    with open(path, "a") as stream:
        stream.write('{"kind": "deploy", "vers')  # a crash in the middle of a write
    append(str(path), {"version": "v2"})
    reading = read(str(path))
    assert [r["version"] for r in reading.records] == ["v1", "v2"]
    assert reading.skipped == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_read_returns_the_newest_records_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps({"version": f"v{n}"}) + "\n" for n in range(30)))
    assert [r["version"] for r in read(str(path), limit=3).records] == ["v27", "v28", "v29"]
    assert read(str(tmp_path / "missing.jsonl")).records == []


def test_read_of_a_long_history_reads_only_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "TAIL_BYTES", 200)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps({"version": f"v{n}", "pad": "x" * 20}) + "\n" for n in range(100)))
    reading = read(str(path))
    assert reading.records[-1]["version"] == "v99" and len(reading.records) < 10
    assert reading.skipped == 0  # the line cut by the start of the tail is dropped, not counted


def live(version: str, commit: str, color: str, warm: dict | None = None) -> dict:
    return {"version": version, "commit": commit, "color": color, "serving": [color], "warm": warm or {}}


def test_the_recorded_live_release_is_the_newest_record_that_says_what_serves() -> None:
    records = [
        {"kind": "deploy", "outcome": "success", "live": live("v1", V1, "blue")},
        {"kind": "deploy", "outcome": "success", "live": live("v2", V2, "green", {"color": "blue", "version": "v1",
                                                                                   "commit": V1})},
        {"kind": "promote", "outcome": "success"},
        {"kind": "deploy", "outcome": "interrupted", "version": "v3", "live": live("v2", V2, "green")},
    ]
    assert recorded_live(records, COLORS) == Live("v2", V2, "green", ("green",))
    assert recorded_live(records[:2], COLORS).warm_commit == V1


def test_a_failed_first_deploy_records_that_nothing_serves() -> None:
    records = [{"kind": "deploy", "outcome": "failed", "live": {}}]
    assert recorded_live(records, COLORS) is None


def test_records_of_the_first_round_without_live_are_understood() -> None:
    records = [
        {"kind": "deploy", "outcome": "success", "version": "v2", "commit": V2, "color": "green", "strategy": "canary",
         "previous_version": "v1", "previous_commit": V1},
        {"kind": "deploy", "outcome": "failed", "version": "v3", "commit": "c" * 40, "color": "blue"},
    ]
    assert recorded_live(records, COLORS) == Live("v2", V2, "green", ("green",), "blue", "v1", V1)
    rolling = [{**records[0], "strategy": "rolling"}]
    assert recorded_live(rolling, COLORS) == Live("v2", V2, "green", ("blue", "green"))


def rotating(monkeypatch, rotate: int = 30000, keep: int = 5000) -> None:
    monkeypatch.setattr(history, "ROTATE_BYTES", rotate)
    monkeypatch.setattr(history, "KEEP_BYTES", keep)


def test_a_big_history_is_rotated_and_keeps_its_newest_records_and_what_serves(tmp_path: Path, monkeypatch) -> None:
    rotating(monkeypatch)
    path = str(tmp_path / "history.jsonl")
    append(path, {"kind": "deploy", "version": "v1", "commit": "a" * 40,
                  "live": {"version": "v1", "commit": "a" * 40, "color": "blue", "serving": ["blue"], "warm": {}}})
    for number in range(100):
        append(path, {"kind": "backup", "version": f"b{number}"})
    # A record is about 400 bytes: one rotation, at about 75 records.
    assert os.path.getsize(path) <= 30000
    kept = read(path).records
    assert kept[-1]["version"] == "b99" and kept[0]["version"] == "v1"  # what serves, carried over
    assert recorded_live(kept, ["blue", "green"]).commit == "a" * 40
    archived = read(path + ".1").records
    assert archived and archived[-1]["version"] != "b99"
    versions = {r["version"] for r in archived} | {r["version"] for r in kept}
    assert versions == {"v1", *(f"b{n}" for n in range(100))}, "a record was lost between the two files"


def _append_forever(path: str) -> None:
    history.ROTATE_BYTES, history.KEEP_BYTES = 3000, 800
    number = 0
    while True:
        append(path, {"kind": "backup", "version": f"b{number}"})
        number += 1


def test_a_writer_killed_anywhere_leaves_a_readable_history_that_still_says_what_serves(tmp_path: Path) -> None:
    import multiprocessing
    import signal
    import time

    path = str(tmp_path / "history.jsonl")
    append(path, {"kind": "deploy", "version": "v1", "commit": "a" * 40,
                  "live": {"version": "v1", "commit": "a" * 40, "color": "blue", "serving": ["blue"], "warm": {}}})
    context = multiprocessing.get_context("fork")
    for attempt in range(30):
        writer = context.Process(target=_append_forever, args=(path,))
        writer.start()
        time.sleep(0.005 + (attempt % 7) * 0.004)
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        reading = read(path)
        assert recorded_live(reading.records, ["blue", "green"]).commit == "a" * 40, f"attempt {attempt}"
    assert os.path.exists(path + ".1"), "the writers never rotated: the test killed nothing that matters"
