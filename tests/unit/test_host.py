"""Where logs and exec run: the command line for the host, and which containers a part means."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from greenlight import host
from greenlight.cli import parse_args, run_command
from greenlight.host import Container, Environment, Host, HostError
from greenlight.pipeline import UsageError


def test_a_local_host_runs_the_command_as_it_is() -> None:
    assert Host(connection="local").argv(["docker", "ps"]) == ["docker", "ps"]


def test_an_ssh_host_runs_it_as_ansible_reaches_the_host_under_sudo_when_it_becomes_root() -> None:
    vps = Host.from_report({"connection": "ssh", "address": "203.0.113.7", "port": 2222, "user": "deploy",
                            "key": "/root/.ssh/id", "become": True,
                            "ssh_args": "-o UserKnownHostsFile=/k -o StrictHostKeyChecking=yes"})
    assert vps.argv(["docker", "logs", "a b"], terminal=True) == [
        "ssh", "-t", "-o", "BatchMode=yes", "-p", "2222", "-i", "/root/.ssh/id",
        "-o", "UserKnownHostsFile=/k", "-o", "StrictHostKeyChecking=yes", "deploy@203.0.113.7",
        "--", "sudo -n -- docker logs 'a b'"]


def environment(*containers: Container) -> Environment:
    found = Environment("shop", "staging", Host(), live_color="green", idle_color="blue")
    found.containers = list(containers)
    return found


PARTS = [Container("shop-staging-proxy", "proxy", "", True), Container("shop-staging-mysql", "mysql", "", True),
         Container("shop-staging-backend-blue", "backend", "blue", True),
         Container("shop-staging-backend-green", "backend", "green", True)]


@pytest.mark.parametrize(("part", "color", "names"), [
    ("backend", "live", ["shop-staging-backend-green"]),
    ("backend", "idle", ["shop-staging-backend-blue"]),
    ("backend", "blue", ["shop-staging-backend-blue"]),
    ("proxy", "blue", ["shop-staging-proxy"]),
    ("", "live", ["shop-staging-backend-green", "shop-staging-mysql", "shop-staging-proxy"]),
])
def test_a_part_means_its_container_of_the_color(part: str, color: str, names: list[str]) -> None:
    assert [c.name for c in environment(*PARTS).select(part, color)] == names


def test_an_unknown_part_names_the_parts_there_are() -> None:
    with pytest.raises(HostError, match="no worker container; its parts: backend, mysql, proxy"):
        environment(*PARTS).select("worker")


def test_containers_are_listed_by_label_on_the_host() -> None:
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "shop-staging-proxy\tproxy\t\trunning\n"
                                                    "shop-staging-backend-blue\tbackend\tblue\texited\n", "")

    found = environment().list_containers(run=run)
    assert found == [Container("shop-staging-proxy", "proxy", "", True),
                     Container("shop-staging-backend-blue", "backend", "blue", False)]
    assert "label=greenlight.app=shop" in calls[0] and "label=greenlight.env=staging" in calls[0]


@pytest.mark.parametrize("argv", [
    ["logs", "staging", "--since", "yesterday"],
    ["logs", "staging", "--tail", "-5"],
    ["exec", "staging", "backend", "--user", "root; rm", "--", "id"],
    ["exec", "staging", "backend", "--user", "-1", "--", "id"],
    ["exec", "staging", "backend"],
    ["exec", "staging", "backend", "--"],
])
def test_bad_logs_and_exec_command_lines_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        run_command(parse_args(argv), pipeline=None)  # type: ignore[arg-type]


def test_exec_takes_the_command_after_the_double_dash() -> None:
    args = parse_args(["exec", "production", "backend", "--color", "idle", "--", "ls", "-la", "--color", "/"])
    assert args.argv == ["ls", "-la", "--color", "/"] and args.color == "idle"


class PrintingHost(host.Host):
    """A host whose `docker logs NAME` prints the lines given for NAME (docker's stamped form)."""

    printed: dict = {}

    def argv(self, command: list[str], terminal: bool = False) -> list[str]:
        text = "".join(f"{stamp} {line}\n" for stamp, line in self.printed[command[-1]])
        return [sys.executable, "-c", f"import sys; sys.stdout.write({text!r})"]


def test_logs_of_several_parts_are_merged_in_time_order_each_line_after_its_part() -> None:
    PrintingHost.printed = {
        "e2e-staging-backend-blue": [("2026-11-29T01:00:00.000000001Z", "b1"), ("2026-11-29T01:00:02.000000000Z", "b2")],
        "e2e-staging-mysql": [("2026-11-29T01:00:01.000000000Z", "m1"), ("2026-11-29T01:00:03.500000000Z", "m2")],
    }
    environment = host.Environment("e2e", "staging", PrintingHost(), live_color="blue")
    containers = [host.Container("e2e-staging-backend-blue", "backend", "blue", True),
                  host.Container("e2e-staging-mysql", "mysql", "", True)]
    out = io.StringIO()
    assert host.logs(environment, containers, out=out) == 0
    assert [line.split(" | ")[0].strip() + " " + line.rsplit(" ", 1)[1] for line in out.getvalue().splitlines()] == [
        "backend-blue b1", "mysql m1", "backend-blue b2", "mysql m2"]
