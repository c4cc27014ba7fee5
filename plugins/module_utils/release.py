"""A release: the version asked for, resolved to a commit of the app's repository, in one step.

The host keeps a bare copy of the repository (fetched, never cloned again) and resolves the
version there: a tag, branch or commit; a name that is both a branch and a tag is refused
(say which); with an expected commit (production in a promote), a version that moved since
the earlier stage is refused. The repository's credentials, when its URL has some, reach git
as a header from a file (plugins/module_utils/git_auth.py), never in argv or the repository's config.
"""

from __future__ import annotations

import os
import re
import subprocess

from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically

VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}\Z")
COMMIT = re.compile(r"[0-9a-f]{40}\Z")


class ReleaseError(Exception):
    """The version or the repository is not usable; `usage` says whether the input is at fault."""

    def __init__(self, message: str, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


def _git(arguments: list[str], env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *arguments], capture_output=True, text=True, timeout=timeout, env=env)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "?"


def environment(config: str, credentials_file: str) -> dict:
    """git's environment: no prompt, and the repository's credentials (`config`, git_auth.auth_config)
    from their file when there are some."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if config:
        os.makedirs(os.path.dirname(credentials_file), mode=0o700, exist_ok=True)
        write_atomically(credentials_file, config, 0o600)
        env["GIT_CONFIG_GLOBAL"] = credentials_file
    elif os.path.exists(credentials_file):
        os.unlink(credentials_file)  # the URL has none any more: no stale secret stays
    return env


def resolve(url: str, auth: str, version: str, bare: str, credentials_file: str, expected_commit: str = "") -> dict:
    """{commit, tags}: the version's commit in the host's copy, after a fetch. `url` has no
    credentials; `auth` is their git configuration (git_auth.auth_config), "" for none."""
    if not isinstance(version, str) or not VERSION.match(version) or ".." in version:
        raise ReleaseError(f"app_version {version!r} is not a tag, branch or commit name "
                           f"(letters, digits and . _ / - only)")
    env = environment(auth, credentials_file)
    # git rev-parse would take the tag silently; the user may have meant the branch.
    listed = _git(["ls-remote", "--", url, f"refs/heads/{version}", f"refs/tags/{version}"], env)
    refs = {line.split()[-1] for line in listed.stdout.splitlines() if line.strip()}
    if f"refs/heads/{version}" in refs and f"refs/tags/{version}" in refs:
        raise ReleaseError(f"app_version {version!r} is both a branch and a tag of {url}: say which, "
                           f"refs/tags/{version} or refs/heads/{version}, or give the commit")
    if not os.path.isdir(os.path.join(bare, "objects")):
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        made = _git(["init", "--quiet", "--bare", bare], env)
        if made.returncode != 0:
            raise ReleaseError(f"cannot create {bare}: {_last_line(made.stderr)}", usage=False)
    # The remote's URL is the one without credentials: the repository's config holds no secret.
    _git(["--git-dir", bare, "remote", "remove", "origin"], env)
    _git(["--git-dir", bare, "remote", "add", "origin", url], env)
    fetched = _git(["--git-dir", bare, "fetch", "--quiet", "--prune", "--force", "--tags", "origin",
                    "+refs/heads/*:refs/heads/*"], env)
    if fetched.returncode != 0:
        raise ReleaseError(f"cannot read the app's repository {url}: {_last_line(fetched.stderr)}")
    parsed = _git(["--git-dir", bare, "rev-parse", "--verify", "--quiet", f"{version}^{{commit}}"], env)
    commit = parsed.stdout.strip()
    if parsed.returncode != 0 or not COMMIT.match(commit):
        raise ReleaseError(f"app_version '{version}' is not a tag, branch or commit of {url}")
    if expected_commit and commit != expected_commit:
        raise ReleaseError(f"app_version '{version}' now points at {commit[:12]}, but the earlier stage deployed "
                           f"{expected_commit[:12]}; promote the new commit through staging first", usage=False)
    tags = _git(["--git-dir", bare, "tag", "--points-at", commit], env)
    return {"commit": commit, "tags": sorted(tags.stdout.split())}
