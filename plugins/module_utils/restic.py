"""restic, for the off-host, encrypted copy of each backup (Debian bookworm ships 0.14.0).

Every call gets the repository and the password through the environment (RESTIC_REPOSITORY,
RESTIC_PASSWORD_FILE): never on a command line, and never missing -- restic 0.14 reads the
password from its standard input when none is configured, which `backup --stdin` would take
from the data. restic 0.14 exits 1 for every error, so `explain` tells them apart by what
it printed. A SIGKILLed restic leaves its lock in the repository: `restic unlock` (which
removes stale locks only) runs before every command that locks.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

TIMEOUT_S = 3600.0
OVERRIDDEN = ("RESTIC_PASSWORD", "RESTIC_PASSWORD_COMMAND", "RESTIC_REPOSITORY_FILE")
# What restic 0.14 prints for the faults a user can fix, and what to tell them.
FAULTS = (
    ("wrong password or no key found", "the restic password is wrong for {repository} (backup_restic_password)"),
    ("unable to open config file", "{repository} is not a restic repository (nothing there, or something else)"),
    ("Is there a repository at the following location?", "{repository} is not a restic repository"),
    ("unable to open repository", "cannot reach the restic repository {repository}"),
    ("connection refused", "cannot reach the restic repository {repository}: connection refused"),
    ("no space left on device", "the restic repository {repository} is out of disk space"),
    ("permission denied", "permission denied on the restic repository {repository}"),
)


class ResticError(RuntimeError):
    """restic failed; the message says what to fix when it is a known fault."""


@dataclass(frozen=True)
class Repository:
    location: str  # a folder, sftp:user@host:/path, s3:https://host/bucket, ...
    password_file: str
    host: str  # the snapshots' host name: one group per environment for retention

    @property
    def is_folder(self) -> bool:
        return ":" not in self.location.split("/", 1)[0] or self.location.startswith("local:")

    def environment(self) -> dict[str, str]:
        """The environment restic runs with: this repository and password file, and no other
        way to a password or a repository that the caller's environment may carry."""
        inherited = {k: v for k, v in os.environ.items() if k not in OVERRIDDEN}
        return {**inherited, "RESTIC_REPOSITORY": self.location, "RESTIC_PASSWORD_FILE": self.password_file,
                "RESTIC_CACHE_DIR": os.path.join(os.path.dirname(self.password_file), "restic-cache")}


def explain(repository: str, stderr: str) -> str:
    """One clear sentence for what restic printed (its last line when the fault is unknown)."""
    lowered = stderr.lower()
    for needle, message in FAULTS:
        if needle.lower() in lowered:
            return message.format(repository=repository)
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "no message")
    return f"restic failed on {repository}: {last[:300]}"


def run(repo: Repository, args: list[str], timeout: float = TIMEOUT_S) -> str:
    if not os.path.isfile(repo.password_file):
        raise ResticError(f"the restic password file {repo.password_file} is missing")
    try:
        done = subprocess.run(["restic", *args], env=repo.environment(),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise ResticError("restic is not installed on the host (apt-get install restic)") from None
    except subprocess.TimeoutExpired:
        raise ResticError(f"restic {args[0]} on {repo.location} took over {timeout:.0f} s") from None
    if done.returncode != 0:
        raise ResticError(explain(repo.location, done.stderr))
    return done.stdout


def exists(repo: Repository) -> bool:
    """Whether the repository is there: a folder's config file, else restic's own answer."""
    if repo.is_folder:
        return os.path.isfile(os.path.join(repo.location.removeprefix("local:"), "config"))
    try:
        run(repo, ["cat", "config"])
        return True
    except ResticError as exc:
        if "is not a restic repository" in str(exc):
            return False
        raise


def ensure(repo: Repository) -> bool:
    """Create the repository when it is not there; True when it was created."""
    if exists(repo):
        return False
    if repo.is_folder:
        os.makedirs(os.path.dirname(repo.location.removeprefix("local:").rstrip("/")), mode=0o700, exist_ok=True)
    run(repo, ["init"])
    return True


def store(repo: Repository, paths: list[str], tags: list[str]) -> str:
    """One snapshot of `paths`; returns its id."""
    run(repo, ["unlock"])
    out = run(repo, ["backup", "--json", "--host", repo.host, *[f"--tag={tag}" for tag in tags], *paths])
    summary = next((json.loads(line) for line in reversed(out.splitlines())
                    if line.startswith("{") and '"message_type":"summary"' in line.replace(" ", "")), None)
    if summary is None or not summary.get("snapshot_id"):
        raise ResticError(f"restic backup on {repo.location} printed no snapshot")
    return str(summary["snapshot_id"])


def forget(repo: Repository, keep_last: int, keep_daily: int) -> list[str]:
    """Retention over this environment's snapshots (grouped by host: every name is new), then prune."""
    if keep_last < 1:
        raise ResticError(f"backup_restic_keep_last must be 1 or more, not {keep_last}")
    run(repo, ["unlock"])
    out = run(repo, ["forget", "--json", "--host", repo.host, "--group-by", "host", "--keep-last", str(keep_last),
                     "--keep-daily", str(keep_daily), "--prune"])
    removed = []
    for line in out.splitlines():
        if line.startswith("["):
            for group in json.loads(line):
                removed += [snapshot.get("short_id") or snapshot.get("id", "")[:8] for snapshot in group.get("remove") or []]
    return removed


def snapshots(repo: Repository) -> list[dict]:
    return json.loads(run(repo, ["snapshots", "--json", "--host", repo.host]) or "[]")


def check(repo: Repository) -> None:
    run(repo, ["unlock"])
    run(repo, ["check"])
