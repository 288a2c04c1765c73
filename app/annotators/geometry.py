"""Area, IoU, simplification and repair of shapes, on shapely 2 and pycocotools.

Vector shapes are compared exactly (shapely); as soon as a mask is involved, or the caller
passes an image size, both sides are rasterized and compared pixel by pixel as COCO does.
Degenerate comparisons (nothing on either side) give an IoU of 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from pycocotools import mask as coco_mask
from shapely.geometry.base import BaseGeometry

from app.annotators.shapes import (
    Box, Mask, Point, Points, Polygon, PolygonPart, Polyline, RotatedBox, Shape, integer, real,
)
from app.core.errors import ValidationError

AREAL = (Box, RotatedBox, Polygon)  # shapes that enclose a region


# -- shapely conversions ------------------------------------------------------------------------

def to_shapely(shape: Shape) -> BaseGeometry:
    """The shapely geometry of a vector shape; polygons come back repaired (`polygon_region`)."""
    if isinstance(shape, Box):
        return shapely.box(shape.x1, shape.y1, shape.x2, shape.y2)
    if isinstance(shape, RotatedBox):
        return shapely.Polygon(shape.corners())
    if isinstance(shape, Polygon):
        return polygon_region(shape)
    if isinstance(shape, Polyline):
        return shapely.LineString(shape.points)
    if isinstance(shape, Points):
        return shapely.MultiPoint(shape.points)
    raise ValidationError(f"a {shape.kind} has no vector geometry", where="shape")


def polygon_region(polygon: Polygon) -> BaseGeometry:
    """The valid region a Polygon covers: the union of its parts, each minus its holes.

    Parts are repaired one by one and then united, so overlapping parts add up instead of
    cancelling out (which is what repairing them as one multipolygon would do).
    """
    parts = [shapely.Polygon(p.exterior, p.holes) for p in polygon.parts]
    whole = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    if whole.is_valid:
        return whole
    repaired = [shapely.MultiPolygon(_polygons_of(shapely.make_valid(p))) for p in parts]
    return shapely.union_all(repaired)


def _polygons_of(geom: BaseGeometry) -> list[shapely.Polygon]:
    """The non-empty polygons inside any geometry (collections included); lines are dropped."""
    if isinstance(geom, shapely.Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, (shapely.MultiPolygon, shapely.GeometryCollection)):
        return [p for g in geom.geoms for p in _polygons_of(g)]
    return []


def polygon_from_shapely(geom: BaseGeometry, *, where: str = "geometry") -> Polygon:
    """Our Polygon from the polygonal part of a shapely geometry; parts or holes of zero area
    are dropped, and nothing left raises."""
    parts = []
    for poly in _polygons_of(geom):
        if poly.area <= 0:
            continue
        holes = tuple(_ring(h) for h in poly.interiors if shapely.Polygon(h).area > 0)
        parts.append(PolygonPart(_ring(poly.exterior), holes))
    if not parts:
        raise ValidationError("no area left", where=where)
    return Polygon(tuple(parts))


def _ring(ring: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in ring.coords[:-1])  # shapely repeats the first


# -- bounds, area and IoU ------------------------------------------------------------------

def area(shape: Shape) -> float:
    """Area in square pixels; lines, points and tags have none."""
    if isinstance(shape, (Box, RotatedBox)):
        return _box_area(shape)
    if isinstance(shape, Polygon):
        return float(polygon_region(shape).area)
    if isinstance(shape, Mask):
        return float(coco_mask.area(shape.rle()))
    return 0.0


def bounds(shape: Shape) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) enclosing the shape; keypoints count only where labeled (v > 0)."""
    if isinstance(shape, Box):
        return (shape.x1, shape.y1, shape.x2, shape.y2)
    if isinstance(shape, Mask):
        x, y, w, h = (float(v) for v in coco_mask.toBbox(shape.rle()))
        if w == 0:
            raise ValidationError("an empty mask has no bounds", where="shape")
        return (x, y, x + w, y + h)
    if isinstance(shape, RotatedBox):
        pts: Iterable[Point] = shape.corners()
    elif isinstance(shape, Polygon):
        pts = [p for part in shape.parts for p in part.exterior]
    elif isinstance(shape, Points):
        labeled = [p for p, v in zip(shape.points, shape.visibility or ()) if v > 0]
        pts = labeled or shape.points
    elif isinstance(shape, Polyline):
        pts = shape.points
    else:
        raise ValidationError(f"a {shape.kind} has no bounds", where="shape")
    xs, ys = zip(*pts)
    return (min(xs), min(ys), max(xs), max(ys))


def _box_area(box: Box | RotatedBox) -> float:
    if isinstance(box, Box):
        return (box.x2 - box.x1) * (box.y2 - box.y1)
    return box.w * box.h


def box_iou(a: Box, b: Box) -> float:
    inter_w = min(a.x2, b.x2) - max(a.x1, b.x1)
    inter_h = min(a.y2, b.y2) - max(a.y1, b.y1)
    inter = inter_w * inter_h if inter_w > 0 and inter_h > 0 else 0.0
    return _ratio(inter, _box_area(a) + _box_area(b) - inter)


