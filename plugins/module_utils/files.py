"""Writing a file another process reads, so that a crash or a kill never leaves half of it.

One implementation for every file greenlight replaces (the proxy's state and configuration,
the lock, the history's rotation, the image pins, the monitoring's facts): the new content
goes to a temporary file beside it, is written whole (a short write is retried, never taken
for done) and flushed to disk (fsync), then renamed over the old one in one step, and the
folder flushed so the rename itself survives a power cut.
"""

from __future__ import annotations

import os


def write_all(descriptor: int, data: bytes) -> None:
    """os.write until every byte is written (a write may take fewer than it is given)."""
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        if written <= 0:
            raise OSError(f"write wrote {written} bytes")
        view = view[written:]


def write_atomically(path: str, data: bytes | str, mode: int = 0o644, owner: int | None = None) -> None:
    """Replace `path` by `data` in one step, on disk before returning (owned by user and group
    `owner` when given, before it takes the name)."""
    if isinstance(data, str):
        data = data.encode()
    temporary = f"{path}.{os.getpid()}.tmp"
    # Made here, never opened through a link someone else left under that name.
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        write_all(descriptor, data)
        os.fchmod(descriptor, mode)
        if owner is not None:
            os.fchown(descriptor, owner, owner)
        os.fsync(descriptor)
    except BaseException:
        os.close(descriptor)
        os.unlink(temporary)
        raise
    os.close(descriptor)
    os.replace(temporary, path)
    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
