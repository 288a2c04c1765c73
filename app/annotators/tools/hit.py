"""Hit-testing: which annotation, and which of its handles, lies under a point.

`HitIndex` keeps every visible annotation's bounding box in one numpy array, in drawing order,
so a query first narrows thousands of annotations to the few whose box (grown by the
tolerance) holds the point, then runs the exact test on those, topmost first. Entries are
recomputed only for the annotations a document change names, and an edit that keeps the
drawing order updates its row in place, so a drag that edits one shape does not rebuild the
other 4,999. Hidden annotations are never hit; locked ones
are (they can be selected), and `pick` passes through them to an unlocked one underneath.

Tolerances are in image pixels: callers pass `HANDLE_RADIUS_PX * pixel_size`, so the grab
distance is the same on screen at every zoom. Keypoints whose visibility is 0 (not labeled)
have no meaningful position and are neither hit nor given handles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.annotators.annotation import Annotation
from app.annotators.changes import ChangeSet
from app.annotators.document import DOCUMENT_CHANGED, AnnotationDocument
from app.annotators.geometry import bounds
from app.annotators.mask_patch import run_lengths
from app.annotators.shapes import (
    Box,
    Mask,
    Point,
    Points,
    Polygon,
    Polyline,
    RotatedBox,
    Shape,
)
from app.annotators.tools.base import HANDLE_RADIUS_PX

HandleKind = Literal["corner", "edge", "rotate", "vertex", "midpoint"]
ROTATE_HANDLE_PX = 24.0  # the rotation handle's distance above a rotated box's top edge
_RANK = {"rotate": 0, "corner": 0, "vertex": 0, "edge": 1, "midpoint": 1}  # vertices win


@dataclass(frozen=True)
class Handle:
    """A grip on a shape. `index` is the corner (top-left, top-right, bottom-right,
    bottom-left) or edge (top, right, bottom, left) of a box, or a vertex of a ring, line
    or point set; for "midpoint" it is the edge from vertex `index` to the next, and `pos`
    is where on that edge a new vertex would go. `ring` 0 is a part's exterior, k its hole k-1.
    """

    annotation_id: str
    kind: HandleKind
    index: int
    pos: Point
    part: int = 0
    ring: int = 0


@dataclass(frozen=True)
class Ring:
    """A run of vertices of a shape, as an (n, 2) array; `closed` rings wrap around."""

    part: int
    ring: int
    pts: np.ndarray
    closed: bool


def shape_rings(shape: Shape) -> list[Ring]:
    """The vertex runs of a polygon (every ring), polyline, or labeled keypoints (one point
    per run, so that hidden keypoints keep their indices); [] for other shapes."""
    if isinstance(shape, Polygon):
        return [Ring(p, r, np.asarray(ring, dtype=np.float64), True)
                for p, part in enumerate(shape.parts)
                for r, ring in enumerate((part.exterior, *part.holes))]
    if isinstance(shape, Polyline):
        return [Ring(0, 0, np.asarray(shape.points, dtype=np.float64), False)]
    if isinstance(shape, Points):
        return [Ring(0, 0, np.asarray([pt], dtype=np.float64), False)
                for pt, v in zip(shape.points, shape.visibility or ()) if v > 0]
    return []


def shape_handles(annotation_id: str, shape: Shape, pixel_size: float = 1.0) -> list[Handle]:
    """Every handle of a shape, in the order a view draws them."""
    if isinstance(shape, Box):
        corners = ((shape.x1, shape.y1), (shape.x2, shape.y1), (shape.x2, shape.y2),
                   (shape.x1, shape.y2))
        return _box_handles(annotation_id, corners)
    if isinstance(shape, RotatedBox):
        handles = _box_handles(annotation_id, shape.corners())[:4]
        return [*handles, Handle(annotation_id, "rotate", 0, rotate_handle(shape, pixel_size))]
    if isinstance(shape, Points):
        return [Handle(annotation_id, "vertex", i, pt)
                for i, (pt, v) in enumerate(zip(shape.points, shape.visibility or ())) if v > 0]
    handles: list[Handle] = []
    for ring in shape_rings(shape):
        pts = [(float(x), float(y)) for x, y in ring.pts]
        handles += [Handle(annotation_id, "vertex", i, p, ring.part, ring.ring)
                    for i, p in enumerate(pts)]
        edges = len(pts) if ring.closed else len(pts) - 1
        handles += [Handle(annotation_id, "midpoint", i, _mid(pts[i], pts[(i + 1) % len(pts)]),
                           ring.part, ring.ring) for i in range(edges)]
    return handles


def rotate_handle(box: RotatedBox, pixel_size: float = 1.0) -> Point:
    """Above the middle of the top edge, along the box's own "up"."""
    rad = math.radians(box.angle)
    reach = box.h / 2 + ROTATE_HANDLE_PX * pixel_size
    return (box.cx + reach * math.sin(rad), box.cy - reach * math.cos(rad))


