"""Qt input -> the tools' neutral PointerEvent/KeyEvent (image coordinates, plain names)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent

from app.annotators.tools.base import Button, KeyEvent, Modifier, PointerEvent, PointerKind

_BUTTONS: dict[Qt.MouseButton, Button] = {
    Qt.MouseButton.LeftButton: "left", Qt.MouseButton.RightButton: "right", Qt.MouseButton.MiddleButton: "middle",
}
_MODIFIERS: tuple[tuple[Qt.KeyboardModifier, Modifier], ...] = (
    (Qt.KeyboardModifier.ShiftModifier, "shift"), (Qt.KeyboardModifier.ControlModifier, "ctrl"),
    (Qt.KeyboardModifier.AltModifier, "alt"), (Qt.KeyboardModifier.MetaModifier, "meta"),
)
_KEYS = {
    Qt.Key.Key_Escape: "Escape", Qt.Key.Key_Return: "Return", Qt.Key.Key_Enter: "Return",
    Qt.Key.Key_Backspace: "Backspace", Qt.Key.Key_Delete: "Delete", Qt.Key.Key_Tab: "Tab",
    Qt.Key.Key_Left: "Left", Qt.Key.Key_Right: "Right", Qt.Key.Key_Up: "Up", Qt.Key.Key_Down: "Down",
    Qt.Key.Key_BracketLeft: "[", Qt.Key.Key_BracketRight: "]", Qt.Key.Key_Space: "Space",
}


def modifiers(qt_mods: Qt.KeyboardModifier) -> frozenset[Modifier]:
    return frozenset(name for flag, name in _MODIFIERS if qt_mods & flag)


def pointer_event(kind: PointerKind, ev: QMouseEvent, scene_pos: QPointF, pixel_size: float) -> PointerEvent:
    if kind == "move":
        held = ev.buttons()
        button: Button = next((name for flag, name in _BUTTONS.items() if held & flag), "none")
    else:
        button = _BUTTONS.get(ev.button(), "none")
    return PointerEvent(kind=kind, x=scene_pos.x(), y=scene_pos.y(), button=button,
                        modifiers=modifiers(ev.modifiers()), pixel_size=pixel_size)


def key_event(ev: QKeyEvent) -> KeyEvent | None:
    name = _KEYS.get(Qt.Key(ev.key()))
    if name is None:
        text = ev.text()
        if not text or not text.isprintable():
            return None
        name = text.lower()
    return KeyEvent(key=name, modifiers=modifiers(ev.modifiers()))
