"""Shapes between two keyframes.

Boxes and points move linearly; rotated boxes move linearly in centre and size and turn along
the shorter arc. Polygons and polylines are matched by arc length: both outlines are sampled
at the union of their vertices' positions along the outline, so each keeps every corner, and a
polygon's start vertex and direction are first chosen to minimize the total squared distance
(so differently drawn but similar outlines do not twist). Masks and tags are not interpolated:
the earlier keyframe holds, as it does whenever two shapes cannot be matched (different
kinds, point counts or numbers of parts or holes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.annotators.shapes import (
    Box, Points, Polygon, PolygonPart, Polyline, RotatedBox, Shape, real,
)
from app.core.errors import ValidationError


def interpolate(a: Shape, b: Shape, t: float) -> Shape:
    """The shape a fraction `t` (0..1) of the way from `a` to `b`; exactly `a` at 0, `b` at 1."""
    t = real(t, "t")
    if not 0.0 <= t <= 1.0:
        raise ValidationError(f"must lie in [0, 1], got {t}", where="t")
    if t == 0.0 or type(a) is not type(b):
        return a
    if t == 1.0:
        return b
    if isinstance(a, Box) and isinstance(b, Box):
        return Box(*(_lerp(u, v, t) for u, v in zip(_box(a), _box(b))))
    if isinstance(a, RotatedBox) and isinstance(b, RotatedBox):
        turn = (b.angle - a.angle + 180.0) % 360.0 - 180.0  # shortest arc
        return RotatedBox(_lerp(a.cx, b.cx, t), _lerp(a.cy, b.cy, t), _lerp(a.w, b.w, t),
                          _lerp(a.h, b.h, t), a.angle + t * turn)
    if isinstance(a, Points) and isinstance(b, Points):
        return _points(a, b, t)
    if isinstance(a, Polyline) and isinstance(b, Polyline):
        pa, pb = _matched_open(np.asarray(a.points), np.asarray(b.points))
        return Polyline(pa + t * (pb - pa))
    if isinstance(a, Polygon) and isinstance(b, Polygon):
        return _polygon(a, b, t)
    return a  # masks and tags hold


def _lerp(u: float, v: float, t: float) -> float:
    return u + t * (v - u)


def _box(box: Box) -> tuple[float, float, float, float]:
    return (box.x1, box.y1, box.x2, box.y2)


def _points(a: Points, b: Points, t: float) -> Points:
    """Each point moves where it is labeled on both sides; otherwise it keeps its `a` state."""
    if len(a.points) != len(b.points):
        return a
    moved = tuple(
        (_lerp(p[0], q[0], t), _lerp(p[1], q[1], t)) if va and vb else p
        for p, q, va, vb in zip(a.points, b.points, a.visibility or (), b.visibility or ()))
    return Points(moved, a.visibility, a.names)


def _polygon(a: Polygon, b: Polygon, t: float) -> Polygon:
    shape_a = [len(p.holes) for p in a.parts]
    if shape_a != [len(p.holes) for p in b.parts]:
        return a  # parts are matched in order, and only when they correspond one to one
    parts = []
    for pa, pb in zip(a.parts, b.parts):
        rings = [_ring_between(ra, rb, t) for ra, rb in
                 zip((pa.exterior, *pa.holes), (pb.exterior, *pb.holes))]
        parts.append(PolygonPart(rings[0], tuple(rings[1:])))
    return Polygon(tuple(parts))


def _ring_between(ra: Any, rb: Any, t: float) -> np.ndarray:
    pa, pb = _matched_closed(np.asarray(ra, dtype=np.float64), np.asarray(rb, dtype=np.float64))
    return pa + t * (pb - pa)


# -- arc-length matching ------------------------------------------------------------------------

def _positions(pts: np.ndarray, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """(vertex positions along the outline in [0, 1), the outline's vertices ready to sample).

    The sampling array repeats the first vertex at the end of a closed ring.
    """
    path = np.vstack([pts, pts[:1]]) if closed else pts
    steps = np.hypot(*np.diff(path, axis=0).T)
    total = steps.sum()
    if total == 0:  # every vertex at one spot: space them evenly by index
        steps = np.ones_like(steps)
        total = steps.sum()
    where = np.concatenate([[0.0], np.cumsum(steps) / total])
    return where, path


def _sample(where: np.ndarray, path: np.ndarray, at: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(at, where, path[:, 0]), np.interp(at, where, path[:, 1])])


def _matched_open(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both lines sampled at the union of their vertex positions, start to end."""
    wa, path_a = _positions(a, closed=False)
    wb, path_b = _positions(b, closed=False)
    at = np.union1d(wa, wb)
    return _sample(wa, path_a, at), _sample(wb, path_b, at)


def _matched_closed(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both rings sampled at matching positions, b re-started and re-oriented to fit a."""
    b, start = _align(a, b)
    wa, path_a = _positions(a, closed=True)
    wb, path_b = _positions(b, closed=True)
    at = np.union1d(wa[:-1], (wb[:-1] - start) % 1.0)  # b's vertices seen from its new start
    return _sample(wa, path_a, at), _sample(wb, path_b, (at + start) % 1.0)


def _align(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """b or b reversed, and the position along it where a's first vertex should land.

    Costs are total squared distances between the two rings sampled at n even steps, both
    centred (so the match is about shape, not position). A circular cross-correlation finds the
    best shift on that grid; the vertices of b next to it are then tried exactly, so a ring
    that is only re-started or reversed is matched vertex for vertex.
    """
    n = max(len(a), len(b), 16) * 2
    steps = np.arange(n) / n
    ea = _sample(*_positions(a, closed=True), steps)
    ea -= ea.mean(axis=0)
    best: tuple[float, np.ndarray, float] | None = None
    for candidate in (b, b[::-1]):
        wb, path = _positions(candidate, closed=True)
        eb = _sample(wb, path, steps)
        centre = eb.mean(axis=0)
        coarse = _best_shift(ea, eb - centre) / n
        gap = np.abs((wb[:-1] - coarse + 0.5) % 1.0 - 0.5)  # cyclic distance to each vertex
        near = wb[:-1][(gap <= 1.5 / n) | (gap == gap.min())]
        for start in (coarse, *near):
            moved = _sample(wb, path, (steps + start) % 1.0) - centre
            cost = float(((ea - moved) ** 2).sum())
            if best is None or cost < best[0] - 1e-12 * best[0]:  # ties keep the drawn order
                best = (cost, candidate, float(start))
    assert best is not None
    return best[1], best[2]


def _best_shift(ea: np.ndarray, eb: np.ndarray) -> int:
    """The k maximizing sum(ea[i] . eb[i + k]), via FFT with points as complex numbers."""
    za, zb = ea[:, 0] + 1j * ea[:, 1], eb[:, 0] + 1j * eb[:, 1]
    return int(np.argmax(np.fft.ifft(np.conj(np.fft.fft(za)) * np.fft.fft(zb)).real))
