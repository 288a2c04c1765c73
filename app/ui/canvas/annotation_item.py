"""One annotation on the canvas: a cached path, drawn with cosmetic pens (constant on screen).

Edit handles are not drawn here: the select tool's preview draws exactly the handles its
hit-testing uses (corners, edge midpoints, the rotation handle).

`paint` runs for every visible item on every frame, from C++ into Python, so everything it
needs (pens, colours, the outline at the current level of detail) is prepared when the
annotation, the selection or the zoom changes, never per frame.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.annotators.annotation import Annotation
from app.annotators.shapes import Mask, Points, Polygon, Polyline
from app.ui.canvas.shape_paths import mask_image, shape_path

POINT_PX = 4.5  # radius of a keypoint marker on screen
_AA = QPainter.RenderHint.Antialiasing
_NO_BRUSH = Qt.BrushStyle.NoBrush


class ViewScale:
    """Screen pixels per image pixel, shared by all items of one view (set on zoom)."""

    value: float = 1.0


class AnnotationItem(QGraphicsItem):
    """Drawing only: state lives in the AssetSession; the layer calls `set_annotation`/`set_selected`."""

    def __init__(self, annotation: Annotation, colour: QColor, margin: float, scale: ViewScale) -> None:
        super().__init__()
        self._colour = QColor(colour)
        self._selected = False
        self._margin = margin  # scene units that cover the cosmetic pen and handles at this zoom
        self._scale = scale
        self.set_annotation(annotation)

    # -- state from the layer ------------------------------------------------------------

    def set_annotation(self, annotation: Annotation) -> None:
        self.prepareGeometryChange()
        self.annotation = annotation
        shape = annotation.shape
        self._path: QPainterPath = shape_path(shape)
        self._coarse: dict[int, QPainterPath] = {}  # decimated outlines for small on-screen sizes
        self._mask = mask_image(shape, self._colour) if isinstance(shape, Mask) else None
        bounds = self._path.boundingRect()
        if self._mask is not None:
            bounds = self._mask[1] if bounds.isNull() else bounds.united(self._mask[1])
        self._bounds = bounds
        self._extent = max(bounds.width(), bounds.height())
        self._filled = not isinstance(shape, (Polyline, Points)) and not self._path.isEmpty()
        self._points = shape if isinstance(shape, Points) else None
        self._update_style()
        self.setZValue(annotation.z_order)
        self.setVisible(not annotation.hidden)

    def set_selected(self, selected: bool) -> None:
        if selected != self._selected:
            self._selected = selected
            self._update_style()
            self.update()

    def set_margin(self, margin: float) -> None:
        self.prepareGeometryChange()
        self._margin = margin
        self._rect = self._bounds.adjusted(-margin, -margin, margin, margin)

    def set_colour(self, colour: QColor) -> None:
        self._colour = QColor(colour)
        self.set_annotation(self.annotation)

    def _update_style(self) -> None:
        self._fill = QColor(self._colour)
        self._fill.setAlpha(70 if self._selected else 28)
        self._pen = QPen(self._colour, 2.5 if self._selected else 1.0)
        self._pen.setCosmetic(True)
        if self.annotation.locked:
            self._pen.setStyle(Qt.PenStyle.DashLine)
        m = self._margin
        self._rect = self._bounds.adjusted(-m, -m, m, m)

    # -- QGraphicsItem -------------------------------------------------------------------

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self._rect

    def shape(self) -> QPainterPath:
        return self._path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scale = self._scale.value
        if self._mask is not None:
            painter.drawImage(self._mask[1], self._mask[0])
        path = self._path_for(scale)
        if path is None:  # a few pixels on screen: a dot says "something is here"
            painter.fillRect(self._bounds, self._colour)
            return
        # An antialiased translucent fill costs ~10x a plain one and cosmetic pens wider than
        # 1 px go through the stroker (measured): fill without AA, stroke 1 px with AA.
        if self._filled:
            painter.setRenderHint(_AA, False)
            painter.fillPath(path, self._fill)
        painter.setRenderHint(_AA, True)
        painter.setPen(self._pen)
        painter.setBrush(_NO_BRUSH)
        if self._points is not None:
            self._paint_points(painter, self._points, scale)
        elif not path.isEmpty():
            painter.drawPath(path)

    def _path_for(self, scale: float) -> QPainterPath | None:
        """Level of detail: about one vertex per 2 screen pixels of the outline's extent."""
        extent = self._extent * scale
        if extent < 3 and not self._selected:
            return None
        vertices = self._path.elementCount()
        step = 1
        while vertices // (step * 2) >= max(8.0, extent / 2):
            step *= 2
        if step == 1 or self._points is not None:
            return self._path
        coarse = self._coarse.get(step)
        if coarse is None:
            coarse = self._coarse[step] = shape_path(decimated(self.annotation.shape, step))
        return coarse

    def _paint_points(self, painter: QPainter, shape: Points, scale: float) -> None:
        r = POINT_PX / scale
        for (x, y), vis in zip(shape.points, shape.visibility, strict=False):
            if vis:  # labeled-but-not-visible (1) stays hollow
                painter.setBrush(QBrush(self._colour) if vis == 2 else _NO_BRUSH)
                painter.drawEllipse(QPointF(x, y), r, r)


def decimated(shape: object, step: int) -> object:
    """Every `step`-th vertex of each ring (display only; never stored)."""
    if isinstance(shape, Polygon):
        parts = tuple(type(p)(exterior=_every(p.exterior, step), holes=tuple(_every(h, step) for h in p.holes))
                      for p in shape.parts)
        return Polygon(parts=parts)
    if isinstance(shape, Polyline):
        pts = shape.points[::step]
        return Polyline(points=pts if pts[-1] == shape.points[-1] else (*pts, shape.points[-1]))
    return shape


def _every(ring: tuple, step: int) -> tuple:
    kept = ring[::step]
    return kept if len(kept) >= 3 else ring[:: max(1, len(ring) // 3)][:3]
