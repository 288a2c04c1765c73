"""Pure shape edits behind the select tool's handles: resize, rotate, move, insert and delete
vertices, and the clamp that keeps a moved selection on the image.

Every function takes the shape as it was when the gesture began and the pointer as it is now,
and returns a new shape; nothing accumulates across moves, so a drag has no drift and the
select tool can restore the start exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from app.annotators.shapes import (
    Box,
    Point,
    Points,
    Polygon,
    PolygonPart,
    Polyline,
    RotatedBox,
    Shape,
)
from app.annotators.tools.hit import Handle

SNAP_DEGREES = 15.0  # Shift while rotating
MIN_RING = 3  # vertices a polygon ring keeps
MIN_LINE = 2  # vertices a polyline keeps


class Refused(Exception):
    """An edit the shape cannot take; the message says why, for the status bar."""


def drag_handle(shape: Shape, handle: Handle, x: float, y: float, *, snap: bool = False
                ) -> Shape:
    """The shape with `handle` dragged to (x, y); a "midpoint" inserts a vertex there."""
    if isinstance(shape, Box):
        return _drag_box(shape, handle, x, y)
    if isinstance(shape, RotatedBox):
        if handle.kind == "rotate":
            return rotate_to(shape, x, y, snap=snap)
        return _drag_rotated_corner(shape, handle.index, x, y)
    if handle.kind == "midpoint":
        return insert_vertex(shape, handle, (x, y))
    return _map_vertices(shape, handle, lambda pts, i: (*pts[:i], (x, y), *pts[i + 1:]))


def _drag_box(box: Box, handle: Handle, x: float, y: float) -> Box:
    """Corners pin the opposite corner, edges move one side; Box itself re-sorts x1 <= x2 and
    y1 <= y2, so dragging past the opposite side flips the box instead of inverting it."""
    if handle.kind == "corner":
        corners = ((box.x1, box.y1), (box.x2, box.y1), (box.x2, box.y2), (box.x1, box.y2))
        return Box(*corners[(handle.index + 2) % 4], x, y)
    x1, y1, x2, y2 = box.x1, box.y1, box.x2, box.y2
    if handle.index == 0:
        y1 = y
    elif handle.index == 1:
        x2 = x
    elif handle.index == 2:
        y2 = y
    else:
        x1 = x
    return Box(x1, y1, x2, y2)


def _drag_rotated_corner(box: RotatedBox, index: int, x: float, y: float) -> RotatedBox:
    """The opposite corner stays put and the angle is kept; size is measured along the
    box's own axes, so dragging across it flips rather than inverts."""
    ax, ay = box.corners()[(index + 2) % 4]
    rad = math.radians(box.angle)
    cos, sin = math.cos(rad), math.sin(rad)
    dx, dy = x - ax, y - ay
    width, height = abs(dx * cos + dy * sin), abs(-dx * sin + dy * cos)
    return RotatedBox((ax + x) / 2, (ay + y) / 2, width, height, box.angle)


def rotate_to(box: RotatedBox, x: float, y: float, *, snap: bool = False) -> RotatedBox:
    """Turn the box so that its "up" (where the rotation handle sits) points at (x, y)."""
    if (x, y) == (box.cx, box.cy):
        return box
    angle = math.degrees(math.atan2(x - box.cx, box.cy - y))
    if snap:
        angle = SNAP_DEGREES * round(angle / SNAP_DEGREES)
    return RotatedBox(box.cx, box.cy, box.w, box.h, angle)


def insert_vertex(shape: Shape, handle: Handle, pos: Point) -> Shape:
    """A vertex at `pos` after vertex `handle.index` (so on the edge a midpoint names)."""
    return _map_vertices(shape, handle,
                         lambda pts, i: (*pts[:i + 1], (float(pos[0]), float(pos[1])),
                                         *pts[i + 1:]))


def inserted_handle(handle: Handle, pos: Point) -> Handle:
    """The vertex handle of what `insert_vertex(shape, handle, pos)` added."""
    return Handle(handle.annotation_id, "vertex", handle.index + 1, pos, handle.part,
                  handle.ring)


