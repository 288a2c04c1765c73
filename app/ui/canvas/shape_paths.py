"""Shapes as QPainterPaths in image (= scene) coordinates; masks as translucent QImages."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainterPath, QPolygonF

from app.annotators.masks import decode, mask_bbox
from app.annotators.shapes import Box, Mask, Points, Polygon, Polyline, RotatedBox, Shape, Tag


def _polygon(points: tuple[tuple[float, float], ...]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points])


def shape_path(shape: Shape) -> QPainterPath:
    """The outline to stroke and fill; holes cut out by the odd-even rule. Empty for tags/masks."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    if isinstance(shape, Box):
        path.addRect(QRectF(shape.x1, shape.y1, shape.x2 - shape.x1, shape.y2 - shape.y1))
    elif isinstance(shape, RotatedBox):
        path.addPolygon(_polygon(shape.corners()))
        path.closeSubpath()
    elif isinstance(shape, Polygon):
        for part in shape.parts:
            for ring in (part.exterior, *part.holes):
                path.addPolygon(_polygon(ring))
                path.closeSubpath()
    elif isinstance(shape, Polyline):
        path.addPolygon(_polygon(shape.points))
    elif isinstance(shape, Points):
        for (x, y), vis in zip(shape.points, shape.visibility, strict=False):
            if vis:
                path.addEllipse(QPointF(x, y), 0.01, 0.01)  # real size is cosmetic: see the item
    return path


def mask_image(mask: Mask, colour: QColor, alpha: int = 110) -> tuple[QImage, QRectF] | None:
    """The mask's bounding box as a premultiplied ARGB image, and where it sits."""
    box = mask_bbox(mask)
    if box is None:
        return None
    x1, y1, x2, y2 = (int(v) for v in box)
    pixels = np.ascontiguousarray(decode(mask)[y1:y2, x1:x2], dtype=np.uint8)
    # 0/1 bytes with a two-colour table, converted by Qt in C++: no per-pixel numpy work, and
    # the conversion runs with the GIL released, so the GUI thread does not hold up workers
    indexed = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                     QImage.Format.Format_Indexed8)
    fill = QColor(colour)
    fill.setAlpha(alpha)
    indexed.setColorTable([0, fill.rgba()])
    image = indexed.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)  # owns its pixels
    return image, QRectF(x1, y1, x2 - x1, y2 - y1)


def is_drawn(shape: Shape) -> bool:
    return not isinstance(shape, Tag)
