"""The command line: options before or after the command, extra vars, and bad input's exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenlight.cli import build_parser, parse_extra_vars
from greenlight.pipeline import UsageError


@pytest.mark.parametrize("argv", [
    ["promote", "--latest", "--quiet"],
    ["--quiet", "promote", "--latest"],
])
def test_common_options_go_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.quiet and args.latest and args.command == "promote"


def test_extra_vars_from_both_sides_are_kept() -> None:
    args = build_parser().parse_args(["-e", "a=1", "deploy", "staging", "v2", "-e", "b=2"])
    assert args.extra_vars + args.extra_vars_after == ["a=1", "b=2"]
    assert parse_extra_vars(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}


def test_extra_vars_file(tmp_path: Path) -> None:
    path = tmp_path / "vars.yml"
    path.write_text("greenlight_app: e2e\nproxy_http_port: 18080\n")
    assert parse_extra_vars([f"@{path}"]) == {"greenlight_app": "e2e", "proxy_http_port": 18080}


@pytest.mark.parametrize("item", ["novalue", "@/nonexistent/vars.yml"])
def test_bad_extra_vars_are_usage_errors(item: str) -> None:
    with pytest.raises(UsageError):
        parse_extra_vars([item])


@pytest.mark.parametrize("argv", [["deploy", "qa", "v1"], ["promote"], ["promote", "v2", "--latest"], ["nope"]])
def test_malformed_command_lines_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
