"""Start the workstation: the QApplication, its names (for QSettings), the theme, the window.

`run(ctx, argv)` returns the exit code once the window closes; by then the context is closed,
which waits for every queued database write (the user's work) before it returns.
Works on any Qt platform, `offscreen` included. Ctrl+C in the terminal closes the window
the normal way (geometry saved, writes finished).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.context import AppContext
from app.ui.main_window import APPLICATION, ORGANIZATION, MainWindow
from app.ui.theme import apply_theme
from app.ui.workers import Bridge


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The process's QApplication (created once), named for QSettings."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(list(argv) if argv else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    return app


def run(ctx: AppContext, argv: Sequence[str] | None = None) -> int:
    app = application(argv)
    apply_theme(app, ctx.settings.settings.general.theme)
    bridge = Bridge()
    window = MainWindow(ctx, bridge=bridge)
    window.show()
    try:
        with _interrupt_closes_windows(app):
            return int(app.exec())
    finally:
        bridge.close()  # results arriving from now on have no window to go to
        ctx.close()  # waits for pending writes, then closes the database


@contextmanager
def _interrupt_closes_windows(app: QApplication) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: app.closeAllWindows())
    ticker = QTimer(app, interval=200)  # Python runs signal handlers only between bytecodes
    ticker.timeout.connect(lambda: None)
    ticker.start()
    try:
        yield
    finally:
        ticker.stop()
        ticker.deleteLater()
        signal.signal(signal.SIGINT, previous)
