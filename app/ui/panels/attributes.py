"""AttributeEditor: editors generated from the schema's AttributeSpecs for the selection.

A multi-selection shows the attributes its labels share; values that differ show as mixed.
Each finished edit pushes one SetAttribute (one undo step) on the unlocked annotations of
the selection. A value the spec refuses is shown under its field, and nothing is pushed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.annotators.annotation import Annotation
from app.annotators.changes import ChangeSet
from app.annotators.commands import SetAttribute
from app.annotators.document import DOCUMENT_CHANGED
from app.annotators.ontology import AttributeSpec
from app.editing.session import SELECTION_CHANGED, AssetSession
from app.ui.panels._attribute_fields import make_field
from app.ui.panels._common import Subscriptions, error_label, run_command, show_error

_MISSING = object()


class AttributeEditor(QWidget):
    def __init__(self, session: AssetSession | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AttributeEditor")
        self.session: AssetSession | None = None
        self._subs = Subscriptions()
        self._specs: tuple[AttributeSpec, ...] = ()
        self._fields: dict[str, QWidget] = {}
        self._errors: dict[str, QLabel] = {}
        self._summary = QLabel(self)
        self._summary.setProperty("role", "caption")
        self._summary.setWordWrap(True)
        self._form_host = QWidget()
        self._form = QFormLayout(self._form_host)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self._form_host)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self._summary)
        layout.addWidget(scroll, 1)
        self.set_session(session)

    # -- binding -------------------------------------------------------------------------

    def set_session(self, session: AssetSession | None) -> None:
        self._subs.clear()
        self.session = session
        if session is not None:
            self._subs.add(session.events, SELECTION_CHANGED, lambda _ids: self._rebuild())
            self._subs.add(session.document.events, DOCUMENT_CHANGED, self._on_document)
        self._rebuild()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._subs.clear()
        super().closeEvent(event)

    def field(self, name: str) -> QWidget | None:
        """The editor of attribute `name`, if shown."""
        return self._fields.get(name)

    def error_text(self, name: str) -> str:
        """The inline error under attribute `name` ("" when none is shown)."""
        label = self._errors.get(name)
        return label.text() if label is not None and not label.isHidden() else ""

    def _selected(self) -> list[Annotation]:
        if self.session is None:
            return []
        doc = self.session.document
        return [doc.get(i) for i in sorted(self.session.selection) if i in doc]

    def _on_document(self, changes: ChangeSet) -> None:
        if self.session is not None and changes.ids & self.session.selection:
            if self._shared_specs(self._selected()) != self._specs:
                self._rebuild()
            else:
                self._show_values()

    # -- building ------------------------------------------------------------------------

    def _rebuild(self) -> None:
        self._fields.clear()  # first: a field losing focus as it goes must find nothing to commit
        self._errors.clear()
        while self._form.rowCount():
            self._form.removeRow(0)
        selected = self._selected()
        self._specs = self._shared_specs(selected)
        self._summary.setText(self._summary_text(selected))
        for spec in self._specs:
            self._add_row(spec)
        self._form_host.setEnabled(any(not a.locked for a in selected))
        self._show_values()

    def _add_row(self, spec: AttributeSpec) -> None:
        label = QLabel(spec.name + (" *" if spec.required else ""))
        label.setToolTip(spec.description or spec.name)
        field = make_field(spec, lambda value, spec=spec: self._commit(spec, value))
        error = error_label()
        self._form.addRow(label, field)
        self._form.addRow(error)
        self._fields[spec.name] = field
        self._errors[spec.name] = error

    def _shared_specs(self, selected: list[Annotation]) -> tuple[AttributeSpec, ...]:
        schema = self.session.schema if self.session is not None else None
        if schema is None or not selected:
            return ()
        per_label: list[tuple[AttributeSpec, ...]] = []
        for label in dict.fromkeys(a.label for a in selected):
            try:
                per_label.append(schema.attribute_specs(label))
            except Exception:  # noqa: BLE001 - a label outside the schema has no attributes
                return ()
        return tuple(s for s in per_label[0] if all(s in specs for specs in per_label[1:]))

    def _summary_text(self, selected: list[Annotation]) -> str:
        if self.session is None:
            return ""
        if not selected:
            return "No annotation selected"
        labels = sorted({a.label for a in selected})
        what = labels[0] if len(labels) == 1 else f"{len(labels)} labels"
        text = f"{what}" if len(selected) == 1 else f"{len(selected)} selected · {what}"
        if all(a.locked for a in selected):
            text += " · locked"
        if self.session.schema is None:
            text += " · no label schema: no attributes to edit"
        elif not self._specs:
            text += " · no attributes"
        return text

    def _show_values(self) -> None:
        selected = self._selected()
        for spec in self._specs:
            values = {_key(a.attributes.get(spec.name, _MISSING)) for a in selected}
            mixed = len(values) > 1
            value = next(iter(values))[1] if len(values) == 1 else None
            self._fields[spec.name].show_value(None if value is _MISSING else value, mixed)

    # -- editing -------------------------------------------------------------------------

    def _commit(self, spec: AttributeSpec, value: Any) -> None:
        session = self.session
        error = self._errors.get(spec.name)
        if session is None or error is None:
            return
        show_error(error, None)
        if value is None and spec.required:
            show_error(error, f"{spec.name} is required")
            self._show_values()
            return
        if value is not None and (problem := spec.check(value)):
            show_error(error, problem)
            return
        ids = [a.id for a in self._selected() if not a.locked]
        if ids:
            run_command(session, SetAttribute(ids, spec.name, value),
                        lambda message: show_error(error, message))


def _key(value: Any) -> tuple[str, Any]:
    # 1 == 1.0 == True: compare values with their type, as the commands do.
    return (type(value).__name__, value)
