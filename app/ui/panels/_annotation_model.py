"""The table model behind AnnotationList: one row per annotation, topmost first.

It follows the document's ChangeSets: removed rows are removed, added rows inserted where
the drawing order puts them, changed rows repainted; only a change of drawing order
(z_order) re-lays out the rows. The hidden/locked check boxes never touch the document:
they call `on_toggle`, which pushes a command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from app.annotators.annotation import Annotation
from app.annotators.changes import ChangeSet
from app.editing.session import AssetSession
from app.ui.panels._common import label_colour, swatch_icon

LABEL, KIND, SOURCE, CONFIDENCE, HIDDEN, LOCKED = range(6)
HEADERS = ("Label", "Kind", "Source", "Conf.", "Hidden", "Locked")
TOGGLES = {HIDDEN: "hidden", LOCKED: "locked"}
ID_ROLE = Qt.ItemDataRole.UserRole
_Index = QModelIndex | QPersistentModelIndex
Toggle = Callable[[str, str, bool], None]  # (annotation id, "hidden"/"locked", new value)


class AnnotationTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.session: AssetSession | None = None
        self.on_toggle: Toggle | None = None
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._icons: dict[str, QIcon] = {}

    # -- following the document ----------------------------------------------------------

    def set_session(self, session: AssetSession | None) -> None:
        self.beginResetModel()
        self.session = session
        self._icons.clear()
        self._set_ids(self._target_order())
        self.endResetModel()

    def apply(self, changes: ChangeSet) -> None:
        """Bring the rows up to date with one ChangeSet."""
        for ann_id in changes.removed:
            row = self._rows.get(ann_id)
            if row is not None:
                self.beginRemoveRows(QModelIndex(), row, row)
                self._set_ids(self._ids[:row] + self._ids[row + 1:])
                self.endRemoveRows()
        target = self._target_order()
        present = set(self._ids)
        if self._ids != [i for i in target if i in present]:
            self._relayout(target)
            return
        for row, ann_id in enumerate(target):
            if ann_id not in present:
                self.beginInsertRows(QModelIndex(), row, row)
                self._set_ids(self._ids[:row] + [ann_id] + self._ids[row:])
                self.endInsertRows()
        for ann_id in changes.changed:
            row = self._rows.get(ann_id)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def _relayout(self, target: list[str]) -> None:
        # Drawing order changed: move rows, keeping persistent indexes (the selection) on them.
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_ids = [self._ids[i.row()] if i.isValid() else None for i in old]
        self._set_ids(target)
        new = [self.index(self._rows[i], p.column()) if i in self._rows else QModelIndex()
               for i, p in zip(old_ids, old, strict=True)]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _target_order(self) -> list[str]:
        if self.session is None:
            return []
        return [a.id for a in reversed(self.session.document.annotations())]

    def _set_ids(self, ids: list[str]) -> None:
        self._ids = ids
        self._rows = {ann_id: row for row, ann_id in enumerate(ids)}

    # -- lookups -------------------------------------------------------------------------

    def id_at(self, row: int) -> str:
        return self._ids[row]

    def row_of(self, ann_id: str) -> int | None:
        return self._rows.get(ann_id)

    def ids(self) -> list[str]:
        return list(self._ids)

    # -- QAbstractTableModel -------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.column() in TOGGLES else base

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.session is None or index.row() >= len(self._ids):
            return None
        ann_id = self._ids[index.row()]
        if role == ID_ROLE:
            return ann_id
        annotation = self.session.document.get(ann_id)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(annotation, column)
        if role == Qt.ItemDataRole.CheckStateRole and column in TOGGLES:
            on = getattr(annotation, TOGGLES[column])
            return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and column == LABEL:
            return self._icon(annotation.label)
        return self._style(annotation, column, role)

    def _style(self, annotation: Annotation, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(annotation)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == CONFIDENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and annotation.hidden and column not in TOGGLES:
            return QApplication.palette().brush(QPalette.ColorGroup.Disabled,
                                                QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.FontRole and column == SOURCE and annotation.source == "model":
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def setData(self, index: _Index, value: Any,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (role != Qt.ItemDataRole.CheckStateRole or index.column() not in TOGGLES
                or not index.isValid() or self.on_toggle is None):
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked
        self.on_toggle(self._ids[index.row()], TOGGLES[index.column()], checked)
        return True  # the document event repaints the row, if the command changed it

    def _icon(self, label: str) -> QIcon:
        icon = self._icons.get(label)
        if icon is None:
            icon = self._icons[label] = swatch_icon(label_colour(self.session, label))
        return icon


_SOURCE_TEXT = {"model": "◆ model", "human": "● human", "consensus": "◈ consensus"}


def _display(annotation: Annotation, column: int) -> str | None:
    if column == LABEL:
        return annotation.label
    if column == KIND:
        kind = annotation.shape.kind.replace("_", " ")
        return kind if annotation.frame is None else f"{kind} @{annotation.frame}"
    if column == SOURCE:
        return _SOURCE_TEXT.get(annotation.source, annotation.source)
    if column == CONFIDENCE:
        return "" if annotation.confidence is None else f"{annotation.confidence:.2f}"
    return None


def _tooltip(annotation: Annotation) -> str:
    lines = [f"{annotation.label} ({annotation.shape.kind})", f"by {annotation.author}",
             f"id {annotation.id[:12]}"]
    if annotation.confidence is not None:
        lines.insert(1, f"{annotation.source}, confidence {annotation.confidence:.3f}")
    if annotation.track_id:
        lines.append(f"track {annotation.track_id}")
    return "\n".join(lines)
