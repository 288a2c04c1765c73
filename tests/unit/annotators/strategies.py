"""Hypothesis strategies for shapes, masks, keyframes and segments."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.annotators import masks
from app.annotators.shapes import Box, Points, Polygon, PolygonPart, Polyline, RotatedBox, Tag

coords = st.floats(-500, 500, allow_nan=False, allow_infinity=False)
sizes = st.floats(0.5, 300, allow_nan=False, allow_infinity=False)


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    x, y, w, h = draw(coords), draw(coords), draw(sizes), draw(sizes)
    return Box(x, y, x + w, y + h)


@st.composite
def rotated_boxes(draw: st.DrawFn) -> RotatedBox:
    angle = draw(st.floats(-720, 720, allow_nan=False))
    return RotatedBox(draw(coords), draw(coords), draw(sizes), draw(sizes), angle)


@st.composite
def star_ring(draw: st.DrawFn, cx: float, cy: float, r_min: float, r_max: float
              ) -> tuple[tuple[float, float], ...]:
    """A simple ring: 4..12 vertices in angular order around (cx, cy), every angular gap
    under 0.8 pi, so the centre stays in its kernel."""
    gaps = draw(st.lists(st.floats(0.5, 1.0), min_size=4, max_size=12))
    turn = draw(st.floats(0, 2 * math.pi))
    total = sum(gaps)
    angles = [turn + 2 * math.pi * sum(gaps[:i]) / total for i in range(len(gaps))]
    radii = draw(st.lists(st.floats(r_min, r_max), min_size=len(gaps), max_size=len(gaps)))
    return tuple((cx + r * math.cos(a), cy + r * math.sin(a)) for a, r in zip(angles, radii))


@st.composite
def star_part(draw: st.DrawFn, cx: float, cy: float, r_max: float, *, holes: bool
              ) -> PolygonPart:
    """A star-shaped part with at most one star-shaped hole well inside it."""
    exterior = draw(star_ring(cx, cy, r_max / 2, r_max))
    if not holes or not draw(st.booleans()):
        return PolygonPart(exterior)
    room = shapely.Polygon(exterior).exterior.distance(shapely.Point(cx, cy))
    hole = draw(star_ring(cx, cy, room * 0.35, room * 0.7))
    return PolygonPart(exterior, (hole,))


@st.composite
def polygons(draw: st.DrawFn, *, r_max: float = 40.0, holes: bool = True, max_parts: int = 3,
             at: tuple[float, float] | None = None) -> Polygon:
    """One to `max_parts` disjoint star-shaped parts in a row from `at` (drawn when None),
    2.2 * r_max apart, each maybe with a hole."""
    count = draw(st.integers(1, max_parts))
    x0, y0 = at if at is not None else (draw(st.floats(0, 100)), draw(st.floats(0, 100)))
    parts = [draw(star_part(x0 + i * 2.2 * r_max, y0, r_max, holes=holes)) for i in range(count)]
    return Polygon(tuple(parts))


@st.composite
def polylines(draw: st.DrawFn) -> Polyline:
    return Polyline(tuple(draw(st.lists(st.tuples(coords, coords), min_size=2, max_size=10))))


@st.composite
def keypoints(draw: st.DrawFn, count: int | None = None) -> Points:
    n = count if count is not None else draw(st.integers(1, 8))
    pts = draw(st.lists(st.tuples(coords, coords), min_size=n, max_size=n))
    vis = draw(st.lists(st.sampled_from((0, 1, 2)), min_size=n, max_size=n))
    names = draw(st.none() | st.lists(st.text(max_size=5), min_size=n, max_size=n))
    return Points(tuple(pts), tuple(vis), None if names is None else tuple(names))


def bool_arrays(max_side: int = 24) -> st.SearchStrategy[np.ndarray]:
    shape = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return arrays(np.bool_, shape)


@st.composite
def mask_pairs(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    """Two masks of one size."""
    h, w = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    a = draw(arrays(np.bool_, (h, w)))
    b = draw(arrays(np.bool_, (h, w)))
    return masks.encode(a), masks.encode(b)


def any_shapes() -> st.SearchStrategy:  # type: ignore[type-arg]
    mask = bool_arrays(12).map(masks.encode)
    return st.one_of(boxes(), rotated_boxes(), polygons(), polylines(), keypoints(), mask,
                     st.just(Tag()))