def delete_vertex(shape: Shape, handle: Handle) -> Shape:
    """The shape without that vertex; raises `Refused` below a ring's or line's minimum."""
    if isinstance(shape, Polygon):
        if len(_ring_of(shape, handle)) <= MIN_RING:
            what = "hole" if handle.ring else "polygon"
            raise Refused(f"A {what} keeps at least {MIN_RING} vertices")
    elif isinstance(shape, Polyline) and len(shape.points) <= MIN_LINE:
        raise Refused(f"A polyline keeps at least {MIN_LINE} vertices")
    elif isinstance(shape, Points):
        return _delete_point(shape, handle.index)
    elif not isinstance(shape, (Polygon, Polyline)):
        raise Refused(f"A {shape.kind.replace('_', ' ')} has no vertices to delete")
    return _map_vertices(shape, handle, lambda pts, i: (*pts[:i], *pts[i + 1:]))


def _delete_point(points: Points, index: int) -> Points:
    _check_index(points.points, index)
    if points.names is not None:
        raise Refused("Named keypoints keep every point: mark it not visible instead")
    if len(points.points) <= 1:
        raise Refused("The last point cannot be deleted: delete the annotation instead")
    keep = [i for i in range(len(points.points)) if i != index]
    return Points(tuple(points.points[i] for i in keep),
                  tuple((points.visibility or ())[i] for i in keep))


VertexEdit = Callable[[tuple[Point, ...], int], tuple[Point, ...]]


def _map_vertices(shape: Shape, handle: Handle, edit: VertexEdit) -> Shape:
    """Apply `edit(points, index) -> points` to the vertex run that `handle` names."""
    if isinstance(shape, Polygon):
        _check_index(_ring_of(shape, handle), handle.index)
        parts = list(shape.parts)
        part = parts[handle.part]
        rings = [part.exterior, *part.holes]
        rings[handle.ring] = edit(rings[handle.ring], handle.index)
        parts[handle.part] = PolygonPart(rings[0], tuple(rings[1:]))
        return Polygon(tuple(parts))
    if isinstance(shape, Polyline):
        _check_index(shape.points, handle.index)
        return Polyline(edit(shape.points, handle.index))
    if isinstance(shape, Points):
        _check_index(shape.points, handle.index)
        moved = edit(shape.points, handle.index)
        if len(moved) != len(shape.points):
            raise Refused("Add keypoints with the points tool")
        return Points(moved, shape.visibility, shape.names)
    raise Refused(f"A {shape.kind.replace('_', ' ')} has no vertices")


def _ring_of(polygon: Polygon, handle: Handle) -> tuple[Point, ...]:
    parts = polygon.parts
    if not (0 <= handle.part < len(parts) and 0 <= handle.ring <= len(parts[handle.part].holes)):
        raise Refused("That vertex no longer exists")  # a stale handle, e.g. after an undo
    part = parts[handle.part]
    return (part.exterior, *part.holes)[handle.ring]


def _check_index(points: tuple[Point, ...], index: int) -> None:
    if not 0 <= index < len(points):  # a stale handle, e.g. after an undo
        raise Refused("That vertex no longer exists")


def clamp_delta(area: tuple[float, float, float, float] | None, dx: float, dy: float,
                image_size: tuple[int, int]) -> tuple[float, float]:
    """(dx, dy) limited so that `area` (the union of the moved shapes' bounds) stays on the
    image. The rule: a move may bring shapes towards the image but never push any part of
    them further off it; a selection larger than the image, or already off it, can still
    move back in along the axes where it has room. None (tags only) moves freely."""
    if area is None:
        return dx, dy
    width, height = image_size
    x1, y1, x2, y2 = area
    return (min(max(dx, min(0.0, -x1)), max(0.0, width - x2)),
            min(max(dy, min(0.0, -y1)), max(0.0, height - y2)))
