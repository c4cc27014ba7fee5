"""A release resolved in one step on the host's copy of the repository (plugins/module_utils/release.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.release import ReleaseError, resolve

ENV = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: v1 then v2 (tagged); a branch `twice` and a tag `twice` on different commits."""
    path = tmp_path / "app"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=ENV)

    def commit(message: str) -> None:
        (path / "f").write_text(message)
        subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=ENV)
        subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", message], check=True, env=ENV)

    commit("one")
    subprocess.run(["git", "-C", str(path), "tag", "v1"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(path), "tag", "twice"], check=True, env=ENV)
    commit("two")
    subprocess.run(["git", "-C", str(path), "tag", "v2"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(path), "branch", "twice"], check=True, env=ENV)
    return path


def rev(repo: Path, ref: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", f"{ref}^{{commit}}"], capture_output=True, text=True,
                          check=True, env=ENV).stdout.strip()


def test_a_tag_a_branch_and_a_commit_resolve_and_the_copy_is_fetched_again(repo: Path, tmp_path: Path) -> None:
    bare, secret = str(tmp_path / "copy" / "repo.git"), str(tmp_path / "secrets" / "git-auth.cfg")
    assert resolve(str(repo), "", "v1", bare, secret) == {"commit": rev(repo, "v1"), "tags": ["twice", "v1"]}
    assert resolve(str(repo), "", "main", bare, secret)["commit"] == rev(repo, "v2")
    assert resolve(str(repo), "", rev(repo, "v1")[:12], bare, secret)["commit"] == rev(repo, "v1")
    (repo / "f").write_text("three")
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-am", "three"], check=True, env=ENV)
    assert resolve(str(repo), "", "main", bare, secret)["commit"] == rev(repo, "main")
    config = subprocess.run(["git", "--git-dir", bare, "config", "remote.origin.url"], capture_output=True, text=True)
    assert config.stdout.strip() == str(repo) and not Path(secret).exists()


@pytest.mark.parametrize(("version", "phrase"), [
    ("v1;reboot", "is not a tag, branch or commit name"), ("../x", "is not a tag, branch or commit name"),
    ("twice", "is both a branch and a tag"), ("v9", "is not a tag, branch or commit of"),
])
def test_a_version_that_is_not_one_ref_of_the_repository_is_refused(repo: Path, tmp_path: Path, version: str,
                                                                      phrase: str) -> None:
    with pytest.raises(ReleaseError, match=phrase) as refused:
        resolve(str(repo), "", version, str(tmp_path / "repo.git"), str(tmp_path / "s" / "a.cfg"))
    assert refused.value.usage


def test_a_version_that_moved_since_the_earlier_stage_is_refused(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="now points at") as refused:
        resolve(str(repo), "", "main", str(tmp_path / "repo.git"), str(tmp_path / "s" / "a.cfg"), rev(repo, "v1"))
    assert not refused.value.usage


def test_credentials_are_written_for_git_and_go_when_the_url_has_none(repo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secrets" / "git-auth.cfg"
    resolve(str(repo), "[http]\n\textraHeader = Authorization: Basic eDp5\n", "v1", str(tmp_path / "repo.git"), str(secret))
    assert secret.stat().st_mode & 0o777 == 0o600 and "Basic eDp5" in secret.read_text()
    resolve(str(repo), "", "v1", str(tmp_path / "repo.git"), str(secret))
    assert not secret.exists()


def test_an_unreadable_repository_says_so(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="cannot read the app's repository"):
        resolve(str(tmp_path / "missing"), "", "v1", str(tmp_path / "repo.git"), str(tmp_path / "s" / "a.cfg"))