def rotated_box_iou(a: RotatedBox, b: RotatedBox) -> float:
    return _vector_iou(a, b)


def polygon_iou(a: Polygon, b: Polygon) -> float:
    """IoU of the regions: holes subtract, parts add; invalid rings are repaired first."""
    return _vector_iou(a, b)


def mask_iou(a: Mask, b: Mask) -> float:
    """Pixel-exact IoU of two masks of the same size (pycocotools)."""
    if (a.height, a.width) != (b.height, b.width):
        raise ValidationError(
            f"mask sizes differ: {a.height}x{a.width} and {b.height}x{b.width}", where="mask")
    return _ratio(float(coco_mask.iou([a.rle()], [b.rle()], [0])[0][0]), 1.0)


def iou(a: Shape, b: Shape, *, height: int | None = None, width: int | None = None) -> float:
    """IoU of any two region shapes (box, rotated box, polygon, mask), in [0, 1].

    Vector against vector is exact. With a mask on either side the other side is rasterized at
    the mask's size (pycocotools' rule, `masks`); passing height and width
    rasterizes both sides, as COCO evaluation does. Lines, points and tags raise.
    """
    for name, shape in (("a", a), ("b", b)):
        if not isinstance(shape, (*AREAL, Mask)):
            raise ValidationError(f"IoU is undefined for a {shape.kind}", where=name)
    size = _raster_size(a, b, height, width)
    if size is not None:
        from app.annotators.masks import polygon_to_mask  # masks builds on this module

        ma = a if isinstance(a, Mask) else polygon_to_mask(a, *size)
        mb = b if isinstance(b, Mask) else polygon_to_mask(b, *size)
        return mask_iou(ma, mb)
    if isinstance(a, Box) and isinstance(b, Box):
        return box_iou(a, b)
    return _vector_iou(a, b)


def _raster_size(a: Shape, b: Shape, height: int | None, width: int | None
                 ) -> tuple[int, int] | None:
    """The image size to compare at, or None for an exact vector comparison."""
    if (height is None) != (width is None):
        raise ValidationError("give both height and width, or neither", where="height")
    sizes = {(s.height, s.width) for s in (a, b) if isinstance(s, Mask)}
    if height is not None:
        sizes.add((integer(height, "height", minimum=1), integer(width, "width", minimum=1)))
    if len(sizes) > 1:
        raise ValidationError(f"image sizes differ: {sorted(sizes)}", where="shape")
    return sizes.pop() if sizes else None


def _vector_iou(a: Shape, b: Shape) -> float:
    if a == b:
        return 1.0 if area(a) > 0 else 0.0  # skip float noise: identical means exactly 1
    ga, gb = to_shapely(a), to_shapely(b)
    if ga.wkb > gb.wkb:
        ga, gb = gb, ga  # one evaluation order, so iou(a, b) == iou(b, a) bit for bit
    inter = ga.intersection(gb).area
    return _ratio(inter, ga.area + gb.area - inter)


def _ratio(inter: float, union: float) -> float:
    return 0.0 if union <= 0 else min(1.0, max(0.0, inter / union))


# -- simplification and repair ------------------------------------------------------------------

def make_valid(polygon: Polygon) -> Polygon:
    """The polygon with self-intersections and overlapping parts repaired (a valid polygon is
    returned as is); raises when no area is left (e.g. all points on one line)."""
    parts = [shapely.Polygon(p.exterior, p.holes) for p in polygon.parts]
    if shapely.MultiPolygon(parts).is_valid:
        return polygon
    return polygon_from_shapely(polygon_region(polygon), where="polygon")


def simplify(shape: Polygon | Polyline, tolerance: float) -> Polygon | Polyline:
    """Fewer vertices, no point moving more than `tolerance` pixels (Douglas-Peucker keeping
    topology). A polygon comes back valid, every ring with >= 3 points; parts that vanish are
    dropped, but the largest part always stays."""
    tol = real(tolerance, "tolerance")
    if tol < 0:
        raise ValidationError(f"must not be negative, got {tol}", where="tolerance")
    if isinstance(shape, Polyline):
        line = _simplified(shapely.LineString(shape.points), tol)
        return Polyline(tuple(line.coords)) if len(line.coords) >= 2 else shape
    if not isinstance(shape, Polygon):
        raise ValidationError(f"cannot simplify a {shape.kind}", where="shape")
    region = polygon_region(shape)
    simple = _simplified(region, tol)
    if not simple.is_valid:
        simple = shapely.make_valid(simple)
    parts = [p for p in _polygons_of(simple) if p.area > 0]
    if not parts:
        originals = _polygons_of(region)
        if not originals:
            raise ValidationError("the polygon has no area", where="shape")
        parts = [max(originals, key=lambda p: p.area)]
    return polygon_from_shapely(shapely.MultiPolygon(parts), where="shape")


def _simplified(geom: BaseGeometry, tolerance: float) -> BaseGeometry:
    with np.errstate(invalid="ignore"):  # GEOS warns on degenerate input; the result is fine
        return shapely.simplify(geom, tolerance, preserve_topology=True)
