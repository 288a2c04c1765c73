"""A virtual table of a project's tasks: the row count comes first, rows arrive by pages.

`rowCount` is the size of the filtered list; `data` for a row whose page is not cached
returns a placeholder and asks for the page. Requests made while painting are coalesced on a
short timer and the newest win, so dragging the scroll bar across 100,000 rows fetches the
pages that end up on screen, not every page on the way. Pages live in a bounded LRU cache and
are read by `TaskQueries` on the I/O pool; thumbnails are made on the CPU pool. Every result
comes back through the `Bridge`, and results of an older query are dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPixmap

from app.core.tasks import TaskRunner
from app.store.task_queries import TaskFilter, TaskListRow, TaskQueries
from app.ui.panels.thumbnails import ThumbnailCache
from app.ui.workers import Bridge

COLUMNS = ("", "Name", "Modality", "State", "Labels")
THUMB_COLUMN, NAME_COLUMN, STATE_COLUMN, LABELS_COLUMN = 0, 1, 3, 4
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_COLOURS = {"in_progress": "#3b82f6", "submitted": "#16a34a", "accepted": "#15803d",
                 "rejected": "#dc2626", "skipped": "#9ca3af"}
_Index = QModelIndex | QPersistentModelIndex
ATTENTION = ("conflicted", "late", "rejected")  # leased work the coordinator did not take: the user must see it


def _state_text(row: TaskListRow) -> str:
    state = row.state.replace("_", " ")
    return f"{state} · {row.sync_state}" if row.sync_state else state


class TaskTableModel(QAbstractTableModel):
    count_loaded = Signal(int)  # the filtered list's size is known (after set_query/refresh)
    page_loaded = Signal(int)  # page number

    def __init__(self, queries: TaskQueries, runner: TaskRunner, bridge: Bridge,
                 thumbs: ThumbnailCache | None = None, *, page_size: int = 100, max_pages: int = 30,
                 max_requests: int = 3, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queries, self.runner, self.bridge, self.thumbs = queries, runner, bridge, thumbs
        self.page_size, self.max_pages, self.max_requests = page_size, max_pages, max_requests
        self.project_id: int | None = None
        self.filter = TaskFilter()
        self.pages_fetched = 0  # pages read from the store, for tests and the log
        self._count = 0
        self._generation = 0
        self._pages: OrderedDict[int, list[TaskListRow]] = OrderedDict()
        self._stale: set[int] = set()  # cached pages shown until their fresh copy arrives
        self._wanted: OrderedDict[int, None] = OrderedDict()  # pages asked for, newest last
        self._in_flight: set[int] = set()
        self._pixmaps: OrderedDict[str, QPixmap | None] = OrderedDict()
        self._thumbs_wanted: OrderedDict[str, TaskListRow] = OrderedDict()
        self._thumbs_in_flight: set[str] = set()
        self._timer = QTimer(self, singleShot=True, interval=15)
        self._timer.timeout.connect(self._request)
        self._closed = False

    def close(self) -> None:
        """Ask for nothing more (the window is closing and the executors with it)."""
        self._closed = True
        self._timer.stop()
        self._wanted.clear()
        self._thumbs_wanted.clear()

    # -- query --------------------------------------------------------------------------

    def set_query(self, project_id: int | None, flt: TaskFilter | None = None) -> None:
        """Show another project or filter: the count is read first, then pages as needed."""
        self.project_id, self.filter = project_id, flt or TaskFilter()
        self._generation += 1
        self.beginResetModel()
        self._count = 0
        self._drop_pages()
        self.endResetModel()
        self.refresh()

    def refresh(self) -> None:
        """Read the count again and drop cached pages (states and label counts changed)."""
        if self.project_id is None or self._closed:
            self.count_loaded.emit(0)
            return
        self._generation += 1
        gen, pid, flt = self._generation, self.project_id, self.filter
        future = self._submit(self.runner.submit_io, self.queries.count, pid, flt)
        if future is not None:
            self.bridge.run(future, lambda n: self._counted(gen, n))

    def _submit(self, submit: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Submit to an executor; None (and no more requests) once the executors are shut down."""
        try:
            return submit(fn, *args, **kwargs)
        except RuntimeError:  # "cannot schedule new futures after shutdown": the app is closing
            self.close()
            return None

    def _counted(self, generation: int, count: int) -> None:
        if generation != self._generation:
            return
        if count == self._count:  # same rows: refetch in place, keeping selection and scroll
            self._stale = set(self._pages)
            self._wanted.clear()
            self._in_flight.clear()
            if count:
                self.dataChanged.emit(self.index(0, 0), self.index(count - 1, len(COLUMNS) - 1))
        else:
            self.beginResetModel()
            self._count = count
            self._drop_pages()
            self.endResetModel()
        self.count_loaded.emit(count)

    def _drop_pages(self) -> None:
        self._pages.clear()
        self._stale.clear()
        self._wanted.clear()
        self._in_flight.clear()

    # -- rows ---------------------------------------------------------------------------

    @property
    def materialized_rows(self) -> int:
        """Rows currently held in memory (bounded by max_pages * page_size)."""
        return sum(len(rows) for rows in self._pages.values())

    def row_at(self, row: int) -> TaskListRow | None:
        """The row if its page is cached; None (and a request for the page) otherwise."""
        if not 0 <= row < self._count:
            return None
        page = self._pages.get(row // self.page_size)
        if page is None:
            self._want(row // self.page_size)
            return None
        self._pages.move_to_end(row // self.page_size)
        if row // self.page_size in self._stale:
            self._want(row // self.page_size)
        offset = row % self.page_size
        return page[offset] if offset < len(page) else None

    def find_task(self, task_id: int) -> int | None:
        """The row of a task among the cached pages."""
        for number, rows in self._pages.items():
            for offset, r in enumerate(rows):
                if r.task_id == task_id:
                    return number * self.page_size + offset
        return None

    def _want(self, page: int) -> None:
        self._wanted.pop(page, None)
        self._wanted[page] = None
        while len(self._wanted) > self.max_requests * 2:  # scrolled past: forget the oldest
            self._wanted.popitem(last=False)
        if not self._timer.isActive():
            self._timer.start()

    def _request(self) -> None:
        gen, pid, flt = self._generation, self.project_id, self.filter
        if pid is None or self._closed:
            return
        for page in reversed(list(self._wanted)):  # newest first
            if len(self._in_flight) >= self.max_requests:
                break
            del self._wanted[page]
            if (page in self._pages and page not in self._stale) or page in self._in_flight:
                continue
            future = self._submit(self.runner.submit_io, self.queries.page, pid, flt,
                                  offset=page * self.page_size, limit=self.page_size)
            if future is None:
                return
            self._in_flight.add(page)
            self.bridge.run(future, lambda rows, page=page: self._arrived(gen, page, rows),
                            lambda exc, page=page: self._failed(gen, page, exc))

    def _arrived(self, generation: int, page: int, rows: list[TaskListRow]) -> None:
        if generation != self._generation:
            return
        self._in_flight.discard(page)
        self.pages_fetched += 1
        self._pages[page] = rows
        self._pages.move_to_end(page)
        self._stale.discard(page)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        if rows:
            first = page * self.page_size
            self.dataChanged.emit(self.index(first, 0), self.index(first + len(rows) - 1, len(COLUMNS) - 1))
        self.page_loaded.emit(page)
        if self._wanted:
            self._timer.start()

    def _failed(self, generation: int, page: int, exc: BaseException) -> None:
        if generation == self._generation:
            self._in_flight.discard(page)
        self.bridge.error.emit(f"cannot read the task list: {exc}")

    # -- thumbnails ---------------------------------------------------------------------

    def _thumbnail(self, r: TaskListRow) -> QPixmap | None:
        if r.sha256 in self._pixmaps:
            self._pixmaps.move_to_end(r.sha256)
            return self._pixmaps[r.sha256]
        if self.thumbs is not None and r.sha256 not in self._thumbs_in_flight:
            self._thumbs_wanted.pop(r.sha256, None)
            self._thumbs_wanted[r.sha256] = r
            while len(self._thumbs_wanted) > 128:
                self._thumbs_wanted.popitem(last=False)
            self._start_thumbnails()
        return None

    def _start_thumbnails(self) -> None:
        while self._thumbs_wanted and len(self._thumbs_in_flight) < 4 and not self._closed:
            sha, r = self._thumbs_wanted.popitem(last=True)  # newest first: what is on screen now
            assert self.thumbs is not None
            future = self._submit(self.runner.submit_cpu, self.thumbs.png, sha, r.path, r.modality, r.width)
            if future is None:
                return
            self._thumbs_in_flight.add(sha)
            self.bridge.run(future, lambda data, sha=sha: self._thumb_ready(sha, data),
                            lambda _exc, sha=sha: self._thumb_ready(sha, None))

    def _thumb_ready(self, sha: str, data: bytes | None) -> None:
        self._thumbs_in_flight.discard(sha)
        pixmap = None
        if data:
            pixmap = QPixmap()
            if not pixmap.loadFromData(data, "PNG"):
                pixmap = None
        self._pixmaps[sha] = pixmap
        while len(self._pixmaps) > 2000:
            self._pixmaps.popitem(last=False)
        for number, rows in self._pages.items():
            for offset, r in enumerate(rows):
                if r.sha256 == sha:
                    index = self.index(number * self.page_size + offset, THUMB_COLUMN)
                    self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
        self._start_thumbnails()

    def thumbnail_ready(self, sha256: str) -> bool:
        return self._pixmaps.get(sha256) is not None

    # -- Qt model interface -------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.row_at(index.row())
        column = index.column()
        if r is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole and column == NAME_COLUMN else None
        if role == Qt.ItemDataRole.DisplayRole:
            return ("", r.name, r.modality, _state_text(r), r.label_count)[column]
        if role == Qt.ItemDataRole.DecorationRole and column == THUMB_COLUMN:
            return self._thumbnail(r)
        if role == Qt.ItemDataRole.ToolTipRole and column == NAME_COLUMN:
            return f"{r.name}\ntask #{r.task_id}, asset #{r.asset_id}"
        if role == Qt.ItemDataRole.ToolTipRole and column == STATE_COLUMN and r.sync_detail:
            return r.sync_detail  # why the coordinator did not take this work; it is kept here
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE_COLUMN and r.sync_state in ATTENTION:
            return QColor(STATE_COLOURS["rejected"])
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE_COLUMN and r.state in STATE_COLOURS:
            return QColor(STATE_COLOURS[r.state])
        if role == Qt.ItemDataRole.TextAlignmentRole and column == LABELS_COLUMN:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == ROW_ROLE:
            return r
        return None
