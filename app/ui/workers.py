"""The one bridge from worker threads back to the GUI thread.

Work runs on the `TaskRunner`'s executors and comes back as a `concurrent.futures.Future`;
`Bridge.run(future, on_done, on_error)` delivers its outcome on the GUI thread through a
queued signal, and `Bridge.post(fn)` runs any callable there (it is the `post` an
`AssetSession` is given). Nothing here blocks: the GUI thread never waits on a future.

Delivery is always queued, even from the GUI thread itself, so a callback never runs in the
middle of the code that scheduled it. After `close()` (window gone) deliveries are dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from app.core.errors import AlayaError

log = logging.getLogger(__name__)
T = TypeVar("T")


def describe(exc: BaseException) -> str:
    """One line for the status bar: our own errors are already worded for people."""
    return str(exc) if isinstance(exc, AlayaError) else f"{type(exc).__name__}: {exc}"


class Bridge(QObject):
    """Create it on the GUI thread; call `post`/`run` from any thread."""

    _deliver = Signal(object)
    error = Signal(str)  # a failure no `on_error` handled: for the status bar

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._closed = False
        self._lock = threading.Lock()
        self._pending = 0
        self._deliver.connect(self._invoke, Qt.ConnectionType.QueuedConnection)

    @property
    def pending(self) -> int:
        """Callables posted and not yet run (tests wait for 0)."""
        with self._lock:
            return self._pending

    def post(self, fn: Callable[[], Any]) -> None:
        """Run `fn()` on the GUI thread, soon; safe from any thread."""
        if self._closed:
            return
        with self._lock:
            self._pending += 1
        try:
            self._deliver.emit(fn)
        except RuntimeError:  # the C++ object is gone (application shutting down)
            with self._lock:
                self._pending -= 1

    def run(self, future: Future[T], on_done: Callable[[T], Any],
            on_error: Callable[[BaseException], Any] | None = None) -> Future[T]:
        """Call `on_done(result)` or `on_error(exc)` on the GUI thread when `future` settles.

        Without `on_error` the failure is logged and emitted as `error`. A cancelled future
        calls neither. Returns the future, for chaining and tests.
        """
        future.add_done_callback(lambda f: self.post(lambda: self._settle(f, on_done, on_error)))
        return future

    def close(self) -> None:
        """Drop every later delivery (the window is closing)."""
        self._closed = True

    def _settle(self, future: Future[T], on_done: Callable[[T], Any],
                on_error: Callable[[BaseException], Any] | None) -> None:
        try:
            result = future.result()
        except CancelledError:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's handler
            if on_error is not None:
                on_error(exc)
            else:
                log.error("background work failed: %s", describe(exc), exc_info=exc)
                self.error.emit(describe(exc))
            return
        on_done(result)

    def _invoke(self, fn: Callable[[], Any]) -> None:
        with self._lock:
            self._pending -= 1
        if self._closed:
            return
        try:
            fn()
        except Exception as exc:
            log.exception("a callback on the GUI thread failed")
            self.error.emit(describe(exc))
