"""A healthy release injects no fault (the faulty release replaces this file)."""


def before_request(method: str, path: str) -> str:
    """A fault to answer with instead of the request ("" for none)."""
    return ""
