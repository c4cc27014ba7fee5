"""greenlight's own images run by the ID first seen or built, never by a tag someone moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.image_pins import decide, load, save

PROXY = "greenlight/haproxy:c72489616b07"


def test_a_tag_is_pinned_the_first_time_and_a_moved_one_is_refused() -> None:
    pins, problems = decide({}, {PROXY: "sha256:aaa"}, [])
    assert pins == {PROXY: "sha256:aaa"} and problems == []
    assert decide(pins, {PROXY: "sha256:aaa"}, []) == (pins, [])
    moved, problems = decide(pins, {PROXY: "sha256:bbb"}, [])
    assert moved == pins and len(problems) == 1
    assert "greenlight/haproxy:c72489616b07 is now bbb, not the aaa" in problems[0] and "docker rmi" in problems[0]


def test_a_tag_this_run_built_again_is_pinned_to_its_new_id() -> None:
    assert decide({PROXY: "sha256:aaa"}, {PROXY: "sha256:ccc"}, [PROXY]) == ({PROXY: "sha256:ccc"}, [])


def test_a_missing_image_is_a_problem_not_a_pin() -> None:
    pins, problems = decide({}, {PROXY: ""}, [])
    assert pins == {} and "not on the host" in problems[0]


def test_the_pins_file_round_trips_and_a_damaged_one_says_what_to_do(tmp_path: Path) -> None:
    path = str(tmp_path / "image-pins.json")
    assert load(path) == {}
    save(path, {PROXY: "sha256:aaa"})
    assert load(path) == {PROXY: "sha256:aaa"} and (tmp_path / "image-pins.json").stat().st_mode & 0o777 == 0o600
    (tmp_path / "image-pins.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="remove it"):
        load(path)
