"""The app's repository URL without its credentials, and the credentials as git takes them
from a file (docs/security.md).

`app_repo: https://deploy:TOKEN@git.example.com/shop.git` is how people give a private
repository. Passed as it is, the token would be in the argv of every git command (any local
user's `ps`), in the bare repository's config, and in each module's logged arguments. So git
gets the URL without its user-info, and the user-info as an HTTP Authorization header from a
config file (0600, the environment's secrets folder) that GIT_CONFIG_GLOBAL names: what
curl would send for that URL, and nothing in argv, the repository or a log.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit, urlunsplit


def _parts(url: str):
    found = urlsplit(str(url or ""))
    return found if found.scheme.lower() in ("http", "https") and "@" in found.netloc else None


def plain_url(url: str) -> str:
    """The URL without the user-info of an http(s) URL (others unchanged: ssh's user is not a secret)."""
    found = _parts(url)
    if not found:
        return str(url or "")
    return urlunsplit(found._replace(netloc=found.netloc.rsplit("@", 1)[1]))


def auth_config(url: str) -> str:
    """A git config file sending the URL's user-info as Basic authentication; "" when it has none."""
    found = _parts(url)
    if not found:
        return ""
    user, _, password = found.netloc.rsplit("@", 1)[0].partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    # The account's own global configuration still applies (GIT_CONFIG_GLOBAL names this file instead).
    return f"[include]\n\tpath = ~/.gitconfig\n[http]\n\textraHeader = Authorization: Basic {token}\n"


def environment(url: str) -> dict[str, str]:
    """The same header for a git process started from Python (its environment, not its argv)."""
    return header_environment(auth_config(url))


def header_environment(config: str) -> dict[str, str]:
    """The header of an auth_config() for a git process's environment ({} for none)."""
    if not config:
        return {}
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": config.rsplit("extraHeader = ", 1)[1].strip()}
