"""The one bridge from worker threads back to the GUI thread.

Work runs on the `TaskRunner`'s executors and comes back as a `concurrent.futures.Future`;
`Bridge.run(future, on_done, on_error)` delivers its outcome on the GUI thread through a
queued signal, and `Bridge.post(fn)` runs any callable there (it is the `post` an
`AssetSession` is given). Nothing here blocks: the GUI thread never waits on a future.

Delivery is always queued, even from the GUI thread itself, so a callback never runs in the
middle of the code that scheduled it. After `close()` (window gone) deliveries are dropped.

A worker thread never drops the last reference to a callback. Callbacks hold widgets; a widget
(or this bridge) whose last Python reference goes away on a worker is destroyed there, while
the GUI thread may be delivering to it: a segfault, now and then, at the end of a window's
life. So a future keeps its callbacks in a `_Parcel` that the GUI thread empties, and posted
callables are released by the GUI thread, even after `close()`.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

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
        # always owned on the C++ side (by the application without a parent): the last Python
        # reference, which may go on a worker thread, never deletes it there
        super().__init__(parent if parent is not None else QCoreApplication.instance())
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
        """Run `fn()` on the GUI thread, soon; safe from any thread. After `close()` the GUI
        thread only releases it."""
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
        parcel, bridge = _Parcel(future, on_done, on_error), weakref.ref(self)

        def settled(_f: Future[T]) -> None:  # on whichever thread settled the future
            alive = bridge()
            if alive is not None:
                parcel.bridge = alive  # kept alive by the queued event: released on the GUI thread
                alive.post(parcel)

        future.add_done_callback(settled)
        return future

    def close(self) -> None:
        """Drop every later delivery (the window is closing)."""
        self._closed = True

    def _settle(self, parcel: _Parcel) -> None:
        future, on_done, on_error = parcel.take()  # the future no longer holds them
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
            if isinstance(fn, _Parcel):
                fn.take()
            return  # `fn` and what it holds are released here, on the GUI thread
        try:
            self._settle(fn) if isinstance(fn, _Parcel) else fn()
        except Exception as exc:
            log.exception("a callback on the GUI thread failed")
            self.error.emit(describe(exc))


class _Parcel:
    """A future's callbacks, until the GUI thread takes them out (see the module's note)."""

    __slots__ = ("future", "on_done", "on_error", "bridge")

    def __init__(self, future: Future[Any], on_done: Callable[[Any], Any],
                 on_error: Callable[[BaseException], Any] | None) -> None:
        self.future: Future[Any] | None = future
        self.on_done: Callable[[Any], Any] | None = on_done
        self.on_error = on_error
        self.bridge: Bridge | None = None

    def take(self) -> tuple[Future[Any], Callable[[Any], Any], Callable[[BaseException], Any] | None]:
        """On the GUI thread: everything out, so that the future (which a worker may be the last
        to hold) holds no widget, and no bridge."""
        taken = self.future, self.on_done, self.on_error
        self.future = self.on_done = self.on_error = self.bridge = None
        assert taken[0] is not None and taken[1] is not None, "a future settles once"
        return taken  # type: ignore[return-value]
