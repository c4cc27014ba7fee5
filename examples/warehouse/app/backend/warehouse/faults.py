"""Hook for deliberately broken releases; a normal release injects no faults.

The fault variants used to exercise greenlight's rollback replace this module,
so the difference between releases is a code change rather than a runtime toggle.
"""

from __future__ import annotations

from flask import Flask


def install(app: Flask) -> None:
    pass
