"""No secret in clear anywhere (README: Hardening): after a promote that succeeds and one
that fails, every secret of both environments is searched for in every place it could have
leaked to: the temporary folder, the command's state folder and log, the environments' state
(history, locks, proxy, backups), Ansible's folders, `docker inspect` of every container,
every process's argv and environment, and the notifications received.

The one place a secret may be is the environment's secrets folder (0700): the files the
containers mount (DB_PASSWORD_FILE) and restic's password file.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import stack
from .stack import BIN, INVENTORIES, REPO, ROOT, STATE
from .stack import run_greenlight as run

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")

VAULT_KEYS = ("vault_mysql_app_password", "vault_mysql_migrator_password", "vault_restic_password")
# Files larger than this are archives and images, not where a run writes a secret.
MAX_FILE_BYTES = 64 * 1024 * 1024
# Third-party trees that greenlight never writes to.
SKIP_DIRS = {".venv", ".git", "node_modules", "site-packages"}


@pytest.fixture
def secret_webhook() -> Iterator[tuple[str, list[bytes]]]:
    """A webhook whose URL carries a token (set in the vault, as a user would), and the bodies it receives."""
    token = "whk-" + secrets.token_hex(12)
    with stack.webhook_receiver() as (port, bodies):
        settings = INVENTORIES / "production" / "group_vars" / "all" / "zz-notify.yml"
        plain = f"greenlight_notify_webhook_url: http://127.0.0.1:{port}/hook/{token}\n"
        subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--output", str(settings), "-"], input=plain, text=True,
                       cwd=REPO, check=True, capture_output=True)
        yield token, bodies
        settings.unlink()


def files_under(top: Path, allowed: list[Path]) -> Iterator[Path]:
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and Path(folder, d) not in allowed]
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink() and path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                yield path


def leaks(found: dict[str, bytes], where: str, data: bytes) -> list[str]:
    return [f"{name} in {where}" for name, value in found.items() if value in data]


def test_no_secret_is_in_clear_anywhere_after_a_promote_and_a_failed_one(secret_webhook) -> None:
    token, bodies = secret_webhook
    found = {f"{env} {key}": stack.vault_value(env, key).encode() for env in ("staging", "production")
             for key in VAULT_KEYS}
    found["webhook token"] = token.encode()

    done = run("promote", "v2")
    assert done.returncode == 0, done.stdout + done.stderr
    failed = run("promote", "bad-migration")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert len(bodies) >= 2, "both promotions notify"

    hits = leaks(found, "the command's output", (done.stdout + done.stderr + failed.stdout + failed.stderr).encode())
    for index, body in enumerate(bodies):
        hits += leaks(found, f"notification {index + 1}", body)

    # The folders of the secret files (0700), and nothing else, may hold them.
    allowed = [ROOT / f"{stack.APP}-{env}" / "secrets" for env in ("staging", "production")]
    scanned = 0
    for top in (Path("/tmp"), STATE, ROOT, Path.home() / ".ansible", REPO / ".cache", Path("/var/tmp")):
        for path in files_under(top, allowed):
            try:
                data = path.read_bytes()
            except OSError:
                continue  # gone while the walk ran (another process's temporary file)
            scanned += 1
            hits += leaks(found, str(path), data)
    assert scanned > 100, "the walk found the folders it searches"

    ids = stack.docker("ps", "-aq").split()
    hits += leaks(found, "docker inspect", stack.docker("inspect", *ids).encode())

    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            for part in ("cmdline", "environ"):
                try:
                    hits += leaks(found, f"/proc/{proc.name}/{part}", (proc / part).read_bytes())
                except OSError:
                    continue  # ended, or a kernel thread

    # The containers get a path, and the file behind it holds the password.
    name = stack.docker("ps", "--filter", f"label=greenlight.app={stack.APP}", "--filter", "label=greenlight.env=production",
                        "--filter", "label=greenlight.part=backend", "--format", "{{.Names}}").split()[0]
    backend = json.loads(stack.docker("inspect", name))[0]
    assert "DB_PASSWORD_FILE=/run/secrets/db_password" in backend["Config"]["Env"]
    assert not [v for v in backend["Config"]["Env"] if v.startswith("DB_PASSWORD=")]

    assert hits == [], "secrets found in clear:\n" + "\n".join(sorted(set(hits)))
