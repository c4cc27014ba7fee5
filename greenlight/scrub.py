"""Text from outside (an app's output, an HTTP answer, git, another host) as greenlight shows,
logs, records and sends it: scrubbed at every boundary (docs/security.md)."""

from __future__ import annotations

import re

# The user-info part of a URL (https://TOKEN@host, https://user:password@host, ssh://git:pw@host);
# ssh://git@host names a user, not a secret, and stays.
# The user-info runs to the last @ before the path (a password may hold an @).
URL_CREDENTIALS = re.compile(r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s]+)@")
# Terminal escape sequences (CSI, OSC, and the rest of ESC's) and every other control character
# but newline and tab: an app's output must not move a terminal's cursor, retitle its window,
# hide a line of greenlight's own or write a link under other text.
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
LINE_BREAKS = re.compile(r"[\n\t\u2028\u2029]")
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def scrub(text: str) -> str:
    """Text from outside as greenlight prints, logs, records and sends it: every URL's
    credentials replaced by *** (never an app_repo token or a webhook's password), escape
    sequences removed and other control characters (bidirectional overrides too) shown as ?."""
    def replace(match: re.Match) -> str:
        keep = match["scheme"].lower().startswith("ssh") and ":" not in match["userinfo"]
        return match[0] if keep else f"{match['scheme']}***@"
    # Escapes and controls first: one inside a URL must not hide its credentials from the match.
    return URL_CREDENTIALS.sub(replace, CONTROLS.sub("?", ESCAPES.sub("", str(text))))


def one_line(text: str, limit: int = 300) -> str:
    """scrub(), on one line: what a comment or a one-line message repeats of outside text
    (a line break in a generated file's comment would start a line of its own)."""
    return LINE_BREAKS.sub("?", scrub(text))[:limit]


def scrub_data(value: object) -> object:
    """scrub() on every string of a structure (reports, records), keys included."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_data(key): scrub_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_data(item) for item in value]
    return value