def _box_handles(annotation_id: str, corners: Iterable[Point]) -> list[Handle]:
    pts = list(corners)
    return ([Handle(annotation_id, "corner", i, p) for i, p in enumerate(pts)]
            + [Handle(annotation_id, "edge", i, _mid(pts[i], pts[(i + 1) % 4]))
               for i in range(4)])


def _mid(a: Point, b: Point) -> Point:
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


# -- exact tests ----------------------------------------------------------------------------

def _segment_distance(pts: np.ndarray, closed: bool, x: float, y: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per edge of a vertex run: the distance to (x, y) and the nearest point's parameter."""
    a = pts if closed else pts[:-1]
    b = np.roll(pts, -1, axis=0) if closed else pts[1:]
    d = b - a
    length2 = np.einsum("ij,ij->i", d, d)
    rel = np.array([x, y]) - a
    t = np.clip(np.einsum("ij,ij->i", rel, d) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    near = a + d * t[:, None]
    return np.hypot(near[:, 0] - x, near[:, 1] - y), t


def _inside_ring(pts: np.ndarray, x: float, y: float) -> bool:
    """Even-odd ray crossing: does a ray to the right of (x, y) cross the ring an odd number
    of times?"""
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    spans = (y0 > y) != (y1 > y)
    if not spans.any():
        return False
    x0, y0, x1, y1 = x0[spans], y0[spans], x1[spans], y1[spans]
    cross_x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return int(np.count_nonzero(x < cross_x)) % 2 == 1


def _near_rings(rings: list[Ring], x: float, y: float, tol: float) -> bool:
    for ring in rings:
        if len(ring.pts) == 1:
            if math.hypot(ring.pts[0, 0] - x, ring.pts[0, 1] - y) <= tol:
                return True
        elif float(_segment_distance(ring.pts, ring.closed, x, y)[0].min()) <= tol:
            return True
    return False


def _in_polygon(rings: list[Ring], x: float, y: float) -> bool:
    """Inside some part: even-odd over that part's exterior and holes."""
    by_part: dict[int, int] = {}
    for ring in rings:
        by_part[ring.part] = by_part.get(ring.part, 0) + _inside_ring(ring.pts, x, y)
    return any(count % 2 == 1 for count in by_part.values())


# -- the index ----------------------------------------------------------------------------

@dataclass
class _Entry:
    """What the index caches about one annotation; rings and runs are built on first use."""

    annotation: Annotation
    bounds: tuple[float, float, float, float] | None
    _rings: list[Ring] | None = field(default=None, repr=False)
    _runs_end: np.ndarray | None = field(default=None, repr=False)

    @property
    def rings(self) -> list[Ring]:
        if self._rings is None:
            self._rings = shape_rings(self.annotation.shape)
        return self._rings

    def contains(self, x: float, y: float, tol: float) -> bool:
        shape = self.annotation.shape
        if isinstance(shape, Box):
            return (shape.x1 - tol <= x <= shape.x2 + tol
                    and shape.y1 - tol <= y <= shape.y2 + tol)
        if isinstance(shape, RotatedBox):
            rad = math.radians(shape.angle)
            dx, dy = x - shape.cx, y - shape.cy
            along = dx * math.cos(rad) + dy * math.sin(rad)
            across = -dx * math.sin(rad) + dy * math.cos(rad)
            return abs(along) <= shape.w / 2 + tol and abs(across) <= shape.h / 2 + tol
        if isinstance(shape, Polygon):
            return _in_polygon(self.rings, x, y) or _near_rings(self.rings, x, y, tol)
        if isinstance(shape, (Polyline, Points)):
            return _near_rings(self.rings, x, y, tol)
        if isinstance(shape, Mask):
            return self._mask_pixel(shape, x, y)
        return False

    def _mask_pixel(self, mask: Mask, x: float, y: float) -> bool:
        """Whether the pixel under (x, y) is set, read from the run lengths (no decoding)."""
        col, row = math.floor(x), math.floor(y)
        if not (0 <= col < mask.width and 0 <= row < mask.height):
            return False
        if self._runs_end is None:
            self._runs_end = np.cumsum(run_lengths(mask.counts))
        run = int(np.searchsorted(self._runs_end, col * mask.height + row, side="right"))
        return run % 2 == 1  # runs alternate 0, 1, 0, ... in column-major order


class HitIndex:
    """Bounding boxes of a document's visible annotations, kept in step with its events.

    Holds the document's `document_changed` subscription weakly: dropping the index
    unsubscribes it.
    """

    def __init__(self, document: AnnotationDocument) -> None:
        self.document = document
        self._entries: dict[str, _Entry] = {}
        self._rows: list[_Entry] = []  # visible annotations with bounds, bottom first
        self._row_of: dict[str, int] = {}
        self._boxes = np.empty((0, 4))
        self._dirty: set[str] = set()
        self._rebuild = True
        document.events.subscribe(DOCUMENT_CHANGED, self._on_changed, weak=True)

    def _on_changed(self, changes: ChangeSet) -> None:
        if changes.added or changes.removed:
            self._rebuild = True
        self._dirty |= changes.ids

    def _refresh(self) -> None:
        if not self._rebuild and self._dirty and self._patch(self._dirty):
            self._dirty.clear()
        if self._rebuild or self._dirty:
            self._full_rebuild()

    def _patch(self, ids: set[str]) -> bool:
        """Update the rows of edited annotations in place; False when an edit changes the
        drawing order or what is visible, which needs a full rebuild."""
        fresh = []
        for annotation_id in ids:
            old, new = self._entries.get(annotation_id), self.document.get(annotation_id)
            if old is None or (old.annotation.z_order, old.annotation.hidden) != (
                    new.z_order, new.hidden):
                return False
            entry = _Entry(new, shape_bounds(new.shape))
            if (annotation_id in self._row_of) != (entry.bounds is not None and not new.hidden):
                return False
            fresh.append(entry)
        for entry in fresh:
            self._entries[entry.annotation.id] = entry
            row = self._row_of.get(entry.annotation.id)
            if row is not None:
                self._rows[row] = entry
                self._boxes[row] = entry.bounds
        return True

    def _full_rebuild(self) -> None:
        rows = []
        for annotation in self.document.annotations():
            entry = self._entries.get(annotation.id)
            if entry is None or entry.annotation is not annotation:
                entry = _Entry(annotation, shape_bounds(annotation.shape))
                self._entries[annotation.id] = entry
            if entry.bounds is not None and not annotation.hidden:
                rows.append(entry)
        if len(self._entries) > len(self.document):  # forget removed annotations
            self._entries = {i: e for i, e in self._entries.items() if i in self.document}
        self._rows = rows
        self._row_of = {e.annotation.id: row for row, e in enumerate(rows)}
        self._boxes = np.array([e.bounds for e in rows], dtype=np.float64).reshape(-1, 4)
        self._rebuild = False
        self._dirty.clear()

    def _near(self, x: float, y: float, margin: float) -> np.ndarray:
        """Row numbers, topmost first, whose bounds grown by `margin` hold (x, y)."""
        self._refresh()
        b = self._boxes
        found = ((b[:, 0] - margin <= x) & (x <= b[:, 2] + margin)
                 & (b[:, 1] - margin <= y) & (y <= b[:, 3] + margin))
        return np.flatnonzero(found)[::-1]

    def annotations_at(self, x: float, y: float, tol: float = 0.0) -> Iterator[Annotation]:
        """The visible annotations under (x, y), topmost first."""
        for row in self._near(x, y, tol):
            entry = self._rows[row]
            if entry.contains(x, y, tol):
                yield entry.annotation

    def pick(self, x: float, y: float, tol: float = 0.0,
             kinds: tuple[str, ...] | None = None) -> Annotation | None:
        """The topmost unlocked annotation under (x, y), or else the topmost locked one:
        a locked region (say a background) never hides the shapes beneath it."""
        locked = None
        for annotation in self.annotations_at(x, y, tol):
            if kinds is not None and annotation.shape.kind not in kinds:
                continue
            if not annotation.locked:
                return annotation
            locked = locked or annotation
        return locked

    def inside(self, x1: float, y1: float, x2: float, y2: float) -> list[str]:
        """Ids of the visible annotations lying wholly inside the rectangle, bottom first."""
        self._refresh()
        lo_x, hi_x, lo_y, hi_y = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        b = self._boxes
        found = (b[:, 0] >= lo_x) & (b[:, 2] <= hi_x) & (b[:, 1] >= lo_y) & (b[:, 3] <= hi_y)
        return [self._rows[row].annotation.id for row in np.flatnonzero(found)]

    def handle_at(self, ids: Iterable[str], x: float, y: float, pixel_size: float = 1.0
                  ) -> Handle | None:
        """The handle of one of `ids` (visible ones, topmost first) within the grab radius
        of (x, y); corners, vertices and the rotation handle beat edges and midpoints."""
        wanted = set(ids)
        if not wanted:
            return None
        tol = HANDLE_RADIUS_PX * pixel_size
        for row in self._near(x, y, tol + ROTATE_HANDLE_PX * pixel_size):
            entry = self._rows[row]
            if entry.annotation.id not in wanted:
                continue
            shape = entry.annotation.shape
            if isinstance(shape, (Polygon, Polyline)):
                best = _ring_handle(entry, x, y, tol)
            else:
                best = _nearest_handle(shape_handles(entry.annotation.id, shape, pixel_size),
                                       x, y, tol)
            if best is not None:
                return best
        return None

    def edge_at(self, ids: Iterable[str], x: float, y: float, tol: float) -> Handle | None:
        """The polygon or polyline edge of one of `ids` within `tol` of (x, y), as a
        "midpoint" handle whose `pos` is the nearest point on that edge."""
        wanted = set(ids)
        for row in self._near(x, y, tol):
            entry = self._rows[row]
            if entry.annotation.id in wanted and isinstance(entry.annotation.shape,
                                                            (Polygon, Polyline)):
                handle = _nearest_edge(entry, x, y, tol)
                if handle is not None:
                    return handle
        return None


def _nearest_handle(handles: list[Handle], x: float, y: float, tol: float) -> Handle | None:
    if not handles:
        return None
    pos = np.array([h.pos for h in handles], dtype=np.float64)
    dist = np.hypot(pos[:, 0] - x, pos[:, 1] - y)
    rank = np.array([_RANK[h.kind] for h in handles])
    near = np.flatnonzero(dist <= tol)
    if near.size == 0:
        return None
    best = near[np.lexsort((dist[near], rank[near]))[0]]
    return handles[int(best)]


def _ring_handle(entry: _Entry, x: float, y: float, tol: float) -> Handle | None:
    """The nearest vertex, else the nearest edge midpoint, of a polygon or polyline, found
    on the cached vertex arrays: a traced outline can have thousands of vertices, too many
    to make a Handle of each on every hover."""
    best: tuple[int, float, Ring, int] | None = None  # (rank, distance, ring, index)
    for ring in entry.rings:
        pts = ring.pts
        ends = np.roll(pts, -1, axis=0) if ring.closed else pts[1:]
        for rank, spots in ((0, pts), (1, (pts[:len(ends)] + ends) / 2)):
            dist = np.hypot(spots[:, 0] - x, spots[:, 1] - y)
            i = int(np.argmin(dist))
            if dist[i] <= tol and (best is None or (rank, dist[i]) < best[:2]):
                best = (rank, float(dist[i]), ring, i)
    if best is None:
        return None
    rank, _, ring, i = best
    pos = ring.pts[i] if rank == 0 else (ring.pts[i] + ring.pts[(i + 1) % len(ring.pts)]) / 2
    return Handle(entry.annotation.id, "vertex" if rank == 0 else "midpoint", i,
                  (float(pos[0]), float(pos[1])), ring.part, ring.ring)


def _nearest_edge(entry: _Entry, x: float, y: float, tol: float) -> Handle | None:
    best: tuple[float, Handle] | None = None
    for ring in entry.rings:
        dist, t = _segment_distance(ring.pts, ring.closed, x, y)
        i = int(np.argmin(dist))
        if dist[i] <= tol and (best is None or dist[i] < best[0]):
            a, b = ring.pts[i], ring.pts[(i + 1) % len(ring.pts)]
            pos = (float(a[0] + (b[0] - a[0]) * t[i]), float(a[1] + (b[1] - a[1]) * t[i]))
            best = (float(dist[i]), Handle(entry.annotation.id, "midpoint", i, pos,
                                           ring.part, ring.ring))
    return None if best is None else best[1]


def shape_bounds(shape: Shape) -> tuple[float, float, float, float] | None:
    """Bounds for the prefilter; None for what cannot be hit (tags, empty masks, keypoints
    none of which is labeled)."""
    if isinstance(shape, Points) and not any(v > 0 for v in shape.visibility or ()):
        return None
    try:
        return bounds(shape)
    except ValueError:  # a tag, or an empty mask
        return None
