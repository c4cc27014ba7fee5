"""A repository URL's credentials reach git as a header from a file, never in argv (plugins/module_utils/git_auth.py)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from ansible_collections.greenlight.deploy.plugins.module_utils.git_auth import auth_config, environment, plain_url


def test_the_url_loses_its_credentials_and_the_header_carries_them() -> None:
    url = "https://deploy:p%40ss@git.example.com/shop.git"
    assert plain_url(url) == "https://git.example.com/shop.git"
    header = environment(url)["GIT_CONFIG_VALUE_0"]
    assert base64.b64decode(header.removeprefix("Authorization: Basic ")) == b"deploy:p@ss"
    assert plain_url("ssh://git@host/shop.git") == "ssh://git@host/shop.git" and auth_config("/srv/shop.git") == ""


def test_git_reads_the_file_and_keeps_the_accounts_own_configuration(tmp_path: Path) -> None:
    (tmp_path / ".gitconfig").write_text("[user]\n\tname = Ana\n")
    config = tmp_path / "git-auth.cfg"
    config.write_text(auth_config("https://deploy:token@git.example.com/shop.git"))
    env = {"HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": str(config), "PATH": "/usr/bin:/bin"}
    read = subprocess.run(["git", "config", "--global", "--get-all", "http.extraHeader"], env=env,
                          capture_output=True, text=True, check=True).stdout.strip()
    assert read == "Authorization: Basic " + base64.b64encode(b"deploy:token").decode()
    assert subprocess.run(["git", "config", "--get", "user.name"], env=env, capture_output=True, text=True,
                          cwd=tmp_path).stdout.strip() == "Ana"
