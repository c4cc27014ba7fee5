"""The faulty release: healthy at /up and in its first requests (so it passes the smoke
checks), then one read of the notes in five fails (counted in each server process), the kind of fault only real traffic
shows. The canary's judge must move traffic back to the old release."""

import itertools
import threading

_count = itertools.count(1)
_lock = threading.Lock()


def before_request(method: str, path: str) -> str:
    if method != "GET" or path != "/api/notes":
        return ""
    with _lock:
        n = next(_count)
    return "injected fault: every fifth read fails" if n > 10 and n % 5 == 0 else ""
