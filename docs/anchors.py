"""The anchor of a heading in these pages, for the site (docs/conf.py) and for the test that
checks cited headings (tests/unit/test_docs.py): one rule for both."""

import re
import unicodedata


def slug(heading: str) -> str:
    """A heading's anchor: its text without markup, ASCII, lower case, words joined by '-'."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)
