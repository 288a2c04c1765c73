"""Opening assets: one `AssetSession` at a time, loaded off the GUI thread, latest request wins.

`open(row)` reads the asset, its annotations and schema on the I/O pool and hands the new
session over through the bridge; a request overtaken by a newer one is dropped on arrival.
The previous session needs no waiting: its writes are already queued on the database
executor, which keeps their order. A task goes from pending to in progress on its first edit
(browsing does not claim tasks); `finish` submits or skips it on the database executor.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

from PySide6.QtCore import QObject, Signal

from app.context import AppContext
from app.editing.session import SAVE_STATE_CHANGED, AssetSession
from app.store.records import Task
from app.store.task_queries import TaskListRow
from app.ui.operations import finish_task, load_session, start_task
from app.ui.workers import Bridge, describe


class AssetOpener(QObject):
    session_changed = Signal(object)  # AssetSession | None
    task_changed = Signal(int)  # a task's state changed in the store
    message = Signal(str)  # for the status bar

    def __init__(self, ctx: AppContext, bridge: Bridge, *, author: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.bridge, self.author = ctx, bridge, author
        self.session: AssetSession | None = None
        self.row: TaskListRow | None = None
        self._token = 0
        self._unsubscribe_claim: Callable[[], None] | None = None
        self.loading = False  # a request is on its way

    def open(self, row: TaskListRow) -> None:
        if self.row is not None and row.task_id == self.row.task_id and self.session is not None:
            return
        self._token += 1
        token, self.loading = self._token, True
        budget = self.ctx.settings.settings.history.undo_memory_mb * 2**20
        future = self.ctx.runner.submit_io(load_session, self.ctx.workspace, self.ctx.runner, row.asset_id,
                                           row.task_id, author=self.author, undo_budget_bytes=budget,
                                           post=self.bridge.post)
        self.bridge.run(future, lambda session: self._opened(token, row, session),
                        lambda exc: self._failed(token, row, exc))

    def _opened(self, token: int, row: TaskListRow, session: AssetSession) -> None:
        if token != self._token:
            return  # overtaken by a newer request; this session was never edited
        self.loading = False
        self._swap(row, session)

    def _failed(self, token: int, row: TaskListRow, exc: BaseException) -> None:
        if token == self._token:
            self.loading = False
            self.message.emit(f"cannot open {row.name}: {describe(exc)}")

    def close_session(self) -> None:
        self._token += 1
        self.loading = False
        self._swap(None, None)

    def _swap(self, row: TaskListRow | None, session: AssetSession | None) -> None:
        old = self.session
        if self._unsubscribe_claim is not None:
            self._unsubscribe_claim()
            self._unsubscribe_claim = None
        self.session, self.row = session, row
        if old is not None and old.save_state.startswith("error"):
            old.retry_save()  # queued behind its other writes; the user sees the outcome in the log
        if session is not None and row is not None:
            self._unsubscribe_claim = session.events.subscribe(SAVE_STATE_CHANGED,
                                                               lambda _s: self._claim(session, row))
        self.session_changed.emit(session)

    def _claim(self, session: AssetSession, row: TaskListRow) -> None:
        """First edit of the session: the task is now in progress."""
        if self._unsubscribe_claim is not None and session is self.session:
            self._unsubscribe_claim()
            self._unsubscribe_claim = None
        future = self.ctx.runner.submit_db(start_task, self.ctx.workspace, row.task_id, self.author)
        self.bridge.run(future, lambda task: self.task_changed.emit(row.task_id) if task else None,
                        lambda exc: self.message.emit(describe(exc)))

    def finish(self, target: str) -> Future[Task] | None:
        """Submit ("submitted") or skip ("skipped") the open task; None when none is open."""
        row = self.row
        if row is None:
            return None
        future = self.ctx.runner.submit_db(finish_task, self.ctx.workspace, row.task_id, target, self.author)
        verb = "submitted" if target == "submitted" else "skipped"
        self.bridge.run(future, lambda _task: (self.task_changed.emit(row.task_id),
                                               self.message.emit(f"{row.name} {verb}")),
                        lambda exc: self.message.emit(f"cannot mark {row.name} {verb}: {describe(exc)}"))
        return future
