"""Closing the window survives a failing part: shiboken 6.11 segfaults on a deleted-object error
raised out of a Qt override, so `MainWindow.closeEvent` must never let one escape.

Both checks run in a child process: a regression kills the child, not the test session.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_DELETED_TIMER = """
    import shiboken6
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication([])
    timer = QTimer()
    shiboken6.delete(timer)
"""


def _child(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(_DELETED_TIMER) + textwrap.dedent(body)],
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120, preexec_fn=_no_core_dump)


def _no_core_dump() -> None:  # the canary's expected crash leaves no core file behind
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def test_the_upstream_hazard_is_still_there(tmp_path: Path) -> None:
    """Why the guard exists: a canary that fails once a PySide6 release fixes the crash."""
    done = _child("""
        class Window(QWidget):
            def closeEvent(self, event):
                timer.stop()

        window = Window()
        window.show()
        try:
            window.close()
        except RuntimeError:
            pass
        print("survived", flush=True)
    """, tmp_path)
    assert done.returncode == -11, f"fixed upstream? the child exited {done.returncode}: {done.stdout}"


def test_a_failing_part_does_not_take_the_window_down(tmp_path: Path) -> None:
    done = _child(f"""
        import sys
        from app.context import AppContext
        from app.ui.main_window import MainWindow

        seen = []
        sys.excepthook = lambda kind, exc, tb: seen.append(str(exc))
        ctx = AppContext.load(workspace={str(tmp_path / "ws")!r})
        window = MainWindow(ctx, author="tester")
        window.assist_host.close = timer.stop  # fails the way the double-closed hover timer did
        closed = []
        window.wallet_sync.close = lambda: closed.append("wallet")  # a later part still closes
        window.show()
        window.close()
        ctx.close()
        print("survived", closed, "already deleted" in " ".join(seen), flush=True)
    """, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "survived ['wallet'] True" in done.stdout


def test_run_parts_reports_a_failure_and_runs_the_rest(monkeypatch) -> None:
    from app.ui.guarded import run_parts

    seen: list[object] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, exc, tb: seen.append(exc))
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("Internal C++ object (QTimer) already deleted.")

    assert run_parts([lambda: ran.append("a"), broken, lambda: ran.append("c")]) == 1
    assert ran == ["a", "c"] and [str(e) for e in seen] == ["Internal C++ object (QTimer) already deleted."]
