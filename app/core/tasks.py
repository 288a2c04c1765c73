"""Threads have homes: one serialized executor owns database writes, separate pools do
file/network I/O and CPU work. Callers get `concurrent.futures.Future`s; the Qt bridge in
`app.ui.workers` hands results back to the GUI thread.

`synchronous=True` runs everything inline, so Qt-free tests stay deterministic.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class InlineExecutor(Executor):
    """Runs the call at submit time; the Future is already done when returned."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future


class TaskRunner:
    def __init__(self, *, synchronous: bool = False, io_workers: int = 4, cpu_workers: int | None = None) -> None:
        self.synchronous = synchronous
        if synchronous:
            self.db: Executor = InlineExecutor()
            self.io: Executor = self.db
            self.cpu: Executor = self.db
        else:
            # One writer: SQLite serializes writes anyway, and one thread keeps their order.
            self.db = ThreadPoolExecutor(1, thread_name_prefix="alaya-db")
            self.io = ThreadPoolExecutor(io_workers, thread_name_prefix="alaya-io")
            self.cpu = ThreadPoolExecutor(cpu_workers or max(1, (os.cpu_count() or 2) - 1),
                                          thread_name_prefix="alaya-cpu")

    def submit_db(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.db.submit(fn, *args, **kwargs)

    def submit_io(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.io.submit(fn, *args, **kwargs)

    def submit_cpu(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self.cpu.submit(fn, *args, **kwargs)

    def shutdown(self, *, wait: bool = True) -> None:
        """Pending database writes always finish: they are the user's work."""
        if self.synchronous:
            return
        self.io.shutdown(wait=wait, cancel_futures=True)
        self.cpu.shutdown(wait=wait, cancel_futures=True)
        self.db.shutdown(wait=True)
