"""No secret in clear anywhere (docs/security.md): a promote that succeeds and one that fails,
from a private repository whose URL carries a token, with a webhook whose URL carries one.

While they run, every process's arguments and environment, every file that appears under the
temporary folders, the containers' logs and what reaches the host's syslog socket (the
journal's way in; /dev/log is bound here when the machine has no syslog) are sampled; after
them, every file under the places a run writes to, `docker inspect` of every container, the
release repository's git configuration and the notifications received are searched.

The one place a secret may be is the environment's secrets folder (0700): the files the
containers mount (DB_PASSWORD_FILE), restic's password file and the repository's credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import stack
from .stack import BIN, INVENTORIES, REPO, ROOT, STATE

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")

VAULT_KEYS = ("vault_mysql_app_password", "vault_mysql_migrator_password", "vault_restic_password")
# Files larger than this are archives and images, not where a run writes a secret.
MAX_FILE_BYTES = 64 * 1024 * 1024
# Third-party trees that greenlight never writes to.
SKIP_DIRS = {".venv", ".git", "node_modules", "site-packages"}
TEMPORARY = (Path("/tmp"), Path("/var/tmp"), STATE / "runs", Path.home() / ".ansible" / "tmp")


def vaulted(name: str, text: str) -> list[Path]:
    """A settings file of production's and staging's copies of the inventories, encrypted as a user keeps secrets."""
    written = []
    for env in ("staging", "production"):
        path = INVENTORIES / env / "group_vars" / "all" / name
        subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--output", str(path), "-"], input=text, text=True,
                       cwd=REPO, check=True, capture_output=True)
        written.append(path)
    return written


@pytest.fixture
def secret_settings() -> Iterator[tuple[dict[str, bytes], list[bytes]]]:
    """A webhook whose URL carries a token and a private repository whose URL carries another
    (both in the vault, as a user would keep them); the secrets, and the bodies the webhook receives."""
    hook_token, repo_token = "whk-" + secrets.token_hex(12), "git-" + secrets.token_hex(12)
    with stack.webhook_receiver() as (port, bodies), stack.git_http(ROOT / "warehouse.git", "deploy", repo_token) as url:
        files = vaulted("zz-secrets.yml", f"greenlight_notify_webhook_url: http://127.0.0.1:{port}/hook/{hook_token}\n"
                                          f"app_repo: {url}\n")
        try:
            yield {"webhook token": hook_token.encode(), "repository token": repo_token.encode()}, bodies
        finally:
            for path in files:
                path.unlink()


class Sampler(threading.Thread):
    """What a run exposes while it runs: every process's argv and environment, new files in the
    temporary folders, the containers' logs, and syslog (the host's, or one bound here)."""

    def __init__(self, found: dict[str, bytes]) -> None:
        super().__init__(daemon=True)
        self.found = found
        self.hits: set[str] = set()
        self.rounds = 0
        self.syslog_lines: list[bytes] = []
        self.done = threading.Event()

    def check(self, where: str, data: bytes) -> None:
        for name, value in self.found.items():
            if value in data:
                self.hits.add(f"{name} in {where}")

    def run(self) -> None:
        last_logs = 0.0
        seen: dict[Path, tuple[float, int]] = {}
        while not self.done.is_set():
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit() and int(proc.name) != os.getpid():
                    for part in ("cmdline", "environ"):
                        with contextlib.suppress(OSError):
                            self.check(f"the {part} of a process ({(proc / 'comm').read_text().strip()})",
                                       (proc / part).read_bytes())
            for top in TEMPORARY:
                for path in files_under(top, [ROOT]):  # the environments' state is searched after the runs
                    with contextlib.suppress(OSError):
                        stat = path.stat()
                        if seen.get(path) != (stat.st_mtime, stat.st_size):
                            seen[path] = (stat.st_mtime, stat.st_size)
                            self.check(f"{path} (while running)", path.read_bytes())
            if time.monotonic() - last_logs > 2:
                last_logs = time.monotonic()
                for name in stack.docker("ps", "-a", "--filter", f"label=greenlight.app={stack.APP}",
                                         "--format", "{{.Names}}").split():
                    logged = subprocess.run(["docker", "logs", name], capture_output=True)
                    self.check(f"the log of {name}", logged.stdout + logged.stderr)
            self.rounds += 1
            time.sleep(0.1)


@contextlib.contextmanager
def syslog_socket() -> Iterator[list[bytes]]:
    """What the host's syslog socket receives (where modules log their arguments, and the journal
    reads); bound here for the test on a machine without a syslog daemon."""
    if Path("/dev/log").exists():
        pytest.fail("/dev/log exists on this machine: this test binds its own and cannot share a syslog's")
    received: list[bytes] = []
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind("/dev/log")
    os.chmod("/dev/log", 0o666)
    stop = threading.Event()

    def receive() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(socket.timeout):
                received.append(server.recv(65536))

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    try:
        # The socket really receives what a program logs there.
        subprocess.run(["logger", "greenlight-secrets-test: syslog works"], check=True)
        deadline = time.monotonic() + 5
        while not any(b"greenlight-secrets-test" in line for line in received) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(b"greenlight-secrets-test" in line for line in received), "the syslog socket received nothing"
        yield received
    finally:
        stop.set()
        reader.join()
        server.close()
        Path("/dev/log").unlink(missing_ok=True)


def files_under(top: Path, allowed: list[Path]) -> Iterator[Path]:
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and Path(folder, d) not in allowed]
        for name in names:
            path = Path(folder, name)
            with contextlib.suppress(OSError):
                if not path.is_symlink() and path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                    yield path


def leaks(found: dict[str, bytes], where: str, data: bytes) -> list[str]:
    return [f"{name} in {where}" for name, value in found.items() if value in data]


def test_no_secret_is_in_clear_anywhere_during_and_after_a_promote_and_a_failed_one(secret_settings) -> None:
    found, bodies = secret_settings
    found.update({f"{env} {key}": stack.vault_value(env, key).encode() for env in ("staging", "production")
                  for key in VAULT_KEYS})

    with syslog_socket() as logged:
        sampler = Sampler(found)
        sampler.start()
        try:
            done = stack.run_greenlight("promote", "v2")
            failed = stack.run_greenlight("promote", "bad-migration")
        finally:
            sampler.done.set()
            sampler.join()
    assert done.returncode == 0, done.stdout + done.stderr
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert sampler.rounds > 20, "the sampler hardly ran"
    assert len(bodies) >= 2, "both promotions notify"
    hits = sorted(sampler.hits)
    for index, line in enumerate(logged):
        hits += leaks(found, f"syslog line {index + 1}", line)

    hits += leaks(found, "the command's output", (done.stdout + done.stderr + failed.stdout + failed.stderr).encode())
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

    # The release repository knows the repository's URL without its token (and git used it: the
    # promote got v2 from it).
    remote = subprocess.run(["git", "--git-dir", str(ROOT / "e2e" / "repo.git"), "config", "remote.origin.url"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert remote.startswith("https://127.0.0.1:") and "@" not in remote, remote

    # The containers get a path, and the file behind it holds the password.
    name = stack.docker("ps", "--filter", f"label=greenlight.app={stack.APP}", "--filter", "label=greenlight.env=production",
                        "--filter", "label=greenlight.part=backend", "--format", "{{.Names}}").split()[0]
    backend = json.loads(stack.docker("inspect", name))[0]
    assert "DB_PASSWORD_FILE=/run/secrets/db_password" in backend["Config"]["Env"]
    assert not [v for v in backend["Config"]["Env"] if v.startswith("DB_PASSWORD=")]

    assert hits == [], "secrets found in clear:\n" + "\n".join(sorted(set(hits)))
