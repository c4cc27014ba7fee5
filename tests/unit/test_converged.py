"""A part of an environment is skipped only when its inputs, its stamp and its containers say
it is as a run would leave it (plugins/module_utils/converged.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils import converged

from .helpers import run_tasks


RUNNING = {"Id": "c0ffee", "State": {"Running": True, "Health": {"Status": "healthy"}}, "Image": "sha256:aaa",
           "NetworkSettings": {"Networks": {"shop-production-net": {}}}}


PROXY = "shop-production-proxy"


@pytest.fixture
def docker(monkeypatch) -> dict:
    containers = {"shop-production-proxy": RUNNING}
    monkeypatch.setattr(converged.docker_api, "inspect_container", lambda socket, name: containers.get(name))
    return containers


def check(stamp: Path, inputs: dict, now: float = 1000.0, **extra) -> str:
    return converged.stale(str(stamp), inputs, [{"name": "shop-production-proxy", "tag": "greenlight/haproxy:c7",
                                                 "networks": ["shop-production-net"]}],
                           "/var/run/docker.sock", 86400, now=now, pins={"greenlight/haproxy:c7": "sha256:aaa"}, **extra)


def test_a_part_marked_with_the_same_inputs_and_sound_containers_is_current(tmp_path: Path, docker: dict) -> None:
    stamp, inputs = tmp_path / "converged" / "proxy.json", {"settings": "3f2a", "image": "greenlight/haproxy:c7"}
    assert check(stamp, inputs) == "never converged here"
    converged.mark(str(stamp), inputs, now=1000.0, containers=[PROXY])
    assert check(stamp, inputs) == ""
    assert stamp.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("change", "reason"), [
    (lambda d, i, f: i.update(settings="other"), "its settings or greenlight changed"),
    (lambda d, i, f: d.pop("shop-production-proxy"), "shop-production-proxy is missing"),
    (lambda d, i, f: d.update({"shop-production-proxy": {**RUNNING, "State": {"Running": False}}}), "is not running"),
    (lambda d, i, f: d.update({"shop-production-proxy": {**RUNNING, "State": {"Running": True, "Health": {"Status": "unhealthy"}}}}),
     "is not healthy"),
    (lambda d, i, f: d.update({"shop-production-proxy": {**RUNNING, "Image": "sha256:bbb"}}), "runs another image"),
    (lambda d, i, f: d.update({"shop-production-proxy": {**RUNNING, "NetworkSettings": {"Networks": {}}}}),
     "is not on shop-production-net"),
    (lambda d, i, f: d.update({"shop-production-proxy": {**RUNNING, "Id": "5ca1ab1e"}}),
     "shop-production-proxy was created again since the last full run"),
    (lambda d, i, f: f.write_text("a new certificate"), "its settings or greenlight changed"),
    (lambda d, i, f: f.unlink(), "its settings or greenlight changed"),
])
def test_any_change_of_an_input_a_file_or_a_container_runs_it_in_full(tmp_path: Path, docker: dict, change,
                                                                      reason: str) -> None:
    stamp, inputs, certificate = tmp_path / "proxy.json", {"settings": "3f2a"}, tmp_path / "site.pem"
    certificate.write_text("the certificate")
    converged.mark(str(stamp), inputs, now=1000.0, files=[str(certificate)], containers=[PROXY])
    assert check(stamp, inputs, files=[str(certificate)]) == ""
    assert not converged.inputs_changed(str(stamp), inputs, files=[str(certificate)])
    change(docker, inputs, certificate)
    assert reason in check(stamp, inputs, files=[str(certificate)])
    # A setting or a file changed is told apart from a container's state (a deploy of the
    # release already live rolls it out on the idle color for the former only).
    assert converged.inputs_changed(str(stamp), inputs, files=[str(certificate)]) == (
        reason == "its settings or greenlight changed")


def test_a_stamp_older_than_a_day_runs_it_in_full(tmp_path: Path, docker: dict) -> None:
    converged.mark(str(tmp_path / "proxy.json"), {}, now=1000.0, containers=[PROXY])
    assert check(tmp_path / "proxy.json", {}, now=1000.0 + 86401) == "its last full run is older than a day"
    assert not converged.inputs_changed(str(tmp_path / "proxy.json"), {})
    # No stamp: what made the part is unknown, as good as changed.
    assert converged.inputs_changed(str(tmp_path / "never.json"), {})


def test_a_role_file_changed_changes_its_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "main.yml").write_text("- name: one\n")
    before = converged.fingerprint(str(tmp_path))
    (tmp_path / "tasks" / "main.yml").write_text("- name: two\n")
    assert converged.fingerprint(str(tmp_path)) != before


def test_a_stamp_without_the_containers_ids_runs_it_in_full(tmp_path: Path, docker: dict) -> None:
    # A stamp that names no container ID (an older greenlight's) speaks for no container.
    converged.mark(str(tmp_path / "proxy.json"), {}, now=1000.0)
    assert check(tmp_path / "proxy.json", {}) == "shop-production-proxy was created again since the last full run"


def test_a_container_that_cannot_be_read_when_marking_leaves_no_stamp(tmp_path: Path, docker: dict) -> None:
    stamp = tmp_path / "proxy.json"
    converged.mark(str(stamp), {}, now=1000.0, containers=[PROXY])
    assert stamp.exists()
    docker.pop(PROXY)
    converged.mark(str(stamp), {}, now=1000.0, containers=[PROXY])
    assert not stamp.exists()


@pytest.mark.parametrize("at", ["soon", None, 99999.0])
def test_a_stamp_with_a_bad_or_future_time_runs_it_in_full(tmp_path: Path, docker: dict, at) -> None:
    stamp = tmp_path / "proxy.json"
    converged.mark(str(stamp), {}, now=1000.0, containers=[PROXY])
    recorded = json.loads(stamp.read_text())
    stamp.write_text(json.dumps({**recorded, "at": at}))
    assert check(stamp, {}) in ("its stamp cannot be read", "its last full run is older than a day")


def run_check(tmp_path: Path, stamp: Path, *args: str) -> subprocess.CompletedProcess:
    """greenlight.deploy.converged, checked, in a real playbook (no container: only the inputs count)."""
    return run_tasks(tmp_path, [
        {"greenlight.deploy.converged": {"stamp": str(stamp), "inputs": {"settings": "new"}}, "register": "found"},
        {"ansible.builtin.assert": {"that": ["not found.current"]}}], *args)


def test_the_module_forgets_a_stamp_it_finds_out_of_date(tmp_path: Path) -> None:
    # A full run that then fails leaves no stamp that a later run with the old settings could match.
    stamp = tmp_path / "converged" / "proxy.json"
    converged.mark(str(stamp), {"settings": "old"}, now=1000.0)
    in_check_mode = run_check(tmp_path, stamp, "--check")
    assert in_check_mode.returncode == 0, in_check_mode.stdout + in_check_mode.stderr
    assert stamp.exists(), "check mode changed nothing"
    done = run_check(tmp_path, stamp)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not stamp.exists()
