"""Editor widgets generated from a setting's pydantic field type.

bool -> check box; Literal -> combo; int with ge/le -> spin box (an optional int gets an
"automatic" entry one below its minimum); float -> decimal spin box; Path -> line edit with a
browse button; str and URLs -> line edit; `prelabel.model` -> the installed pre-labelers. Types with no generic editor (the shortcut bindings mapping) get None: they
have their own dialogs. An editor only converts; `LoadedSettings.update` validates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AnyUrl
from pydantic.fields import FieldInfo
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

INT_MAX = 2**31 - 1  # QSpinBox holds a C int
DIRECTORY_KEYS = frozenset({"workspace.path"})  # paths that name a folder, not a file
UNSET_TEXT = {"intake.workers": "automatic (CPU count)"}


class SettingEditor(ABC):
    """One key's editor: `widget` to place in the form, `value()` / `set_value(v)`."""

    widget: QWidget

    @abstractmethod
    def value(self) -> Any:
        ...

    @abstractmethod
    def set_value(self, value: Any) -> None:
        ...


class BoolEditor(SettingEditor):
    def __init__(self) -> None:
        self.widget = QCheckBox()

    def value(self) -> bool:
        return self.widget.isChecked()

    def set_value(self, value: Any) -> None:
        self.widget.setChecked(bool(value))


class ChoiceEditor(SettingEditor):
    def __init__(self, choices: tuple[Any, ...], optional: bool, names: dict[Any, str] | None = None) -> None:
        self.widget = QComboBox()
        if optional:
            self.widget.addItem("(unset)", None)
        for choice in choices:
            self.widget.addItem((names or {}).get(choice, str(choice)), choice)

    def value(self) -> Any:
        return self.widget.currentData()

    def set_value(self, value: Any) -> None:
        self.widget.setCurrentIndex(max(0, self.widget.findData(value)))


class FloatEditor(SettingEditor):
    def __init__(self, low: float | None, high: float | None) -> None:
        self.widget = QDoubleSpinBox()
        self.widget.setDecimals(3)
        self.widget.setSingleStep(0.05 if high is not None and high <= 1 else 0.5)
        self.widget.setRange(low if low is not None else -1e9, high if high is not None else 1e9)

    def value(self) -> float:
        return float(self.widget.value())

    def set_value(self, value: Any) -> None:
        self.widget.setValue(float(value))


def _model_choices() -> tuple[tuple[str, ...], dict[str, str]]:
    """The pre-labelers this build knows (the registry imports no model code)."""
    from app.models.registry import ENTRIES

    return tuple(e.id for e in ENTRIES), {e.id: e.name for e in ENTRIES}


class IntEditor(SettingEditor):
    def __init__(self, low: int | None, high: int | None, optional: bool, unset_text: str) -> None:
        self.widget = QSpinBox()
        self.widget.setAccelerated(True)
        self._low = low if low is not None else -INT_MAX
        self._optional = optional
        minimum = self._low - 1 if optional else self._low
        self.widget.setRange(minimum, min(high if high is not None else INT_MAX, INT_MAX))
        if optional:
            self.widget.setSpecialValueText(unset_text)
        if (high or 0) > 10_000:
            self.widget.setGroupSeparatorShown(True)

    def value(self) -> int | None:
        value = self.widget.value()
        return None if self._optional and value < self._low else value

    def set_value(self, value: Any) -> None:
        self.widget.setValue(self._low - 1 if value is None else int(value))


class TextEditor(SettingEditor):
    """str and URLs; an empty optional value means unset."""

    def __init__(self, optional: bool, placeholder: str = "") -> None:
        self.widget = self.line = QLineEdit()
        self._optional = optional
        self.line.setPlaceholderText(placeholder or ("unset" if optional else ""))
        self.line.setClearButtonEnabled(True)

    def value(self) -> str | None:
        text = self.line.text().strip()
        return None if self._optional and not text else text

    def set_value(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))


class PathEditor(TextEditor):
    def __init__(self, optional: bool, directory: bool) -> None:
        super().__init__(optional)
        self._directory = directory
        self.widget = QWidget()
        layout = QHBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose a folder" if directory else "Choose a file")
        browse.clicked.connect(self.browse)
        layout.addWidget(self.line, 1)
        layout.addWidget(browse)
        self.browse_button = browse

    def browse(self) -> None:
        start = self.line.text() or str(Path.home())
        if self._directory:
            chosen = QFileDialog.getExistingDirectory(self.widget, "Choose a folder", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self.widget, "Choose a file", start)
        if chosen:
            self.line.setText(chosen)


def editor_for(key: str, info: FieldInfo) -> SettingEditor | None:
    """An editor for the setting `key`, or None when its type has no generic editor."""
    base, optional = _unwrap(info.annotation)
    if key == "prelabel.model":  # a free name in the schema; here, the models installed
        ids, names = _model_choices()
        return ChoiceEditor(ids, optional, names)
    if base is float:
        low, high = _bounds(info)
        return FloatEditor(low, high)
    if base is bool:
        return BoolEditor()
    if get_origin(base) is Literal:
        return ChoiceEditor(get_args(base), optional)
    if base is int:
        low, high = _bounds(info)
        return IntEditor(low, high, optional, UNSET_TEXT.get(key, "unset"))
    if base is Path:
        return PathEditor(optional, directory=key in DIRECTORY_KEYS)
    if base is str:
        return TextEditor(optional)
    if isinstance(base, type) and issubclass(base, AnyUrl):
        return TextEditor(optional, placeholder="https://…" if not optional else "unset")
    return None


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """(the one non-None type, whether None is allowed), Annotated layers removed."""
    if get_origin(tp) is Annotated:
        return _unwrap(get_args(tp)[0])
    if get_origin(tp) in (Union, UnionType):
        args = [a for a in get_args(tp) if a is not NoneType]
        inner, _ = _unwrap(args[0]) if len(args) == 1 else (tp, False)
        return inner, NoneType in get_args(tp)
    return tp, False


def _bounds(info: FieldInfo) -> tuple[int | None, int | None]:
    low = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    return low, high
