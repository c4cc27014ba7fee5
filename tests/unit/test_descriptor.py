"""The settings a command goes without a playbook on: the last playbook's, until something changes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from greenlight import descriptor, fast

DESCRIBED = {"app": "shop", "env": "production", "local": True, "history": "/x/history.jsonl"}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    state, inventories, project = tmp_path / "state", tmp_path / "inventories", tmp_path / "project"
    (inventories / "production" / "group_vars" / "all").mkdir(parents=True)
    (inventories / "production" / "group_vars" / "all" / "main.yml").write_text("proxy_http_port: 80\n")
    roles = project / ".collections" / "ansible_collections" / "greenlight" / "deploy" / "roles"
    (roles / "proxy" / "defaults").mkdir(parents=True)
    (roles / "proxy" / "defaults" / "main.yml").write_text("proxy_cpus: 1\n")
    (project / "ansible.cfg").write_text("[defaults]\n")
    return state, inventories, project


def test_the_last_playbooks_settings_serve_until_an_inventory_or_greenlight_changes(layout, monkeypatch) -> None:
    state, inventories, project = layout
    assert descriptor.load(state, inventories, "production", project) is None
    descriptor.save(state, inventories, "production", project, DESCRIBED)
    assert descriptor.load(state, inventories, "production", project) == DESCRIBED
    saved = next((state / "environments").iterdir())
    assert saved.stat().st_mode & 0o777 == 0o600

    time.sleep(0.01)
    (inventories / "production" / "group_vars" / "all" / "main.yml").write_text("proxy_http_port: 8080\n")
    assert descriptor.load(state, inventories, "production", project) is None
    descriptor.save(state, inventories, "production", project, DESCRIBED)
    (project / ".collections" / "ansible_collections" / "greenlight" / "deploy" / "roles" / "proxy" / "defaults"
     / "main.yml").write_text("proxy_cpus: 2\n")
    assert descriptor.load(state, inventories, "production", project) is None
    descriptor.save(state, inventories, "production", project, DESCRIBED)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", "/elsewhere/vault-password")
    assert descriptor.load(state, inventories, "production", project) is None


def test_an_environment_on_another_host_always_takes_its_playbook(layout) -> None:
    state, inventories, project = layout
    descriptor.save(state, inventories, "production", project, {**DESCRIBED, "local": False})
    assert descriptor.load(state, inventories, "production", project) is None


ENV = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}


def test_a_ref_is_resolved_by_the_repository_itself_and_an_ambiguous_one_is_left_to_the_playbook(tmp_path) -> None:
    repo = tmp_path / "app"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=ENV)
    (repo / "f").write_text("one")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "one"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(repo), "tag", "-a", "-m", "annotated", "v1"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(repo), "branch", "v1-branch"], check=True, env=ENV)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                          env=ENV).stdout.strip()
    described = {"repo": str(repo), "repo_credentials": str(tmp_path / "none.cfg")}
    assert fast.resolve_ref(described, "main") == head
    assert fast.resolve_ref(described, "v1") == head  # the annotated tag, peeled to its commit
    subprocess.run(["git", "-C", str(repo), "tag", "main"], check=True, env=ENV)
    assert fast.resolve_ref(described, "main") == ""  # both a branch and a tag: the playbook refuses it
    assert fast.resolve_ref(described, "nothing") == ""
    assert fast.resolve_ref({**described, "repo": str(tmp_path / "missing")}, "main") == ""
    assert os.environ.get("GIT_CONFIG_GLOBAL") != str(tmp_path / "none.cfg")
