"""CanvasView: zoom, pan and input for the image canvas; drawing of tool previews.

Scene coordinates are image pixels. The view owns no annotation state: it forwards input to
the active tool (a Qt-free state machine) and the annotation layer mirrors the session.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QWidget

from app.annotators.tools.base import Preview, Tool
from app.editing.session import AssetSession
from app.ui.canvas.annotation_layer import AnnotationLayer, label_colour
from app.ui.canvas.events import key_event, pointer_event
from app.media.raster import Window
from app.ui.canvas.image_item import ImageItem
from app.ui.canvas.shape_paths import mask_image, shape_path

MIN_ZOOM, MAX_ZOOM, WHEEL_STEP = 0.005, 64.0, 1.2
_CURSORS = {"arrow": Qt.CursorShape.ArrowCursor, "cross": Qt.CursorShape.CrossCursor,
            "pointing": Qt.CursorShape.PointingHandCursor, "open_hand": Qt.CursorShape.OpenHandCursor,
            "none": Qt.CursorShape.BlankCursor}


class CanvasView(QGraphicsView):
    cursor_moved = Signal(float, float)  # image coordinates
    zoom_changed = Signal(float)  # screen pixels per image pixel

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setMouseTracking(True)
        self.setBackgroundBrush(QColor(38, 40, 44))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.layer = AnnotationLayer(self.scene())
        self.session: AssetSession | None = None
        self.tool: Tool | None = None
        self.image_item: QGraphicsItem | None = None
        self.show_crosshair = False
        self._pixel_grid = False
        self._space_down = False
        self._pan_from: QPointF | None = None
        self._window_from: tuple[QPointF, float, float] | None = None
        self._cursor_scene: QPointF | None = None
        self._mask_cache: tuple[Any, Any] | None = None  # (Mask, its translucent image)

    # -- what is shown -------------------------------------------------------------------

    def set_session(self, session: AssetSession | None) -> None:
        if self.tool is not None:
            self.tool.cancel()
        self.session = session
        self.layer.set_session(session)
        if session is not None and session.image_size[0] > 0:
            w, h = session.image_size
            self.scene().setSceneRect(QRectF(0, 0, w, h))
        self.viewport().update()

    def open_image(self, path: str) -> ImageItem:
        """Show the image at `path`: a quick preview first, sharper tiles as they are built."""
        size = self.viewport().size()
        item = ImageItem.open(path, fit_within=(max(1, size.width()), max(1, size.height())))
        self.set_image_item(item)
        return item

    def set_image_item(self, item: QGraphicsItem | None) -> None:
        old = self.image_item
        if old is not None:
            self.scene().removeItem(old)
            if isinstance(old, ImageItem):
                old.close()
        self.image_item = item
        if item is None:
            return
        item.setZValue(-1e9)
        if hasattr(item, "show_pixel_grid"):
            item.show_pixel_grid = self._pixel_grid
        self.scene().addItem(item)
        if isinstance(item, ImageItem):
            item.loaded.connect(self._image_loaded)
        if not item.boundingRect().isEmpty():
            self._image_loaded()

    def _image_loaded(self) -> None:
        if self.image_item is not None and not self.image_item.boundingRect().isEmpty():
            self.scene().setSceneRect(self.image_item.boundingRect())
            self.fit()

    def set_pixel_grid(self, on: bool) -> None:
        self._pixel_grid = on
        if self.image_item is not None and hasattr(self.image_item, "show_pixel_grid"):
            self.image_item.show_pixel_grid = on

    def set_tool(self, tool: Tool | None) -> None:
        if self.tool is not None:
            self.tool.cancel()
        self.tool = tool
        self.viewport().setCursor(_CURSORS.get(tool.cursor if tool else "arrow", Qt.CursorShape.ArrowCursor))
        self.viewport().update()

    # -- zoom and pan --------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under `anchor` (viewport pixels) in place; default: centre."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        pos = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        fixed = self.mapToScene(pos.toPoint())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(zoom / self.zoom, zoom / self.zoom)
        drift = self.mapFromScene(fixed) - pos.toPoint()  # where the point went, in viewport pixels
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self._zoomed()

    def fit(self) -> None:
        rect = self.scene().sceneRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self._zoomed()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def _zoomed(self) -> None:
        self.layer.set_pixel_size(1.0 / self.zoom)
        if self.image_item is not None and hasattr(self.image_item, "show_pixel_grid"):
            self.image_item.update()
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, ev: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = ev.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * WHEEL_STEP ** steps, anchor=ev.position())
        ev.accept()

    def _start_pan(self, pos: QPointF) -> None:
        self._pan_from = pos
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def _pan_to(self, pos: QPointF) -> None:
        assert self._pan_from is not None
        delta = pos - self._pan_from
        self._pan_from = pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))

    def _end_pan(self) -> None:
        self._pan_from = None
        self.set_tool(self.tool)  # restores the tool's cursor

    # -- input ---------------------------------------------------------------------------

    def _forward(self, kind: str, ev: QMouseEvent) -> bool:
        if self.tool is None or self.session is None:
            return False
        scene_pos = self.mapToScene(ev.position().toPoint())
        handled = self.tool.on_pointer(pointer_event(kind, ev, scene_pos, 1.0 / self.zoom))  # type: ignore[arg-type]
        self.viewport().update()
        return handled

    def reset_window(self) -> None:
        if isinstance(self.image_item, ImageItem):
            self.image_item.reset_window()

    def _start_window_drag(self, pos: QPointF) -> bool:
        """Ctrl+right-drag: horizontal sets the window width (contrast), vertical the level."""
        if not isinstance(self.image_item, ImageItem):
            return False
        window = self.image_item.window or Window(127.5, 255.0)
        self._window_from = (pos, window.center, window.width)
        return True

    def _drag_window(self, pos: QPointF) -> None:
        assert self._window_from is not None and isinstance(self.image_item, ImageItem)
        start, center, width = self._window_from
        new_width = max(1.0, width * math.exp((pos.x() - start.x()) / 200.0))
        self.image_item.set_window(center - (pos.y() - start.y()) * width / 400.0, new_width)

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802
        self.setFocus()
        if (ev.button() == Qt.MouseButton.RightButton and ev.modifiers() & Qt.KeyboardModifier.ControlModifier
                and self._start_window_drag(ev.position())):
            return
        if ev.button() == Qt.MouseButton.MiddleButton or (self._space_down and ev.button() == Qt.MouseButton.LeftButton):
            self._start_pan(ev.position())
        elif not self._forward("press", ev):
            super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802
        scene_pos = self.mapToScene(ev.position().toPoint())
        self._cursor_scene = scene_pos
        self.cursor_moved.emit(scene_pos.x(), scene_pos.y())
        if self._pan_from is not None:
            self._pan_to(ev.position())
        elif self._window_from is not None:
            self._drag_window(ev.position())
        elif not self._forward("move", ev):
            super().mouseMoveEvent(ev)
        if self.show_crosshair:
            self.viewport().update()

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:  # noqa: N802
        if self._window_from is not None and ev.button() == Qt.MouseButton.RightButton:
            self._window_from = None
            return
        if self._pan_from is not None and ev.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._end_pan()
        elif not self._forward("release", ev):
            super().mouseReleaseEvent(ev)

    def mouseDoubleClickEvent(self, ev: QMouseEvent) -> None:  # noqa: N802
        if not self._forward("double_click", ev):
            super().mouseDoubleClickEvent(ev)

    def event(self, ev: QEvent) -> bool:  # noqa: D401 - Qt override
        # Qt offers a key to the window's shortcuts first; the active tool may claim it.
        if ev.type() == QEvent.Type.ShortcutOverride and self.tool is not None:
            key = key_event(ev)  # type: ignore[arg-type]
            if key is not None and self.tool.claims_key(key):
                ev.accept()
                return True
        return super().event(ev)

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802
        if ev.key() == Qt.Key.Key_Space and not ev.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        key = key_event(ev)
        if key is not None and self.tool is not None and self.tool.on_key(key):
            self.viewport().update()
            ev.accept()
            return
        super().keyPressEvent(ev)

    def keyReleaseEvent(self, ev: QKeyEvent) -> None:  # noqa: N802
        if ev.key() == Qt.Key.Key_Space and not ev.isAutoRepeat():
            self._space_down = False
            if self._pan_from is None:
                self.set_tool(self.tool)
            return
        super().keyReleaseEvent(ev)

    # -- overlays ------------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        preview = self.tool.preview() if self.tool is not None else None
        if preview is not None:
            self._draw_preview(painter, preview)
        if self.show_crosshair and self._cursor_scene is not None:
            pen = QPen(QColor(255, 255, 255, 140), 1.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            c = self._cursor_scene
            painter.drawLine(QPointF(rect.left(), c.y()), QPointF(rect.right(), c.y()))
            painter.drawLine(QPointF(c.x(), rect.top()), QPointF(c.x(), rect.bottom()))

    def _draw_preview(self, painter: QPainter, preview: Preview) -> None:
        colour = label_colour(self.session, self.session.label if self.session else "")
        if preview.mask is not None:
            self._draw_preview_mask(painter, preview.mask, colour)
        for x, y, positive in preview.prompt_points:
            self._draw_prompt_point(painter, x, y, positive)
        pen = QPen(colour, 1.6, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if preview.shape is not None:
            painter.drawPath(shape_path(preview.shape))
        if len(preview.path) >= 2:
            path = QPainterPath(QPointF(*preview.path[0]))
            for point in preview.path[1:]:
                path.lineTo(QPointF(*point))
            painter.drawPath(path)
        h = 4.0 / self.zoom
        painter.setPen(QPen(colour, 0))
        painter.setBrush(QColor(255, 255, 255))
        for x, y in preview.handles:
            painter.drawRect(QRectF(x - h, y - h, 2 * h, 2 * h))
        if preview.cursor_ring is not None:
            x, y, r = preview.cursor_ring
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(x, y), r, r)

    def _draw_preview_mask(self, painter: QPainter, mask: Any, colour: QColor) -> None:
        # rendered once per proposed mask, not on every repaint (hover repaints often)
        if self._mask_cache is None or self._mask_cache[0] is not mask:
            self._mask_cache = (mask, mask_image(mask, colour, alpha=120))
        drawn = self._mask_cache[1]
        if drawn is not None:
            image, where = drawn
            painter.drawImage(where, image)

    def _draw_prompt_point(self, painter: QPainter, x: float, y: float, positive: bool) -> None:
        r = 5.0 / self.zoom
        painter.setPen(QPen(QColor(255, 255, 255), 0))
        painter.setBrush(QColor(22, 163, 74) if positive else QColor(220, 38, 38))
        painter.drawEllipse(QPointF(x, y), r, r)

    def image_pixel(self, x: float, y: float) -> Any:
        """The raw value under (x, y) when the image item can tell (for the status bar)."""
        getter = getattr(self.image_item, "pixel_at", None)
        return getter(x, y) if getter is not None else None
