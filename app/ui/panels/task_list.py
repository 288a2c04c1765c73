"""The task list dock: filters (state, label, name) over a virtual table of the project's tasks.

Selecting a row (click, arrow keys, `select_relative` from the Next/Previous actions) emits
`task_activated(TaskListRow)`; when the row's page is not loaded yet, the emit waits for it.
Filtering, counting and paging all run in the store on worker threads (see `task_model`).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
from app.store.tables import TASK_STATES
from app.store.task_queries import TaskFilter, TaskListRow, TaskQueries
from app.store.workspace import Workspace
from app.ui.panels.task_model import NAME_COLUMN, THUMB_COLUMN, TaskTableModel
from app.ui.panels.thumbnails import THUMB_SIZE, ThumbnailCache
from app.ui.workers import Bridge

__all__ = ["TaskListPanel", "TaskTableModel", "label_choices"]

ALL, UNLABELLED = "", "\0unlabelled"


def label_choices(ws: Workspace, project_id: int) -> list[str]:
    """The schema's classes, then any other label in use (worker thread: reads the store)."""
    schema = ws.schemas.current_schema(project_id)
    names = list(schema.class_names) if schema is not None else []
    return names + [label for label in TaskQueries(ws.db).labels(project_id) if label not in names]


class TaskListPanel(QWidget):
    task_activated = Signal(object)  # TaskListRow
    count_changed = Signal(int)

    def __init__(self, ctx: AppContext, bridge: Bridge, parent: QWidget | None = None, *,
                 page_size: int = 100, max_pages: int = 30) -> None:
        super().__init__(parent)
        self.ctx, self.bridge = ctx, bridge
        ws = ctx.workspace
        self.queries = TaskQueries(ws.db)
        self.model = TaskTableModel(self.queries, ctx.runner, bridge, ThumbnailCache(ws.root),
                                    page_size=page_size, max_pages=max_pages, parent=self)
        self._pending_row: int | None = None
        self._quiet = False
        self._keep_task: int | None = None
        self.current_task_id: int | None = None  # the selected task, even while its page reloads
        self._build()
        self.model.page_loaded.connect(self._on_page)
        self.model.count_loaded.connect(self._on_count)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)

    def _build(self) -> None:
        self.state_box = QComboBox(objectName="task_list.state")
        self.state_box.addItem("All states", ALL)
        for state in TASK_STATES:
            self.state_box.addItem(state.replace("_", " ").capitalize(), state)
        self.label_box = QComboBox(objectName="task_list.label")
        self._fill_labels([])
        self.search = QLineEdit(objectName="task_list.search", placeholderText="Filter by name…", clearButtonEnabled=True)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.state_box.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.label_box.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.count_label = QLabel(objectName="task_list.count")
        self.view = QTableView(objectName="task_list.view")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setIconSize(QSize(*THUMB_SIZE))
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        rows = self.view.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # never measures 100,000 rows
        rows.setDefaultSectionSize(THUMB_SIZE[1] + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(THUMB_COLUMN, THUMB_SIZE[0] + 8)
        for column, width in ((2, 64), (3, 84), (4, 52)):
            header.resizeSection(column, width)
        filters = QHBoxLayout()
        filters.addWidget(self.state_box)
        filters.addWidget(self.label_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)

    # -- project and filter ---------------------------------------------------------------

    def set_project(self, project_id: int | None) -> None:
        self._pending_row = self.current_task_id = None
        self.model.set_query(project_id, self.current_filter())
        if project_id is not None:
            self.reload_labels()

    def reload_labels(self) -> None:
        pid = self.model.project_id
        if pid is not None:
            future = self.ctx.runner.submit_io(label_choices, self.ctx.workspace, pid)
            self.bridge.run(future, lambda labels: self._fill_labels(labels) if pid == self.model.project_id
                            else None)

    def _fill_labels(self, labels: list[str]) -> None:
        chosen = self.label_box.currentData()
        blocked = self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItem("All labels", ALL)
        self.label_box.addItem("Unlabelled", UNLABELLED)
        for label in labels:
            self.label_box.addItem(label, label)
        self.label_box.setCurrentIndex(max(0, self.label_box.findData(chosen)))
        self.label_box.blockSignals(blocked)

    def current_filter(self) -> TaskFilter:
        label = self.label_box.currentData()
        return TaskFilter(state=self.state_box.currentData() or None,
                          label=None if label in (ALL, UNLABELLED, None) else label,
                          text=self.search.text(), unlabelled=label == UNLABELLED)

    def set_filter(self, *, state: str | None = None, label: str | None = None, text: str = "") -> None:
        """Set every filter at once (tests, saved views); the query runs once."""
        for box, value in ((self.state_box, state or ALL), (self.label_box, label or ALL)):
            blocked = box.blockSignals(True)
            index = box.findData(value)
            if index < 0:
                box.addItem(str(value), value)
                index = box.count() - 1
            box.setCurrentIndex(index)
            box.blockSignals(blocked)
        blocked = self.search.blockSignals(True)
        self.search.setText(text)
        self.search.blockSignals(blocked)
        self._apply_filter()

    def _apply_filter(self) -> None:
        self._debounce.stop()
        self._pending_row = None
        self._keep_task = self.current_task_id  # stays selected when the new filter keeps it
        self.model.set_query(self.model.project_id, self.current_filter())

    def refresh(self) -> None:
        """Re-read the list (states changed) keeping the current task selected, without re-opening it."""
        self._keep_task = self.current_task_id
        self.model.refresh()
        self.reload_labels()

    def _on_count(self, count: int) -> None:
        self.count_label.setText(f"{count:,} task{'s' if count != 1 else ''}")
        self.count_changed.emit(count)
        task_id, self._keep_task = self._keep_task, None
        pid, flt = self.model.project_id, self.model.filter
        if task_id is None or pid is None:
            return
        future = self.ctx.runner.submit_io(self.queries.position, pid, task_id, flt)
        self.bridge.run(future, lambda row: self._restore(pid, flt, task_id, row))

    def _restore(self, pid: int, flt: TaskFilter, task_id: int, row: int | None) -> None:
        if (pid, flt) != (self.model.project_id, self.model.filter) or task_id != self.current_task_id:
            return  # another query, or the user chose another task meanwhile
        self.current_task_id = None if row is None else task_id
        self._quiet = True
        try:
            if row is None:
                self.view.selectionModel().clearCurrentIndex()
                self.view.clearSelection()
            else:
                self.select_row(row)
        finally:
            self._quiet = False

    # -- selection and navigation -------------------------------------------------------

    def current_row(self) -> TaskListRow | None:
        index = self.view.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def rows_after_current(self, n: int) -> list[TaskListRow]:
        """Up to `n` loaded rows after the current one, in list order (what prefetch encodes)."""
        current = self.view.currentIndex()
        start = current.row() + 1 if current.isValid() else 0
        rows = (self.model.row_at(i) for i in range(start, min(start + n, self.model.rowCount())))
        return [r for r in rows if r is not None]

    def select_row(self, row: int) -> bool:
        if not 0 <= row < self.model.rowCount():
            return False
        index = self.model.index(row, NAME_COLUMN)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        return True

    def select_relative(self, step: int) -> bool:
        """Move the selection by `step` rows (Next/Previous asset); False at either end."""
        count = self.model.rowCount()
        if not count:
            return False
        current = self.view.currentIndex()
        if not current.isValid():
            return self.select_row(0 if step > 0 else count - 1)
        target = current.row() + step
        return target != current.row() and self.select_row(target)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet or not current.isValid():
            return
        r = self.model.row_at(current.row())
        if r is None:
            self._pending_row = current.row()  # emitted when its page arrives
        else:
            self._pending_row = None
            self._activate(r)

    def _activate(self, r: TaskListRow) -> None:
        self.current_task_id = r.task_id
        self.task_activated.emit(r)

    def _on_page(self, page: int) -> None:
        row = self._pending_row
        if row is not None and row // self.model.page_size == page:
            r = self.model.row_at(row)
            if r is not None:
                self._pending_row = None
                self._activate(r)

