"""Shape conversions shared by the YOLO, Pascal VOC and labelme modules: what a format with
fewer shape kinds than ours writes instead, and how its shapes come back as ours."""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely

from app.annotators.geometry import polygon_region
from app.annotators.shapes import Point, Polygon, Ring, RotatedBox

CIRCLE_VERTICES = 64  # a circle read as a polygon: area within 0.2 % of the true disc


def rotated_box_from_corners(corners: Sequence[Point]) -> RotatedBox:
    """The rotated box through four corners given in `RotatedBox.corners()` order (its own
    top-left, top-right, bottom-right, bottom-left). Opposite sides are averaged, so corners
    rounded by a text format still give the box they came from within that rounding."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
    cx, cy = (x0 + x1 + x2 + x3) / 4, (y0 + y1 + y2 + y3) / 4
    w = (math.hypot(x1 - x0, y1 - y0) + math.hypot(x2 - x3, y2 - y3)) / 2
    h = (math.hypot(x2 - x1, y2 - y1) + math.hypot(x3 - x0, y3 - y0)) / 2
    if w >= h:  # the longer side gives the better angle (a zero-width side gives none)
        angle = math.degrees(math.atan2((y1 - y0) + (y2 - y3), (x1 - x0) + (x2 - x3)))
    else:
        angle = math.degrees(math.atan2((y2 - y1) + (y3 - y0), (x2 - x1) + (x3 - x0))) - 90.0
    return RotatedBox(cx, cy, w, h, angle)


def box_corners(x1: float, y1: float, x2: float, y2: float) -> Ring:
    """An axis-aligned box as a ring in `RotatedBox.corners()` order (angle 0)."""
    return ((x1, y1), (x2, y1), (x2, y2), (x1, y2))


def largest_exterior(polygon: Polygon) -> tuple[Ring, bool]:
    """The exterior ring of the largest part, and whether anything (a hole, another part)
    was left out: for formats with one plain ring per shape."""
    part = max(polygon.parts, key=lambda p: abs(shapely.Polygon(p.exterior).area))
    lost = len(polygon.parts) > 1 or any(p.holes for p in polygon.parts)
    return part.exterior, lost


def clipped_exterior(ring: Ring, width: float, height: float) -> tuple[Ring | None, bool]:
    """`ring` cut to the image [0, width] x [0, height]: the largest piece's exterior (None if
    nothing is inside), and whether it had to be cut."""
    if all(0 <= x <= width and 0 <= y <= height for x, y in ring):
        return ring, False
    region = polygon_region(Polygon.from_rings(ring))
    inside = shapely.clip_by_rect(region, 0.0, 0.0, float(width), float(height))
    pieces = [g for g in getattr(inside, "geoms", [inside])
              if isinstance(g, shapely.Polygon) and g.area > 0]
    if not pieces:
        return None, True
    best = max(pieces, key=lambda g: g.area)
    return tuple((float(x), float(y)) for x, y in best.exterior.coords[:-1]), True


def circle_ring(centre: Point, edge: Point, vertices: int = CIRCLE_VERTICES) -> Ring:
    """The circle through `edge` around `centre` as a regular polygon (vertices on the circle)."""
    cx, cy = centre
    r = math.hypot(edge[0] - cx, edge[1] - cy)
    return tuple((cx + r * math.cos(2 * math.pi * i / vertices),
                  cy + r * math.sin(2 * math.pi * i / vertices)) for i in range(vertices))
