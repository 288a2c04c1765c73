"""HistoryPanel: the undo and redo steps as a list; clicking an entry undoes or redoes to it.

Row 0 is the state before the oldest step still held, then one row per undo step (oldest
first; the current state is the selected row), then the redo steps, greyed. The list is
updated by the common prefix on each `history_changed`, so a drag that merges into one step
changes one row, not the whole list.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.core.errors import AlayaError
from app.core.history import HISTORY_CHANGED, History
from app.ui.panels._common import Subscriptions, error_label, show_error

ORIGIN_TEXT = "Opened"


class HistoryPanel(QWidget):
    def __init__(self, history: History[Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HistoryPanel")
        self.history: History[Any] | None = None
        self._subs = Subscriptions()
        self._entries: list[tuple[str, bool]] = []  # (text, is_redo) per row
        self._list = QListWidget(self)
        self._list.setObjectName("HistoryList")
        self._list.setUniformItemSizes(True)
        self._list.itemClicked.connect(lambda item: self.go_to(self._list.row(item)))
        self._error = error_label(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._list)
        layout.addWidget(self._error)
        self.set_history(history)

    # -- binding -------------------------------------------------------------------------

    def set_session(self, session: Any | None) -> None:
        """Show the history of an AssetSession (or of nothing)."""
        self.set_history(session.history if session is not None else None)

    def set_history(self, history: History[Any] | None) -> None:
        self._subs.clear()
        self.history = history
        show_error(self._error, None)
        if history is not None:
            self._subs.add(history.events, HISTORY_CHANGED, lambda _state: self._refresh())
        self._refresh()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._subs.clear()
        super().closeEvent(event)

    def texts(self) -> list[str]:
        """What the rows read, top to bottom."""
        return [self._list.item(row).text() for row in range(self._list.count())]

    def current_row(self) -> int:
        """The row of the current state (the number of undo steps held)."""
        return len(self.history.undo_labels()) if self.history is not None else -1

    # -- display -------------------------------------------------------------------------

    def _refresh(self) -> None:
        history = self.history
        entries: list[tuple[str, bool]] = []
        if history is not None:
            entries = [(ORIGIN_TEXT, False)]
            entries += [(text, False) for text in reversed(history.undo_labels())]
            entries += [(text, True) for text in history.redo_labels()]
        keep = 0
        while keep < min(len(entries), len(self._entries)) and entries[keep] == self._entries[keep]:
            keep += 1
        with QSignalBlocker(self._list):
            while self._list.count() > keep:
                self._list.takeItem(self._list.count() - 1)
            for text, is_redo in entries[keep:]:
                self._list.addItem(self._item(text, is_redo))
            self._entries = entries
            current = self.current_row()
            if current >= 0:
                self._list.setCurrentRow(current)
        if current >= 0:
            self._list.scrollToItem(self._list.item(current))

    def _item(self, text: str, is_redo: bool) -> QListWidgetItem:
        item = QListWidgetItem(text)
        if is_redo:
            item.setForeground(self.palette().brush(QPalette.ColorGroup.Disabled,
                                                    QPalette.ColorRole.Text))
            item.setToolTip("Undone: click to redo up to here")
        elif text != ORIGIN_TEXT:
            item.setToolTip("Click to undo back to here")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        return item

    # -- travelling ----------------------------------------------------------------------

    def go_to(self, row: int) -> None:
        """Undo or redo until the state after row `row`'s step is current (0: the origin)."""
        history = self.history
        if history is None or row < 0:
            return
        show_error(self._error, None)
        try:
            while self.current_row() > row and history.can_undo:
                history.undo()
            while self.current_row() < row and history.can_redo:
                history.redo()
        except AlayaError as exc:
            show_error(self._error, str(exc))
        self._refresh()
