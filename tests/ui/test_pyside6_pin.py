"""Regression guard for the PySide6 pin (`>=6.11.3,<6.12`).

PySide6 6.12.0 on CPython 3.11 drops one reference to `None` on every void Qt call, and the
interpreter aborts after about 5,000 such calls. A subprocess makes 20,000 of them; a leak
shows as a falling `None` refcount or as the child dying with SIGABRT.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import sys
    from PySide6.QtWidgets import QApplication, QLabel
    app = QApplication([])
    label = QLabel("x")
    before = sys.getrefcount(None)
    for i in range(20_000):
        label.setObjectName("a")      # a void call
        if i % 1000 == 0:
            app.processEvents()       # another void call
    after = sys.getrefcount(None)
    print(before, after)
    """
)


def test_twenty_thousand_void_calls_do_not_leak_none() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, f"child died (rc {proc.returncode}): {proc.stderr[-2000:]}"
    before, after = map(int, proc.stdout.split()[-2:])
    # a leak would lose >= 20,000 references; allow small noise from interpreter internals
    assert abs(before - after) < 100, (before, after)


def test_installed_pyside6_is_within_the_pin() -> None:
    from importlib.metadata import version

    major, minor, patch = (int(p) for p in version("PySide6").split(".")[:3])
    assert (6, 11, 3) <= (major, minor, patch) < (6, 12, 0)
