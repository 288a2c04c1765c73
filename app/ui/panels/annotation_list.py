"""AnnotationList: the document's annotations as a dense table, selection shared with the session.

Selection flows both ways: selecting rows sets `session.selection`; a selection made
elsewhere (the canvas) is echoed into the view with the selection model's signals blocked,
so the echo does not come back as a new selection. The hidden/locked check boxes push
SetHidden/SetLocked (on the whole selection when the clicked row is part of it), and the
Delete key pushes RemoveAnnotations. Locked annotations are not deleted.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView, QVBoxLayout, QWidget

from app.annotators.changes import ChangeSet
from app.annotators.commands import RemoveAnnotations, SetHidden, SetLocked
from app.annotators.document import DOCUMENT_CHANGED
from app.editing.session import SELECTION_CHANGED, AssetSession
from app.ui.panels._annotation_model import HEADERS, KIND, LABEL, AnnotationTableModel
from app.ui.panels._common import Subscriptions, error_label, run_command, show_error


class _TableView(QTreeView):
    delete_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not event.modifiers():
            self.delete_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class AnnotationList(QWidget):
    def __init__(self, session: AssetSession | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AnnotationList")
        self.session: AssetSession | None = None
        self._subs = Subscriptions()
        self._applying = False  # model updates may move the view's selection: not the user's
        self.model = AnnotationTableModel(self)
        self.model.on_toggle = self._toggle
        self.view = _TableView(self)
        self._setup_view()
        self._error = error_label(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.view)
        layout.addWidget(self._error)
        self.set_session(session)

    def _setup_view(self) -> None:
        view = self.view
        view.setObjectName("AnnotationListView")
        view.setModel(self.model)
        view.setRootIsDecorated(False)
        view.setUniformRowHeights(True)
        view.setAlternatingRowColors(True)
        view.setAllColumnsShowFocus(True)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(LABEL, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(24)
        view.selectionModel().selectionChanged.connect(self._selection_from_view)
        view.delete_requested.connect(self.delete_selected)

    # -- binding -------------------------------------------------------------------------

    def set_session(self, session: AssetSession | None) -> None:
        self._subs.clear()
        self.session = session
        show_error(self._error, None)
        self._applying = True
        try:
            self.model.set_session(session)
        finally:
            self._applying = False
        if session is not None:
            self._subs.add(session.document.events, DOCUMENT_CHANGED, self._on_document)
            self._subs.add(session.events, SELECTION_CHANGED, self._echo_selection)
            self._echo_selection(session.selection)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._subs.clear()
        super().closeEvent(event)

    def selected_ids(self) -> frozenset[str]:
        """The annotations whose rows are selected in the view."""
        rows = self.view.selectionModel().selectedRows(LABEL)
        return frozenset(self.model.id_at(index.row()) for index in rows)

    def _on_document(self, changes: ChangeSet) -> None:
        self._applying = True
        try:
            self.model.apply(changes)
        finally:
            self._applying = False
        if self.session is not None and self.selected_ids() != self.session.selection:
            self._echo_selection(self.session.selection)

    # -- selection, both ways ------------------------------------------------------------

    def _selection_from_view(self, *_args: object) -> None:
        if self._applying or self.session is None:
            return
        self.session.set_selection(self.selected_ids())

    def _echo_selection(self, ids: frozenset[str]) -> None:
        if self.selected_ids() == ids:
            return
        selection = QItemSelection()
        rows = sorted(r for r in (self.model.row_of(i) for i in ids) if r is not None)
        for row in rows:
            selection.select(self.model.index(row, 0), self.model.index(row, len(HEADERS) - 1))
        selection_model = self.view.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        with QSignalBlocker(selection_model):
            selection_model.select(selection, flags)
            if rows:
                current = self.model.index(rows[0], KIND)
                selection_model.setCurrentIndex(current, QItemSelectionModel.SelectionFlag.NoUpdate)
        self.view.viewport().update()  # the view missed the blocked signal: repaint it
        if rows:
            self.view.scrollTo(self.model.index(rows[0], LABEL))

    # -- commands ------------------------------------------------------------------------

    def _toggle(self, ann_id: str, field: str, value: bool) -> None:
        session = self.session
        if session is None:
            return
        ids = sorted(session.selection) if ann_id in session.selection else [ann_id]
        command = SetHidden(ids, value) if field == "hidden" else SetLocked(ids, value)
        show_error(self._error, None)
        run_command(session, command, self._show_error)

    def delete_selected(self) -> None:
        """Remove the selected annotations that are not locked (one undo step)."""
        session = self.session
        if session is None or not session.selection:
            return
        doc = session.document
        ids = [i for i in sorted(session.selection) if not doc.get(i).locked]
        kept = len(session.selection) - len(ids)
        show_error(self._error, f"{kept} locked annotation{'s' if kept > 1 else ''} not deleted"
                   if kept else None)
        if ids:
            run_command(session, RemoveAnnotations(ids), self._show_error)

    def _show_error(self, message: str) -> None:
        show_error(self._error, message)
