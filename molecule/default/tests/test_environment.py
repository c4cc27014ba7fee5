"""What every converged environment must show: each test runs for staging and for production."""

from __future__ import annotations

import re

import pytest
import requests
from greenlight_fixtures import load_settings

# (part, container port, extra var of the host port): published on 127.0.0.1 only.
LOOPBACK_PORTS = [
    ("mysql", "3306/tcp", "mysql_port"),
    ("proxy", "5000/tcp", "proxy_api_port"),
    ("proxy", "9000/tcp", "proxy_preview_port"),
    ("proxy", "8404/tcp", "proxy_metrics_port"),
]


def test_database_and_proxy_run(env_vars, inspect):
    for part in ("mysql", "proxy"):
        state = inspect(f"{env_vars['greenlight_prefix']}-{part}")["State"]
        assert state["Running"], f"{part} is not running"
    mysql = inspect(f"{env_vars['greenlight_prefix']}-mysql")
    assert mysql["State"]["Health"]["Status"] == "healthy"


def test_live_color_runs_the_release(env_vars, inspect, live_color):
    for part in ("backend", "frontend"):
        container = inspect(f"{env_vars['greenlight_prefix']}-{part}-{live_color}")
        assert container["State"]["Running"], f"{part}-{live_color} is not running"
        assert container["State"]["Health"]["Status"] == "healthy"
        assert container["Config"]["Labels"]["greenlight.version"] == "v1"
        assert container["Config"]["Labels"]["greenlight.env"] == env_vars["greenlight_env"]


def test_containers_share_only_their_environment_network(env_vars, inspect, live_color):
    network = f"{env_vars['greenlight_prefix']}-net"
    for part in ("mysql", "proxy", f"backend-{live_color}", f"frontend-{live_color}"):
        networks = inspect(f"{env_vars['greenlight_prefix']}-{part}")["NetworkSettings"]["Networks"]
        assert list(networks) == [network], f"{part} is on {list(networks)}"


@pytest.mark.parametrize(("part", "container_port", "port_var"), LOOPBACK_PORTS)
def test_private_port_is_published_on_loopback_only(host, env_vars, inspect, part, container_port, port_var):
    port = env_vars[port_var]
    container = f"{env_vars['greenlight_prefix']}-{part}"

    bindings = inspect(container)["HostConfig"]["PortBindings"][container_port]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert host.check_output("docker port %s %s", container, container_port).split() == [f"127.0.0.1:{port}"]

    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening
    assert not host.socket(f"tcp://:::{port}").is_listening
    listeners = host.check_output("ss -Hltn sport = :%s", str(port)).splitlines()
    local_addresses = {line.split()[3] for line in listeners}
    assert local_addresses == {f"127.0.0.1:{port}"}


def test_public_http_port_answers(host, env_vars):
    port = env_vars["proxy_http_port"]
    assert host.socket(f"tcp://0.0.0.0:{port}").is_listening
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200


def test_app_answers_through_the_proxy_with_the_release(env_vars):
    base = f"http://127.0.0.1:{env_vars['proxy_http_port']}"

    version = requests.get(f"{base}/api/version", timeout=10)
    assert version.status_code == 200
    assert version.json() == {"version": "v1"}

    page = requests.get(f"{base}/", timeout=10)
    assert page.status_code == 200
    assert re.search(r'<meta name="frontend-version" content="v1">', page.text)


MEBIBYTE = {"m": 1024**2, "g": 1024**3}


def test_every_part_runs_within_its_inventory_limits(env, env_vars, inspect, live_color):
    """Each part's CPU and memory limits, and its CPU weight, are the inventory's (staging
    lower than production, and weighted below it)."""
    settings = load_settings(env)
    # greenlight's own parts take <part>_cpus and <part>_memory; the app's, each app_parts entry's.
    wanted = {"mysql": (settings["mysql_cpus"], settings["mysql_memory"]),
              "proxy": (settings["proxy_cpus"], settings["proxy_memory"])}
    for part in settings["app_parts"]:
        wanted[f"{part['name']}-{live_color}"] = (part["cpus"], part["memory"])
    assert len(wanted) == 4
    for container, (cpus, memory) in wanted.items():
        limits = inspect(f"{env_vars['greenlight_prefix']}-{container}")["HostConfig"]
        memory = str(memory)
        assert limits["NanoCpus"] == int(float(cpus) * 1e9), container
        assert limits["Memory"] == int(memory[:-1]) * MEBIBYTE[memory[-1]], container
        assert limits["MemorySwap"] == limits["Memory"], f"{container} may swap"
        assert limits["CpuShares"] == settings["greenlight_cpu_shares"], container
