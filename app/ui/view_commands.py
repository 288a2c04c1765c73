"""The View and Tools commands applied to the canvas, and the canvas fed from the session.

Tools are created from the registry for the open session (a tool's context is the session)
and made again when the session changes; the asset's image is opened through the tiled
image item, which decodes in the background.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.annotators.tools import registry
from app.editing.session import AssetSession
from app.ui.canvas.view import CanvasView
from app.ui.status import StatusBar

log = logging.getLogger(__name__)
ZOOM_STEP = 1.25


class ViewCommands:
    def __init__(self, canvas: CanvasView, status: StatusBar, workspace_root: Path | None = None) -> None:
        self.canvas = canvas
        self.status = status
        self.workspace_root = workspace_root
        self.session: AssetSession | None = None
        self.tool_id: str | None = None
        canvas.zoom_changed.connect(status.show_zoom)
        canvas.cursor_moved.connect(self._cursor)

    def set_session(self, session: AssetSession | None) -> None:
        self.session = session
        self.canvas.set_session(session)
        self.canvas.set_image_item(None)
        if session is not None and session.asset.modality == "image":
            item = self.canvas.open_image(str(self._media_path(session)))
            item.failed.connect(lambda reason: self.status.showMessage(f"cannot show the image: {reason}", 10000))
        self._apply_tool()

    def _media_path(self, session: AssetSession) -> Path:
        return session.asset.media_path(self.workspace_root or session.ws.root)

    def fit(self) -> None:
        self.canvas.fit()

    def actual_size(self) -> None:
        self.canvas.actual_size()

    def zoom_by(self, factor: float) -> None:
        self.canvas.set_zoom(self.canvas.zoom * factor)

    def set_pixel_grid(self, on: bool) -> None:
        self.canvas.set_pixel_grid(on)

    def reset_window(self) -> None:
        self.canvas.reset_window()

    def set_crosshair(self, on: bool) -> None:
        self.canvas.show_crosshair = on
        self.canvas.viewport().update()

    def set_tool(self, tool_id: str) -> None:
        self.tool_id = tool_id
        self._apply_tool()

    def _apply_tool(self) -> None:
        tool = None
        if self.session is not None and self.tool_id is not None:
            try:
                tool = registry.get(self.tool_id).create(self.session)
            except Exception as exc:  # a tool with a bug must not take the window down
                log.exception("cannot create the %s tool", self.tool_id)
                self.status.showMessage(f"the {self.tool_id} tool cannot start: {exc}", 8000)
        self.canvas.set_tool(tool)

    def _cursor(self, x: float, y: float) -> None:
        self.status.show_cursor(x, y, self.canvas.image_pixel(x, y))
