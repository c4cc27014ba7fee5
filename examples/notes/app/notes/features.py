"""What a release adds to each note beyond its word count (v2 replaces this file)."""


def extra(body: str) -> dict:
    """Columns the worker sets with the word count: column -> value."""
    return {}
