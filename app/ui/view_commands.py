"""The View and Tools commands, applied to whatever canvas the window holds.

Written against `app.ui.canvas.view.CanvasView` (fit, actual_size, zoom/set_zoom,
show_crosshair, set_tool(Tool), image_item.show_pixel_grid, image_pixel, cursor_moved,
zoom_changed) and tolerant of a canvas that lacks any of it (the placeholder). Tools are
created from the registry for the open session (a tool's context is the session), and made
again when the session changes.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtWidgets import QWidget

from app.editing.session import AssetSession
from app.ui.status import StatusBar

log = logging.getLogger(__name__)
ZOOM_STEP = 1.25


class ViewCommands:
    def __init__(self, canvas: QWidget, status: StatusBar) -> None:
        self.canvas = canvas
        self.status = status
        self.session: AssetSession | None = None
        self.tool_id: str | None = None
        self.pixel_grid = False
        self.crosshair = False
        if hasattr(canvas, "zoom_changed"):
            canvas.zoom_changed.connect(status.show_zoom)
        if hasattr(canvas, "cursor_moved"):
            canvas.cursor_moved.connect(self._cursor)

    def _call(self, *names: str, args: tuple[Any, ...] = ()) -> bool:
        for name in names:
            method = getattr(self.canvas, name, None)
            if callable(method):
                method(*args)
                return True
        return False

    def set_session(self, session: AssetSession | None) -> None:
        self.session = session
        self._call("set_session", args=(session,))
        self._apply_tool()
        self._apply_flags()

    def fit(self) -> None:
        self._call("fit")

    def actual_size(self) -> None:
        self._call("actual_size", "zoom_actual")

    def zoom_by(self, factor: float) -> None:
        zoom = getattr(self.canvas, "zoom", None)
        if isinstance(zoom, float) and self._call("set_zoom", args=(zoom * factor,)):
            return
        self._call("zoom_in" if factor > 1 else "zoom_out")

    def set_pixel_grid(self, on: bool) -> None:
        self.pixel_grid = on
        self._apply_flags()

    def set_crosshair(self, on: bool) -> None:
        self.crosshair = on
        self._apply_flags()

    def _apply_flags(self) -> None:
        if not self._call("set_crosshair", args=(self.crosshair,)) and hasattr(self.canvas, "show_crosshair"):
            self.canvas.show_crosshair = self.crosshair
        if not self._call("set_pixel_grid", args=(self.pixel_grid,)):
            item = getattr(self.canvas, "image_item", None)
            if item is not None and hasattr(item, "show_pixel_grid"):
                item.show_pixel_grid = self.pixel_grid
        viewport = getattr(self.canvas, "viewport", None)
        if callable(viewport):
            viewport().update()

    def set_tool(self, tool_id: str) -> None:
        self.tool_id = tool_id
        self._apply_tool()

    def _apply_tool(self) -> None:
        if not callable(getattr(self.canvas, "set_tool", None)):
            return
        tool = None
        if self.session is not None and self.tool_id is not None:
            try:
                registry = importlib.import_module("app.annotators.tools.registry")
                tool = registry.get(self.tool_id).create(self.session)
            except Exception as exc:  # a tool module with a bug must not take the window down
                log.exception("cannot create the %s tool", self.tool_id)
                self.status.showMessage(f"the {self.tool_id} tool cannot start: {exc}", 8000)
        self.canvas.set_tool(tool)

    def _cursor(self, x: float, y: float) -> None:
        pixel = None
        getter = getattr(self.canvas, "image_pixel", None)
        if callable(getter):
            try:
                pixel = getter(x, y)
            except Exception:  # noqa: BLE001 - the status bar must never break pointer moves
                pixel = None
        self.status.show_cursor(x, y, pixel)
