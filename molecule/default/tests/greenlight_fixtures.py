"""Fixtures of the Molecule scenario's testinfra tests, loaded through PYTEST_PLUGINS (see
the verifier section of molecule.yml).

Everything runs on this machine, so the host is local://. The scenario converges both
environments: a test that takes `env` runs once for each, unless its module names one
(`pytest.mark.parametrize("env", [...], indirect=True)`)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import testinfra
import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
# The scenario's extra vars (molecule/default/vars), beside this folder.
VARS = Path(__file__).resolve().parents[1] / "vars"
ENVIRONMENTS = ("staging", "production")


def load_env_vars(env: str) -> dict[str, Any]:
    """The extra vars a scenario passes to the deploy: the common ones and env's ports."""
    merged: dict[str, Any] = {}
    for name in ("common.yml", f"{env}.yml"):
        merged.update(yaml.safe_load((VARS / name).read_text()))
    merged["greenlight_env"] = env
    merged["greenlight_prefix"] = f"{merged['greenlight_app']}-{env}"
    return merged


def load_settings(env: str) -> dict[str, Any]:
    """The roles' defaults under the environment's inventory settings, as the deploy sees
    them (the scenario's extra vars set no limit)."""
    merged: dict[str, Any] = {}
    for defaults in sorted((PROJECT / "roles").glob("*/defaults/main.yml")):
        merged.update(yaml.safe_load(defaults.read_text()) or {})
    merged.update(yaml.safe_load((PROJECT / "inventories" / env / "group_vars" / "all" / "main.yml").read_text()))
    return merged


def load_vault(env: str) -> dict[str, str]:
    """The environment's decrypted vault, read the way the deploy reads it."""
    out = subprocess.run(
        [
            "ansible-vault", "view",
            "--vault-password-file", str(PROJECT / ".greenlight/demo-vault-password"),
            str(PROJECT / "inventories" / env / "group_vars" / "all" / "vault.yml"),
        ],
        check=True, capture_output=True, text=True,
    ).stdout
    return yaml.safe_load(out)


@pytest.fixture(scope="session")
def host() -> testinfra.host.Host:
    return testinfra.get_host("local://")


@pytest.fixture(params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def env_vars(env: str) -> dict[str, Any]:
    return load_env_vars(env)


@pytest.fixture(scope="session")
def inspect(host: testinfra.host.Host) -> Callable[[str], dict[str, Any]]:
    """docker inspect of one container (or network) by exact name."""

    def _inspect(name: str) -> dict[str, Any]:
        return json.loads(host.check_output("docker inspect %s", name))[0]

    return _inspect


@pytest.fixture
def live_color(env_vars: dict[str, Any], host: testinfra.host.Host) -> str:
    """The color the deploy switched traffic to, as it saved it for the proxy's next start."""
    saved = host.file(f"{env_vars['greenlight_root']}/{env_vars['greenlight_prefix']}/proxy/live-color")
    assert saved.exists, "the deploy never switched traffic to a color"
    color = saved.content_string.strip()
    assert color in ("blue", "green")
    return color
