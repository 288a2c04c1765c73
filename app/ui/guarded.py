"""No Python error may leave a Qt override: shiboken 6.11 segfaults on a deleted-object
`RuntimeError` raised out of one instead of raising it (the canary: tests/ui/test_shutdown.py).

Shutdown overrides (`closeEvent`, `done`) run their parts through `run_parts`: a part that
fails is reported to `sys.excepthook` (the app's log; a failure under pytest-qt) and the parts
after it still run, so one broken piece never leaves the others open.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any


def run_parts(parts: Iterable[Callable[[], Any]]) -> int:
    """Call each part; returns how many failed (each reported, none raised)."""
    failed = 0
    for part in parts:
        try:
            part()
        except Exception:  # noqa: BLE001 - reported, never raised out of a Qt override
            failed += 1
            sys.excepthook(*sys.exc_info())
    return failed
