"""greenlight adopt's pure half (plugins/module_utils/adopt.py): the state file read as data,
the compose containers that become the live color, the nftables table (checked by the real
`nft -c`), the connections that still reach the compose containers directly, and the command's
arguments. The whole road, on a real docker-compose app under load from this machine and from
a network namespace, is tests/e2e/test_compose_adopt.py."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from greenlight.commands import adopt
from greenlight.pipeline import ExitCode, UsageError
from plugins.module_utils.docker_api import Container
from plugins.module_utils.adopt import (AdoptError, compose_containers, direct_connections, read_state, render_table,
                                        table_name)

from .test_pipeline import FakeRunner, ok, pipeline

COLORS = ["blue", "green"]
STATE = {"project": "shop", "containers": {"frontend": "shop_frontend_1", "backend": "shop-backend-1"},
         "color": "blue", "stage": "serving"}


def test_the_state_file_reads_as_data() -> None:
    assert read_state("/s", json.dumps(STATE), COLORS) == STATE
    assert read_state("/s", "", COLORS) == {}
    assert read_state("/s", json.dumps({**STATE, "color": "", "stage": "finishing"}), COLORS)["stage"] == "finishing"


@pytest.mark.parametrize("text", [
    "{not json",
    json.dumps([STATE]),
    json.dumps({**STATE, "extra": 1}),
    json.dumps({k: v for k, v in STATE.items() if k != "stage"}),
    json.dumps({**STATE, "color": "red"}),
    json.dumps({**STATE, "stage": "done"}),
    json.dumps({**STATE, "project": "Shop; rm -rf /"}),
    json.dumps({**STATE, "containers": {}}),
    json.dumps({**STATE, "containers": {"frontend": "x;nft flush ruleset"}}),
    json.dumps({**STATE, "containers": {"{{ lookup('pipe', 'id') }}": "shop_frontend_1"}}),
])
def test_a_damaged_or_hostile_state_file_is_refused(text: str) -> None:
    with pytest.raises(AdoptError, match="/s is damaged"):
        read_state("/s", text, COLORS)


def listed(name: str, project: str, service: str, state: str = "running") -> Container:
    return Container(name, state, labels={"com.docker.compose.project": project, "com.docker.compose.service": service})


def test_each_web_part_is_its_compose_services_one_running_container() -> None:
    oneoff = listed("shop_frontend_run_1", "shop", "frontend")
    oneoff.labels["com.docker.compose.oneoff"] = "True"
    impostor = listed("other-production-frontend-blue", "shop", "frontend")
    impostor.labels["greenlight.app"] = "other"  # an image's labels reach its containers
    containers = [oneoff, impostor, listed("shop_frontend_1", "shop", "frontend"), listed("shop_backend_1", "shop", "backend"),
                  listed("other_frontend_1", "other", "frontend"), listed("shop_frontend_old", "shop", "frontend", "exited"),
                  listed("shop_api_1", "shop", "api")]
    assert compose_containers("shop", ["frontend", "backend"], {}, containers) == {
        "frontend": "shop_frontend_1", "backend": "shop_backend_1"}
    assert compose_containers("shop", ["frontend", "backend"], {"backend": "api"}, containers)["backend"] == "shop_api_1"


@pytest.mark.parametrize(("project", "services", "containers", "said"), [
    ("shop", {}, [listed("shop_frontend_1", "shop", "frontend")], r"no running containers of service backend \(name another"),
    ("shop", {}, [listed("a", "shop", "frontend"), listed("b", "shop", "frontend"), listed("c", "shop", "backend")],
     r"2 running containers of service frontend \(a, b\): greenlight takes over one per part"),
    ("shop", {"worker": "x"}, [], r"--service worker=...: no web part of that name"),
    ("Shop Co", {}, [], "lowercase letters, digits"),
])
def test_a_part_without_exactly_one_running_container_is_refused(project, services, containers, said) -> None:
    with pytest.raises(AdoptError, match=said):
        compose_containers(project, ["frontend", "backend"], services, containers)


def test_the_table_is_the_environments_own_and_carries_only_local_destinations() -> None:
    assert table_name("shop-production") == "greenlight_adopt_shop_production"
    script = render_table("greenlight_adopt_shop_production", "172.18.0.5", {80: 8080, 443: 8443}, {5000: 5000})
    prerouting, output = script.split("chain prerouting")[1].split("chain output")
    assert "type nat hook prerouting priority -110;" in prerouting and "type nat hook output priority -110;" in output
    assert prerouting.count("dnat to") == 2 and output.count("dnat to") == 3
    assert "fib daddr type local tcp dport 80 dnat to 172.18.0.5:8080" in prerouting
    assert "dport 5000" not in prerouting
    # The API port from this machine to 127.0.0.1 only, where greenlight publishes it.
    assert "ip daddr 127.0.0.1 tcp dport 5000 dnat to 172.18.0.5:5000" in output
    # One transaction that replaces the table whether or not it exists.
    assert script.startswith("table ip greenlight_adopt_shop_production\ndelete table ip greenlight_adopt_shop_production\n")


def test_a_proxy_bound_to_one_address_is_reached_there_only() -> None:
    """proxy_bind_address 127.0.0.1 (a private staging): users never reach it through the table."""
    private = render_table("greenlight_adopt_x", "172.18.0.5", {8080: 8080}, {5001: 5000}, "127.0.0.1")
    prerouting, output = private.split("chain prerouting")[1].split("chain output")
    assert "dnat" not in prerouting and "ip daddr 127.0.0.1 tcp dport 8080 dnat to 172.18.0.5:8080" in output
    one = render_table("greenlight_adopt_x", "172.18.0.5", {80: 8080}, {}, "203.0.113.7")
    assert one.count("ip daddr 203.0.113.7 tcp dport 80 dnat to 172.18.0.5:8080") == 2 and "fib" not in one


def test_nft_accepts_the_table_it_is_given() -> None:
    nft = shutil.which("nft") or "/usr/sbin/nft"
    for bind in ("0.0.0.0", "127.0.0.1", "203.0.113.7"):
        script = render_table("greenlight_adopt_unit_check", "172.18.0.5", {18080: 8080}, {15000: 5000}, bind)
        done = subprocess.run([nft, "-c", "-f", "-"], input=script, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("name", "address", "public"), [
    ("greenlight_adopt_x", "172.18.0.5; flush ruleset", {80: 8080}),
    ("greenlight_adopt_x", "::1", {80: 8080}),
    ("greenlight_adopt_x", "172.18.0.5", {0: 8080}),
    ("greenlight_adopt_x", "172.18.0.5", {80: 70000}),
    ("greenlight_adopt_x", "172.18.0.5", {"80 drop": 8080}),
    ("filter", "172.18.0.5", {80: 8080}),
    ("greenlight_adopt_x }\nflush ruleset", "172.18.0.5", {80: 8080}),
])
def test_an_address_port_or_table_that_is_not_one_is_refused(name, address, public) -> None:
    with pytest.raises((AdoptError, ValueError)):
        render_table(name, address, public, {})


# /proc/net/tcp as the kernel writes it (addresses in host byte order, little-endian here) in a
# compose frontend published on 8080, on its compose network 172.19.0.0/16 (gateway 172.19.0.1)
# and the adopt network 172.30.0.0/16: listening on 0.0.0.0:8080; a user at 10.0.0.7 (direct);
# greenlight's proxy at 172.30.0.5; this machine through Docker's NAT (from the gateway); a
# sibling compose service at 172.19.0.9; its own connection out to a database at 172.19.0.2:3306;
# a user's connection closing (TIME_WAIT).
TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1
   1: 040013AC:1F90 0700000A:C350 01 00000000:00000000 00:00000000 00000000  1000        0 2 1
   2: 040013AC:1F90 05001EAC:D431 01 00000000:00000000 00:00000000 00000000  1000        0 3 1
   3: 040013AC:1F90 010013AC:D432 01 00000000:00000000 00:00000000 00000000  1000        0 3 1
   4: 040013AC:1F90 090013AC:D433 01 00000000:00000000 00:00000000 00000000  1000        0 3 1
   5: 040013AC:9C40 020013AC:0CEA 01 00000000:00000000 00:00000000 00000000  1000        0 4 1
   6: 040013AC:1F90 0800000A:C351 06 00000000:00000000 00:00000000 00000000  1000        0 5 1
"""
# tcp6: published 5000, a user at ::ffff:10.0.0.9 (IPv4-mapped), one at fd00::1.
TCP6 = """  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 0000000000000000FFFF0000040013AC:1388 0000000000000000FFFF00000900000A:C352 01 00000000:00000000
   2: 0000000000000000FFFF0000040013AC:1388 000000FD000000000000000001000000:C353 01 00000000:00000000
"""
NETWORKS, GATEWAYS = ["172.19.0.4/16", "172.30.0.3/16"], ["172.19.0.1"]


