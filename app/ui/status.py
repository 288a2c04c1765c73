"""The status bar: zoom, cursor position, pixel value, and whether the asset is saved."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

SAVE_TEXT = {"saved": "✓ Saved", "saving": "Saving…"}


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zoom = QLabel(objectName="status.zoom")
        self.cursor = QLabel(objectName="status.cursor")
        self.pixel = QLabel(objectName="status.pixel")
        self.save_state = QLabel(objectName="status.save_state")
        for label, width in ((self.cursor, 110), (self.pixel, 130), (self.zoom, 60), (self.save_state, 90)):
            label.setMinimumWidth(width)
            self.addPermanentWidget(label)

    def show_zoom(self, scale: float) -> None:
        self.zoom.setText(f"{scale * 100:.0f}%")

    def show_cursor(self, x: float | None, y: float | None, pixel: object = None) -> None:
        """Image coordinates under the pointer (None: outside the image) and the pixel there."""
        self.cursor.setText("" if x is None or y is None else f"x {int(x)}  y {int(y)}")
        self.show_pixel(pixel)

    def show_pixel(self, value: object) -> None:
        if value is None:
            text = ""
        elif isinstance(value, Sequence) and not isinstance(value, str):
            text = " ".join(str(v) for v in value)
            text = f"RGB {text}" if len(value) == 3 else text
        else:
            text = str(value)
        self.pixel.setText(text)

    def show_save_state(self, state: str | None) -> None:
        """AssetSession.save_state: "saved", "saving" or "error: ..." (None: no asset open)."""
        if state is None:
            self.save_state.setText("")
            self.save_state.setToolTip("")
            return
        error = state.startswith("error")
        self.save_state.setText(SAVE_TEXT.get(state, "⚠ Not saved" if error else state))
        self.save_state.setToolTip(state)
        self.save_state.setStyleSheet("color: #dc2626; font-weight: bold" if error else "")
