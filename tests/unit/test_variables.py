"""An environment's settings as Ansible resolves them for the command (greenlight/variables.py):
Ansible's precedence and templating, the extra variables as data, a vault opened in memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenlight.variables import MARKER

PROJECT = Path(__file__).resolve().parents[2]


HOSTS = "all:\n  hosts:\n    vps:\n      ansible_host: 203.0.113.7\n"


def read(inventory: Path, password: Path, extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "greenlight.variables", str(inventory)], input=json.dumps(extra or {}),
                          capture_output=True, text=True, timeout=120, cwd=PROJECT,
                          env={**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"),
                               "ANSIBLE_VAULT_PASSWORD_FILE": str(password)})


def resolved(tmp_path: Path, main: dict, extra: dict | None = None, vault: str = "",
             hosts: str = HOSTS) -> subprocess.CompletedProcess:
    inventory = tmp_path / "staging"
    (inventory / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (inventory / "hosts.yml").write_text(hosts)
    (inventory / "group_vars" / "all" / "main.yml").write_text(json.dumps(main))
    password = tmp_path / "vault-password"
    password.write_text("unit-test-vault-password\n")
    if vault:
        plain = inventory / "group_vars" / "all" / "vault.yml"
        plain.write_text(vault)
        subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "encrypt", str(plain)], check=True,
                       capture_output=True, env={**os.environ, "ANSIBLE_VAULT_PASSWORD_FILE": str(password)})
    return read(inventory, password, extra)


def settings_of(done: subprocess.CompletedProcess) -> dict:
    _, marker, after = done.stdout.partition(MARKER + "\n")
    assert marker, done.stdout
    return json.loads(after)


def test_role_defaults_the_inventory_and_extra_variables_in_ansibles_order_templated_by_ansible(tmp_path: Path) -> None:
    done = resolved(tmp_path, {"greenlight_app": "shop", "greenlight_env": "staging", "proxy_http_port": 8080,
                               "greenlight_notify_smtp_password": "{{ vault_smtp_password }}"},
                    {"greenlight_app": "other"}, vault="vault_smtp_password: s3cret-in-vault\n")
    assert done.returncode == 0, done.stderr
    found = settings_of(done)
    # The role's default greenlight_prefix ("{{ greenlight_app }}-{{ greenlight_env }}") follows -e.
    assert (found["greenlight_prefix"], found["greenlight_network"]) == ("other-staging", "other-staging-net")
    assert found["proxy_http_port"] == 8080 and found["proxy_https_port"] == 443  # inventory, then role default
    assert found["greenlight_notify_smtp_password"] == "s3cret-in-vault"  # the vault, opened in memory
    assert found["ansible_host"] == "203.0.113.7"


def test_a_host_with_no_ansible_host_is_reached_by_its_inventory_name(tmp_path: Path) -> None:
    done = resolved(tmp_path, {"greenlight_app": "shop", "greenlight_env": "staging"},
                    hosts="all:\n  hosts:\n    vps.example.com:\n      ansible_user: deploy\n")
    assert done.returncode == 0, done.stderr
    assert settings_of(done)["ansible_host"] == "vps.example.com"


def test_extra_variables_are_data_never_templated(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = f"{{{{ lookup('ansible.builtin.pipe', 'touch {marker}') }}}}"
    done = resolved(tmp_path, {"greenlight_app": "shop", "greenlight_env": "staging"}, {"greenlight_app": hostile})
    assert done.returncode == 0, done.stderr
    assert settings_of(done)["greenlight_app"] == hostile
    assert not marker.exists()


def test_a_value_that_needs_the_host_is_left_out_and_a_wrong_vault_password_is_one_error(tmp_path: Path) -> None:
    done = resolved(tmp_path, {"greenlight_app": "shop", "greenlight_env": "staging",
                               "greenlight_docker_socket": "{{ ansible_facts.env.DOCKER_SOCKET }}"})
    assert done.returncode == 0, done.stderr
    assert "greenlight_docker_socket" not in settings_of(done)

    (tmp_path / "vault-password").write_text("another password\n")
    inventory = tmp_path / "staging"
    encrypted = inventory / "group_vars" / "all" / "vault.yml"
    subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "encrypt", "--output", str(encrypted), "-"],
                   input="vault_x: 1\n", text=True, check=True, capture_output=True,
                   env={**os.environ, "ANSIBLE_VAULT_PASSWORD_FILE": str(tmp_path / "vault-password")})
    (tmp_path / "vault-password").write_text("unit-test-vault-password\n")
    done = read(inventory, tmp_path / "vault-password")
    assert done.returncode == 1 and done.stdout == ""
    assert "Decryption failed" in done.stderr


@pytest.mark.parametrize("argv", [[], ["a", "b"]])
def test_it_takes_one_inventory(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "greenlight.variables", *argv], input="{}", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr
