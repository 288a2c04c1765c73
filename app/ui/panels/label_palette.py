"""LabelPalette: the schema's classes with colour and hotkey; picking one sets the current label.

With annotations selected, picking a label also relabels them (one undo step, which also fills
in the new class's attribute defaults). Locked annotations keep their label. The palette
echoes `session.label` back with its signals blocked, so the echo never becomes a command.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.annotators.commands import Relabel, SetAttribute
from app.annotators.document import DOCUMENT_CHANGED
from app.core.errors import AlayaError
from app.editing.session import LABEL_CHANGED, AssetSession
from app.ui.panels._common import Subscriptions, error_label, label_colour, show_error, swatch_icon

_NAME, _KEY = 0, 1
_LABEL_ROLE = Qt.ItemDataRole.UserRole


def hotkey_text(key: str | int) -> str | None:
    """A Qt key code (Qt.Key_1, Qt.Key_T) or key text ("1", "t") as schema hotkey text."""
    if isinstance(key, str):
        return key.lower() if len(key) == 1 else None
    code = int(key)
    if int(Qt.Key.Key_0) <= code <= int(Qt.Key.Key_9) or int(Qt.Key.Key_A) <= code <= int(Qt.Key.Key_Z):
        return chr(code).lower()
    return None


class LabelPalette(QWidget):
    def __init__(self, session: AssetSession | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LabelPalette")
        self.session: AssetSession | None = None
        self._subs = Subscriptions()
        self._tree = QTreeWidget(self)
        self._tree.setObjectName("LabelPaletteList")
        self._tree.setColumnCount(2)
        self._tree.setHeaderLabels(["Label", "Key"])
        self._tree.setHeaderHidden(True)
        self._tree.setRootIsDecorated(False)
        self._tree.setUniformRowHeights(True)
        self._tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # digits go to the main window
        self._tree.itemClicked.connect(lambda item, _col: self.choose(item.data(_NAME, _LABEL_ROLE)))
        self._error = error_label(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._tree)
        layout.addWidget(self._error)
        self.set_session(session)

    # -- binding -------------------------------------------------------------------------

    def set_session(self, session: AssetSession | None) -> None:
        self._subs.clear()
        self.session = session
        show_error(self._error, None)
        if session is not None:
            self._subs.add(session.events, LABEL_CHANGED, self._echo_label)
            if session.schema is None:  # the labels offered are the ones in use
                self._subs.add(session.document.events, DOCUMENT_CHANGED, self._labels_in_use)
        self._rebuild()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._subs.clear()
        super().closeEvent(event)

    def labels(self) -> list[str]:
        """The labels offered, in the palette's order."""
        return [self._tree.topLevelItem(i).data(_NAME, _LABEL_ROLE)
                for i in range(self._tree.topLevelItemCount())]

    def _rebuild(self) -> None:
        with QSignalBlocker(self._tree):
            self._tree.clear()
            for name, key in self._entries():
                item = QTreeWidgetItem([name, key.upper() if key else ""])
                item.setData(_NAME, _LABEL_ROLE, name)
                item.setIcon(_NAME, swatch_icon(label_colour(self.session, name)))
                item.setTextAlignment(_KEY, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setForeground(_KEY, self.palette().placeholderText())
                item.setToolTip(_NAME, self._tooltip(name, key))
                self._tree.addTopLevelItem(item)
        header = self._tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_KEY, QHeaderView.ResizeMode.ResizeToContents)
        if self.session is not None:
            self._echo_label(self.session.label)

    def _entries(self) -> list[tuple[str, str | None]]:
        session = self.session
        if session is None:
            return []
        if session.schema is not None:
            return [(c.name, c.hotkey) for c in session.schema.classes]
        # No schema: offer the labels in use, and the current one.
        names = dict.fromkeys([session.label, *(a.label for a in session.document)])
        return [(name, None) for name in sorted(names)]

    def _tooltip(self, name: str, key: str | None) -> str:
        description = ""
        if self.session is not None and self.session.schema is not None:
            description = self.session.schema.get_class(name).description
        parts = [name + (f"  [{key.upper()}]" if key else ""), description]
        return "\n".join(p for p in parts if p)

    def _labels_in_use(self, _changes: object) -> None:
        if [name for name, _ in self._entries()] != self.labels():
            self._rebuild()

    def _echo_label(self, label: str) -> None:
        with QSignalBlocker(self._tree):
            for i in range(self._tree.topLevelItemCount()):
                item = self._tree.topLevelItem(i)
                if item.data(_NAME, _LABEL_ROLE) == label:
                    self._tree.setCurrentItem(item)
                    return
            self._tree.clearSelection()

    # -- choosing ------------------------------------------------------------------------

    def handle_hotkey(self, key: str | int) -> bool:
        """Choose the class bound to `key` (key text or a Qt key code); False if none is."""
        session = self.session
        text = hotkey_text(key)
        if session is None or session.schema is None or text is None:
            return False
        cls = session.schema.class_for_hotkey(text)
        if cls is None:
            return False
        self.choose(cls.name)
        return True

    def choose(self, label: str) -> None:
        """Make `label` current and relabel the selected annotations with it."""
        session = self.session
        if session is None or not label:
            return
        show_error(self._error, None)
        try:
            session.set_label(label)
            self._relabel_selection(session, label)
        except AlayaError as exc:
            show_error(self._error, str(exc))
            self._echo_label(session.label)

    def _relabel_selection(self, session: AssetSession, label: str) -> None:
        doc = session.document
        selected = [doc.get(i) for i in sorted(session.selection)]
        ids = [a.id for a in selected if not a.locked and a.label != label]
        locked = sum(1 for a in selected if a.locked and a.label != label)
        if locked:
            show_error(self._error, f"{locked} locked annotation{'s' if locked > 1 else ''} kept "
                       "their label")
        if not ids:
            return
        schema = session.schema
        if schema is not None:
            allowed = schema.get_class(label).allowed_kinds
            wrong = [doc.get(i).shape.kind for i in ids if doc.get(i).shape.kind not in allowed]
            if wrong:
                raise AlayaError(f"{label!r} does not allow {wrong[0]} shapes "
                                 f"(allowed: {', '.join(allowed)})")
        with session.group(f"Label as {label}"):
            session.push(Relabel(ids, label))
            if schema is not None:
                for spec in schema.attribute_specs(label):
                    missing = [i for i in ids if spec.name not in doc.get(i).attributes]
                    if missing and spec.default is not None:
                        session.push(SetAttribute(missing, spec.name, spec.default))
