"""What the panels share: subscriptions that end with the session, swatches, inline errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from app.core.errors import AlayaError
from app.ui.canvas.annotation_layer import label_colour

__all__ = ["Subscriptions", "error_label", "label_colour", "run_command", "show_error", "swatch_icon"]

log = logging.getLogger(__name__)


class Subscriptions:
    """Unsubscribe handles of one binding; `clear()` when the panel changes session or closes."""

    def __init__(self) -> None:
        self._handles: list[Callable[[], None]] = []

    def add(self, emitter: Any, name: str, listener: Callable[[Any], object]) -> None:
        self._handles.append(emitter.subscribe(name, listener))

    def clear(self) -> None:
        handles, self._handles = self._handles, []
        for off in handles:
            off()


def swatch_icon(colour: QColor, size: int = 12) -> QIcon:
    """A small filled square with a thin darker border: the label's colour at a glance."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setPen(colour.darker(160))
    painter.setBrush(colour)
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


def error_label(parent: QWidget | None = None) -> QLabel:
    """A hidden, word-wrapped label styled by the theme (`QLabel[role="error"]`)."""
    label = QLabel(parent)
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_error(label: QLabel, message: str | None) -> None:
    label.setText(message or "")
    label.setVisible(bool(message))


def run_command(session: Any, command: Any, on_error: Callable[[str], None]) -> bool:
    """Push `command`; a user error goes to `on_error` (shown inline), never a traceback."""
    try:
        session.push(command)
    except AlayaError as exc:
        on_error(str(exc))
        return False
    except Exception as exc:  # a bug: log it with its traceback, tell the user briefly
        log.exception("command %r failed", getattr(command, "description", command))
        on_error(f"{type(exc).__name__}: {exc}")
        return False
    return True
