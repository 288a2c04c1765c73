"""One editor widget per attribute type, behind one small interface.

Each field shows a value (`show(value, mixed)`, signals blocked: an echo is not an edit) and
calls `on_commit(value)` when the user finishes an edit; None means "clear the attribute".
A multi-selection whose values differ shows as mixed: a partly checked box, a "(mixed)"
combo entry, a "(mixed)" placeholder, or a spin box reading "(mixed)".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSizePolicy, QWidget

from app.annotators.ontology import AttributeSpec

Commit = Callable[[Any], None]
MIXED = "(mixed)"
UNSET = "(unset)"
_NO_VALUE = object()  # the combo entry standing for "mixed"


class BoolField(QCheckBox):
    def __init__(self, spec: AttributeSpec, on_commit: Commit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.clicked.connect(lambda: self._commit(on_commit))

    def show_value(self, value: Any, mixed: bool) -> None:
        with QSignalBlocker(self):
            self.setTristate(mixed)
            state = Qt.CheckState.PartiallyChecked if mixed else (
                Qt.CheckState.Checked if value is True else Qt.CheckState.Unchecked)
            self.setCheckState(state)

    def _commit(self, on_commit: Commit) -> None:
        checked = self.checkState() != Qt.CheckState.Unchecked  # mixed -> click -> on
        with QSignalBlocker(self):
            self.setTristate(False)
            self.setChecked(checked)
        on_commit(checked)


class EnumField(QComboBox):
    def __init__(self, spec: AttributeSpec, on_commit: Commit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec = spec
        self.activated.connect(lambda index: self._commit(index, on_commit))

    def show_value(self, value: Any, mixed: bool) -> None:
        with QSignalBlocker(self):
            self.clear()
            if mixed:
                self.addItem(MIXED, _NO_VALUE)
            if not self._spec.required or (value is None and not mixed):
                self.addItem("", None)  # unset
            for option in self._spec.values:
                self.addItem(option, option)
            index = 0 if mixed else self.findData(value)
            self.setCurrentIndex(max(index, 0))

    def _commit(self, index: int, on_commit: Commit) -> None:
        value = self.itemData(index)
        if value is not _NO_VALUE:
            on_commit(value)


class TextField(QLineEdit):
    def __init__(self, spec: AttributeSpec, on_commit: Commit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shown: str | None = None
        self._mixed = False
        self.setClearButtonEnabled(True)
        self.editingFinished.connect(lambda: self._commit(on_commit))

    def show_value(self, value: Any, mixed: bool) -> None:
        with QSignalBlocker(self):
            self._mixed = mixed
            self._shown = None if mixed or value is None else str(value)
            self.setText(self._shown or "")
            self.setPlaceholderText(MIXED if mixed else "")

    def _commit(self, on_commit: Commit) -> None:
        text = self.text()
        value = text if text else None
        if self._mixed and value is None:
            return  # left the "(mixed)" field empty: no edit
        if value != self._shown or self._mixed:
            self._shown, self._mixed = value, False
            on_commit(value)


class NumberField(QDoubleSpinBox):
    """A spin box over [min, max]; one step below min stands for "mixed" or "unset"."""

    def __init__(self, spec: AttributeSpec, on_commit: Commit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec = spec
        self._integral = _integral(spec)
        self.setDecimals(0 if self._integral else 3)
        self.setKeyboardTracking(False)  # commit on Return, focus out or a step, not per digit
        self.setAccelerated(True)
        self._low = spec.min if spec.min is not None else -1e9
        self._high = spec.max if spec.max is not None else 1e9
        self.setRange(self._low, self._high)
        self.valueChanged.connect(lambda value: self._commit(value, on_commit))

    def show_value(self, value: Any, mixed: bool) -> None:
        with QSignalBlocker(self):
            if mixed or not isinstance(value, int | float) or isinstance(value, bool):
                self.setSpecialValueText(MIXED if mixed else UNSET)
                self.setMinimum(self._low - 1)
                self.setValue(self._low - 1)
            else:
                self.setSpecialValueText("")
                self.setMinimum(self._low)
                self.setValue(float(value))

    def _commit(self, value: float, on_commit: Commit) -> None:
        if value < self._low or not math.isfinite(value):
            return  # the "(mixed)"/"(unset)" placeholder: no edit
        with QSignalBlocker(self):
            self.setSpecialValueText("")
            self.setMinimum(self._low)
        on_commit(int(round(value)) if self._integral or float(value).is_integer() else value)


def _integral(spec: AttributeSpec) -> bool:
    bounds_whole = all(b is None or float(b).is_integer() for b in (spec.min, spec.max))
    default = spec.default
    return bounds_whole and (isinstance(default, int) and not isinstance(default, bool))


FIELDS: dict[str, type[QWidget]] = {
    "bool": BoolField, "enum": EnumField, "text": TextField, "number": NumberField,
}


def make_field(spec: AttributeSpec, on_commit: Commit, parent: QWidget | None = None) -> QWidget:
    field = FIELDS[spec.type](spec, on_commit, parent)
    field.setObjectName(f"attr-{spec.name}")
    field.setToolTip(spec.description)
    return field