def test_the_connections_that_still_reach_a_compose_container_through_its_published_ports_are_counted() -> None:
    # The user's and this machine's; not the proxy's, a sibling's, its own outgoing one, a closing one.
    assert direct_connections([TCP], [8080], NETWORKS, GATEWAYS) == 2
    assert direct_connections([TCP], [8080], NETWORKS + ["10.0.0.0/8"], []) == 0
    assert direct_connections([TCP], [5000], NETWORKS, GATEWAYS) == 0  # not a published port
    assert direct_connections([TCP, TCP6], [8080, 5000], NETWORKS, GATEWAYS) == 4
    assert direct_connections([TCP6], [5000], ["10.0.0.0/8"], []) == 1  # the mapped address is 10.0.0.9
    assert direct_connections([], [8080], NETWORKS, GATEWAYS) == 0


def test_adopt_names_the_compose_project_and_parts_services() -> None:
    runner = FakeRunner({("adopt.yml", "production"): ok("adopt.yml", "production", {"greenlight_adopt": {
        "containers": {"frontend": "shop_frontend_1"}, "color": "blue", "ports": [80]}})})
    args = adopt_args(["production", "--project", "shop", "--service", "backend=api"])
    outcome = adopt.run(args, pipeline(runner))
    assert outcome.code == ExitCode.OK and runner.calls[0][:2] == ("adopt.yml", "production")
    assert runner.calls[0][2] | {"greenlight_actor": ""} == {"adopt_project": "shop", "adopt_services": {"backend": "api"},
                                                            "greenlight_actor": ""}
    assert "serves shop's containers (frontend shop_frontend_1) as blue, on port 80" in outcome.message


