"""The runtime API client's parsing and its weight decisions, on answers captured from HAProxy 2.6."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils import haproxy_runtime as runtime

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def servers() -> dict:
    state = runtime.parse_servers_state((FIXTURES / "show_servers_state.txt").read_text())
    stat = runtime.parse_stat((FIXTURES / "show_stat.csv").read_text())
    for backend, entries in state.items():
        for name, info in entries.items():
            info.update(stat[backend][name])
    return state


def test_parses_weights_of_every_backend(servers: dict) -> None:
    assert set(servers) == {"api", "web", "preview_api", "preview_web"}
    assert servers["api"]["green"]["weight"] == 100
    assert servers["api"]["blue"]["weight"] == 0
    assert servers["preview_api"]["blue"]["weight"] == 100


def test_parses_health_and_strips_the_running_check_marker(servers: dict) -> None:
    assert servers["api"]["green"]["status"] == "UP"
    # The capture has "* L7OK" for this server: a check was in progress.
    assert servers["api"]["green"]["check_status"] == "L7OK"
    assert isinstance(servers["api"]["blue"]["stot"], int)


def test_unexpected_answer_is_an_error() -> None:
    with pytest.raises(runtime.HAProxyError):
        runtime.parse_servers_state("Unknown command.\n")


def test_unreachable_socket_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(runtime.HAProxyError, match="cannot talk to HAProxy"):
        runtime.send(str(tmp_path / "missing.sock"), ["show info"])


def test_parse_map_reads_the_keys_and_values() -> None:
    assert runtime.parse_map("0x5609bae91b90 canary off\n\n") == {"canary": "off"}


def test_parse_map_refuses_an_error_answer() -> None:
    with pytest.raises(runtime.HAProxyError):
        runtime.parse_map("Unknown map identifier. Please use #<id> or <file>.\n")
