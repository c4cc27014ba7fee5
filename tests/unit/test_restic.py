"""restic 0.14's faults told apart by what it printed (every error exits 1), and the repository kinds."""

from __future__ import annotations

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.restic import Repository, explain


@pytest.mark.parametrize(("stderr", "message"), [
    ("Fatal: wrong password or no key found\n", "the restic password is wrong for /r"),
    ("Fatal: unable to open config file: stat /r/config: no such file or directory\n"
     "Is there a repository at the following location?\n/r\n", "/r is not a restic repository"),
    ("Fatal: unable to open repository at sftp:u@h:/r: dial tcp: connect: connection refused\n",
     "cannot reach the restic repository /r"),
    ("Fatal: unable to save snapshot: write /r/data/ab: no space left on device\n", "out of disk space"),
    ("something new\nFatal: odd\n", "restic failed on /r: Fatal: odd"),
])
def test_restics_errors_become_one_clear_sentence(stderr: str, message: str) -> None:
    assert message in explain("/r", stderr)


@pytest.mark.parametrize(("location", "folder"), [
    ("/var/lib/greenlight/restic/warehouse-production", True),
    ("local:/srv/restic", True),
    ("sftp:backup@nas:/srv/restic", False),
    ("s3:https://s3.example.com/bucket", False),
    ("rest:http://127.0.0.1:8000/", False),
])
def test_a_folder_repository_is_told_from_a_remote_one(location: str, folder: bool) -> None:
    assert Repository(location, "/p", "h").is_folder is folder


def test_the_password_goes_to_restic_as_a_file_and_nothing_inherited_overrides_it(monkeypatch) -> None:
    monkeypatch.setenv("RESTIC_PASSWORD", "from-the-callers-shell")
    monkeypatch.setenv("RESTIC_PASSWORD_COMMAND", "echo x")
    env = Repository("/r", "/secrets/restic-password", "h").environment()
    assert env["RESTIC_PASSWORD_FILE"] == "/secrets/restic-password" and env["RESTIC_REPOSITORY"] == "/r"
    assert "RESTIC_PASSWORD" not in env and "RESTIC_PASSWORD_COMMAND" not in env