def test_finish_says_how_many_connections_it_cut() -> None:
    stats = {"greenlight_adopt": {"stopped": {"frontend": "shop_frontend_1"}, "ports": [80, 443, 5000],
                                  "drained": {"seconds": 60, "left": 2}}}
    runner = FakeRunner({("adopt.yml", "production"): ok("adopt.yml", "production", stats)})
    outcome = adopt.run(adopt_args(["production", "--finish"]), pipeline(runner))
    assert runner.calls[0][2] | {"greenlight_actor": ""} == {"adopt_finish": True, "greenlight_actor": ""}
    assert "holds ports 80, 443, 5000" in outcome.message
    assert "2 client connection(s) from before the ports moved were still open after 60 s and were cut" in outcome.message


@pytest.mark.parametrize(("argv", "said"), [
    (["production", "--project", "Shop Co"], "--project 'Shop Co'"),
    (["production"], "--project ''"),
    (["production", "--project", "shop", "--service", "backend"], "PART=SERVICE"),
    (["production", "--project", "shop", "--service", "x=y;z"], "PART=SERVICE"),
    (["production", "--finish", "--project", "shop"], "takes no --project"),
])
def test_bad_arguments_are_refused_before_anything_runs(argv, said) -> None:
    runner = FakeRunner()
    with pytest.raises(UsageError, match=said.replace("(", r"\(")):
        adopt.run(adopt_args(argv), pipeline(runner))
    assert runner.calls == []


def adopt_args(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser()
    adopt.arguments(parser)
    return parser.parse_args(argv)
