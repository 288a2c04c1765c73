"""ShortcutEditor: a table of actions and their shortcuts, with conflicts shown as they happen.

It knows nothing of how actions are built: it takes (action id, text, default shortcut,
current shortcut) tuples and returns the overrides, action id -> key sequence text (portable
form, "" for "no shortcut"), holding only the actions that differ from their default. That
mapping is what `shortcuts.bindings` in the settings stores. OK is disabled while two actions
share a shortcut.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

Entry = tuple[str, str, str, str]  # (action id, text, default shortcut, current shortcut)
ACTION, ACTION_ID, SHORTCUT, DEFAULT, RESET = range(5)
HEADERS = ("Action", "Id", "Shortcut", "Default", "")
PORTABLE = QKeySequence.SequenceFormat.PortableText
NATIVE = QKeySequence.SequenceFormat.NativeText


def normalized(text: str) -> str:
    """The portable spelling of a key sequence ("ctrl+s" -> "Ctrl+S"; "" stays "")."""
    return QKeySequence(text).toString(PORTABLE) if text.strip() else ""


class ShortcutEditor(QDialog):
    def __init__(self, entries: Sequence[Entry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShortcutEditor")
        self.setWindowTitle("Keyboard shortcuts")
        self._ids = [entry[0] for entry in entries]
        self._texts = {entry[0]: entry[1] for entry in entries}
        self._defaults = {entry[0]: normalized(entry[2]) for entry in entries}
        self._edits: dict[str, QKeySequenceEdit] = {}
        self._filter = QLineEdit(self)
        self._filter.setPlaceholderText("Filter by action, id or shortcut")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._apply_filter)
        self._table = QTableWidget(len(entries), len(HEADERS), self)
        self._setup_table(entries)
        self._status = QLabel(self)
        self._status.setProperty("role", "error")
        self._status.setWordWrap(True)
        reset_all = QPushButton("Reset all to defaults")
        reset_all.clicked.connect(self.reset_all)
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                         | QDialogButtonBox.StandardButton.Cancel, self)
        self._buttons.addButton(reset_all, QDialogButtonBox.ButtonRole.ResetRole)
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._filter)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._status)
        layout.addWidget(self._buttons)
        self.resize(680, 480)
        self._update_conflicts()

    @classmethod
    def edit(cls, entries: Sequence[Entry], parent: QWidget | None = None) -> dict[str, str] | None:
        """Run the dialog; the overrides mapping, or None when cancelled."""
        dialog = cls(entries, parent)
        return dialog.overrides() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _setup_table(self, entries: Sequence[Entry]) -> None:
        table = self._table
        table.setHorizontalHeaderLabels(list(HEADERS))
        table.verticalHeader().hide()
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ACTION, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(SHORTCUT, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(SHORTCUT, 160)
        for row, (action_id, text, default, current) in enumerate(entries):
            table.setItem(row, ACTION, QTableWidgetItem(text.replace("&", "")))
            table.setItem(row, ACTION_ID, QTableWidgetItem(action_id))
            table.setItem(row, DEFAULT, QTableWidgetItem(
                QKeySequence(self._defaults[action_id]).toString(NATIVE)))
            edit = QKeySequenceEdit(QKeySequence(normalized(current)))
            edit.setClearButtonEnabled(True)
            edit.setObjectName(f"shortcut-{action_id}")
            edit.keySequenceChanged.connect(lambda _seq: self._update_conflicts())
            table.setCellWidget(row, SHORTCUT, edit)
            self._edits[action_id] = edit
            reset = QToolButton()
            reset.setText("↺")
            reset.setToolTip("Reset to default")
            reset.clicked.connect(lambda _checked=False, a=action_id: self.reset(a))
            table.setCellWidget(row, RESET, reset)

    # -- values --------------------------------------------------------------------------

    def shortcut(self, action_id: str) -> str:
        """The shortcut now shown for `action_id`, in portable text ("" for none)."""
        return self._edits[action_id].keySequence().toString(PORTABLE)

    def set_shortcut(self, action_id: str, text: str) -> None:
        self._edits[action_id].setKeySequence(QKeySequence(normalized(text)))

    def reset(self, action_id: str) -> None:
        self.set_shortcut(action_id, self._defaults[action_id])

    def reset_all(self) -> None:
        for action_id in self._ids:
            with QSignalBlocker(self._edits[action_id]):
                self.reset(action_id)
        self._update_conflicts()

    def overrides(self) -> dict[str, str]:
        """action id -> shortcut for every action whose shortcut differs from its default."""
        return {a: self.shortcut(a) for a in self._ids if self.shortcut(a) != self._defaults[a]}

    def conflicts(self) -> dict[str, list[str]]:
        """Shortcut -> the action ids sharing it, for shortcuts used more than once."""
        users: dict[str, list[str]] = {}
        for action_id in self._ids:
            sequence = self.shortcut(action_id)
            if sequence:
                users.setdefault(sequence, []).append(action_id)
        return {seq: ids for seq, ids in users.items() if len(ids) > 1}

    # -- display -------------------------------------------------------------------------

    def _update_conflicts(self) -> None:
        conflicts = self.conflicts()
        clashing = {a: ids for ids in conflicts.values() for a in ids}
        brush = _error_brush(self.palette())
        for row, action_id in enumerate(self._ids):
            item = self._table.item(row, ACTION)
            others = [self._texts[o] for o in clashing.get(action_id, []) if o != action_id]
            item.setData(Qt.ItemDataRole.ForegroundRole, brush if others else None)
            item.setToolTip(f"Same shortcut as: {', '.join(others)}" if others else action_id)
            font = item.font()
            font.setBold(bool(others))
            item.setFont(font)
        lines = [f"{QKeySequence(seq).toString(NATIVE)} is used by "
                 f"{', '.join(self._texts[a] for a in ids)}" for seq, ids in conflicts.items()]
        self._status.setText("\n".join(lines))
        self._status.setVisible(bool(lines))
        self._buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not conflicts)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row, action_id in enumerate(self._ids):
            haystack = f"{self._texts[action_id]} {action_id} {self.shortcut(action_id)}".lower()
            self._table.setRowHidden(row, bool(needle) and needle not in haystack)


def _error_brush(palette: QPalette) -> QBrush:
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return QBrush(QColor("#e06c6c" if dark else "#b3261e"))
