"""Binary masks: COCO RLE encoding, rasterizing polygons, and tracing masks back to polygons.

One rasterization rule for the whole domain, pycocotools' own (`frPyObjects`, what
`annToMask` draws): each vertex is rounded to a fifth of a pixel (int(5 x + 0.5) / 5), each edge
is walked in fifths of a pixel, and a pixel is in when its centre is inside that walked
outline; a centre exactly on an edge goes to the region on the edge's left or above it. So a
COCO reader draws our exported polygons exactly as we do, and an IoU between a polygon and
a mask is the one COCO evaluation computes. Against exact centre sampling only pixels whose
centres lie within 0.3 px of an edge can differ. Holes are drawn by the same rule and
subtracted from their part; parts are united. Pixel-aligned outlines (integer, axis-parallel
edges) are exact: they enclose exactly their pixels.
Tracing follows pixel edges, not pixel centres, so `mask_to_polygon(m, tolerance=0)` encloses
exactly the set pixels and `polygon_to_mask` of that polygon gives `m` back bit for bit.

Tolerance: with `tolerance` > 0, `mask_to_polygon` cuts every staircase corner by half a
pixel (so diagonal runs go through the step midpoints, on the true edge) and simplifies by
`tolerance` pixels (Douglas-Peucker keeping topology). The default, 0.5 px, takes a smooth
1000-px blob from about 2700 vertices to 750 at a raster IoU of 0.9996; 1 px gives about 130
vertices at 0.999 but blunts sharp tips. Round trip polygon -> mask -> polygon: rasterizing
can move every edge by up to half a pixel, so the bound is (0.5 + 0.3 x tolerance) x
perimeter; it is approached when all edges sit at the same fraction of a pixel (a
grid-aligned square from 20.8 to 39.2 keeps the 18 pixels 21..38: 324 px for 338.6)
(tests/unit/annotators/test_masks.py).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from app.annotators.geometry import make_valid, polygon_region, simplify
from app.annotators.shapes import (
    Box, Mask, Polygon, PolygonPart, RotatedBox, integer, real, rle_runs_array,
)
from app.core.errors import ValidationError

DEFAULT_TOLERANCE = 0.5  # pixels; see the module docstring
FAR_OFF = 4096  # pixels off the image beyond which polygons are clipped before rasterizing


# -- RLE ----------------------------------------------------------------------------------------

def encode(array: Any) -> Mask:
    """A Mask from a 2-D bool or integer array; every non-zero pixel is set."""
    bits = _as_bits(array)
    rle = coco_mask.encode(np.asfortranarray(bits.astype(np.uint8)))
    return Mask(bits.shape[0], bits.shape[1], rle["counts"].decode("ascii"))


def decode(mask: Mask) -> np.ndarray:
    """The mask as a (height, width) bool array.

    Decoded here from the run lengths: pycocotools' decode warns under numpy 2.
    """
    return np.ascontiguousarray(_columns(mask.counts, mask.height, mask.width))


def _columns(counts: str, height: int, width: int) -> np.ndarray:
    """(height, width) bool view in Fortran order: RLE is column-major, so no copy is made."""
    runs = rle_runs_array(counts)
    flat = np.repeat(np.arange(len(runs)) % 2 == 1, runs)  # runs alternate 0, 1, 0, ...
    return flat.reshape(width, height).T


def mask_area(mask: Mask) -> int:
    """Number of set pixels."""
    return int(coco_mask.area(mask.rle()))


def mask_bbox(mask: Mask) -> tuple[float, float, float, float] | None:
    """(x1, y1, x2, y2) around the set pixels, on pixel edges; None for an empty mask."""
    x, y, w, h = (float(v) for v in coco_mask.toBbox(mask.rle()))
    return None if w == 0 else (x, y, x + w, y + h)


def shift_mask(mask: Mask, dx: float, dy: float) -> Mask:
    """The mask moved by whole pixels on the same canvas; pixels moved off it are lost."""
    steps = []
    for name, value in (("dx", dx), ("dy", dy)):
        number = real(value, name)
        if not number.is_integer():
            raise ValidationError(f"a mask moves by whole pixels only, got {number}", where=name)
        steps.append(int(number))
    sx, sy = steps
    bits = _columns(mask.counts, mask.height, mask.width)  # stays column-major end to end: no transposing copies
    moved = np.zeros_like(bits, order="F")
    h, w = bits.shape
    if abs(sx) < w and abs(sy) < h:
        moved[max(sy, 0):h + min(sy, 0), max(sx, 0):w + min(sx, 0)] = \
            bits[max(-sy, 0):h - max(sy, 0), max(-sx, 0):w - max(sx, 0)]
    return encode(moved)


def _as_bits(array: Any) -> np.ndarray:
    bits = np.asarray(array)
    if bits.ndim != 2 or bits.shape[0] < 1 or bits.shape[1] < 1:
        raise ValidationError(f"expected a non-empty 2-D array, got shape {bits.shape}",
                              where="mask")
    if bits.dtype != bool and not np.issubdtype(bits.dtype, np.integer):
        raise ValidationError(f"expected a bool or integer array, got {bits.dtype}", where="mask")
    return bits != 0


# -- polygon -> mask ----------------------------------------------------------------------------

def polygon_to_mask(shape: Polygon | Box | RotatedBox, height: int, width: int) -> Mask:
    """Rasterize a polygon (holes and every part kept), box or rotated box: the pixels of
    `rasterize`. Without holes the RLE comes straight from pycocotools, never as an array of
    the whole image (a small polygon on a 2-megapixel image: 50 us instead of 7 ms)."""
    polygon = _as_polygon(shape)
    if any(part.holes for part in polygon.parts):
        return encode(rasterize(polygon, height, width))
    height = integer(height, "height", minimum=1)
    width = integer(width, "width", minimum=1)
    rings = _near_the_image([np.asarray(part.exterior, dtype=np.float64)
                             for part in polygon.parts], height, width)
    rle = coco_mask.merge(coco_mask.frPyObjects([r.ravel().tolist() for r in rings],
                                                height, width))
    return Mask(height, width, rle["counts"].decode("ascii"))


def rasterize(shape: Polygon | Box | RotatedBox | Mask, height: int, width: int) -> np.ndarray:
    """A (height, width) bool array of the shape's pixels, by pycocotools' rule (see the module
    docstring): a polygon without holes gives exactly what `annToMask` gives for it."""
    height = integer(height, "height", minimum=1)
    width = integer(width, "width", minimum=1)
    if isinstance(shape, Mask):
        if (shape.height, shape.width) != (height, width):
            raise ValidationError(f"mask is {shape.height}x{shape.width}, not {height}x{width}",
                                  where="shape")
        return decode(shape)
    return _fill(_as_polygon(shape).parts, height, width)


def _as_polygon(shape: Polygon | Box | RotatedBox) -> Polygon:
    if isinstance(shape, Box):
        return Polygon.from_rings(((shape.x1, shape.y1), (shape.x2, shape.y1),
                                   (shape.x2, shape.y2), (shape.x1, shape.y2)))
    if isinstance(shape, RotatedBox):
        return Polygon.from_rings(shape.corners())
    if not isinstance(shape, Polygon):
        raise ValidationError(f"cannot rasterize a {shape.kind}", where="shape")
    return shape


def _fill(parts: tuple[PolygonPart, ...], height: int, width: int) -> np.ndarray:
    """The union over parts of each exterior minus the union of its holes, every ring drawn by
    pycocotools on the window of the image that the rings reach.

    The window gives the same pixels as the whole image: pycocotools rounds a vertex to
    int(5 x + 0.5) / 5, which moves with a whole-pixel shift as long as no coordinate turns
    negative, so the window starts at the rings' whole-pixel minimum, or at 0 when they reach
    past the image's top or left edge (and the rings are then passed unshifted).
    """
    rings = _near_the_image([np.asarray(r, dtype=np.float64) for part in parts
                             for r in (part.exterior, *part.holes)], height, width)
    points = np.concatenate(rings)
    size = np.array([width, height])
    x0, y0 = np.clip(np.floor(points.min(axis=0)), 0, size).astype(np.int64)
    x1, y1 = np.clip(np.ceil(points.max(axis=0)) + 1, 0, size).astype(np.int64)
    out = np.zeros((height, width), dtype=bool)
    if x1 <= x0 or y1 <= y0:
        return out  # wholly off the image
    h, w = int(y1 - y0), int(x1 - x0)
    rles = coco_mask.frPyObjects([(r - (x0, y0)).ravel().tolist() for r in rings], h, w)
    window = out[y0:y1, x0:x1]
    plain, first = [], 0
    for part in parts:
        ring_rles, first = rles[first:first + 1 + len(part.holes)], first + 1 + len(part.holes)
        if len(ring_rles) == 1:
            plain.append(ring_rles[0])
        else:
            window |= _rle_bits(ring_rles[0]) & ~_rle_bits(coco_mask.merge(ring_rles[1:]))
    if plain:
        window |= _rle_bits(coco_mask.merge(plain))
    return out


def _near_the_image(rings: list[np.ndarray], height: int, width: int) -> list[np.ndarray]:
    """The rings, or, when some vertex lies farther off the image than FAR_OFF pixels or the
    image's own size, the rings clipped to the image plus a pixel all round.

    pycocotools walks every edge in fifths of a pixel, off the image too, so a vertex at 1e9
    would cost gigabytes (and overflow its integers). A clipped edge starts from a new vertex,
    so pixels along it may differ from what pycocotools would draw for the far one.
    """
    points = np.concatenate(rings)
    margin = max(FAR_OFF, height, width)
    if ((points >= -margin) & (points <= (width + margin, height + margin))).all():
        return rings
    clipped = [_clip_ring(r, (-1.0, -1.0), (width + 1.0, height + 1.0)) for r in rings]
    outside = np.full((3, 2), -1.0)  # a ring wholly off the image: three points that draw nothing
    return [r if len(r) >= 3 else outside for r in clipped]


def _clip_ring(ring: np.ndarray, low: tuple[float, float], high: tuple[float, float]
               ) -> np.ndarray:
    """Sutherland-Hodgman: the ring clipped to the rectangle low..high, one side at a time."""
    for axis, bound, inside in ((0, low[0], np.greater_equal), (0, high[0], np.less_equal),
                                (1, low[1], np.greater_equal), (1, high[1], np.less_equal)):
        if len(ring) == 0:
            break
        after = np.roll(ring, -1, axis=0)
        here_in, after_in = inside(ring[:, axis], bound), inside(after[:, axis], bound)
        crosses = here_in != after_in
        span = np.where(crosses, after[:, axis] - ring[:, axis], 1.0)
        t = np.where(crosses, (bound - ring[:, axis]) / span, 0.0)
        crossing = ring + t[:, None] * (after - ring)
        crossing[crosses, axis] = bound  # exactly on the side, whatever the rounding
        # each edge emits its start when inside, then where it crosses the side
        emitted = np.stack([ring, crossing], axis=1).reshape(-1, 2)
        ring = emitted[np.stack([here_in, crosses], axis=1).ravel()]
    return ring


def _rle_bits(rle: dict[str, Any]) -> np.ndarray:
    """A pycocotools RLE as a bool array (pycocotools' own decode warns under numpy 2)."""
    height, width = rle["size"]
    return _columns(rle["counts"].decode("ascii"), height, width)


def _concat_rings(rings: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """All rings in one (n, 2) array, with each vertex's ring and its successor and predecessor
    within that ring, so that per-ring work runs as a few whole-array operations."""
    lengths = np.array([len(r) for r in rings], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    index = np.arange(int(lengths.sum()))
    nxt, prv = index + 1, index - 1
    nxt[starts + lengths - 1] = starts
    prv[starts] = starts + lengths - 1
    return np.concatenate(rings), np.repeat(np.arange(len(rings)), lengths), nxt, prv


# -- mask -> polygon ----------------------------------------------------------------------------

def mask_to_polygon(mask: Mask | np.ndarray, *, tolerance: float = DEFAULT_TOLERANCE,
                    min_area: float = 0.0) -> Polygon | None:
    """The polygon outlining a mask: every component a part, every hole kept, and islands
    inside holes as parts of their own; None for an empty mask. Components smaller than
    `min_area` square pixels are dropped (None if nothing is left)."""
    bits = decode(mask) if isinstance(mask, Mask) else _as_bits(mask)
    minimum = real(min_area, "min_area")
    ys, xs = np.nonzero(bits)
    if ys.size == 0:
        return None
    top, left = int(ys.min()), int(xs.min())
    crop = bits[top:ys.max() + 1, left:xs.max() + 1]  # trace only the occupied window
    polygon = Polygon(tuple(_trace(crop, left, top)))
    if tolerance:
        polygon = simplify(_cut_corners(polygon), tolerance)
    if minimum > 0:
        parts = tuple(p for p in polygon.parts
                      if polygon_region(Polygon((p,))).area >= minimum)
        return Polygon(parts) if parts else None
    return polygon


def _trace(crop: np.ndarray, left: int, top: int) -> list[PolygonPart]:
    """Outline the pixel edges of `crop` (offset by left, top) with cv2.findContours.

    The trick: on a lattice twice as fine plus one, lattice point (2y, 2x) stands for the image
    point (x, y), and a lattice pixel is set when its point lies on a set pixel's closed square
    (a dilation of the set-pixel centres). Contours through lattice pixel centres then run
    along the image's pixel edges, holes included, once `_staircase` restores the corners that
    the 8-connected tracing cuts.
    """
    h, w = crop.shape
    lattice = np.zeros((2 * h + 1, 2 * w + 1), dtype=np.uint8)
    lattice[1::2, 1::2] = crop
    lattice = cv2.dilate(lattice, np.ones((3, 3), dtype=np.uint8))
    contours, hierarchy = cv2.findContours(lattice, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    chains = _staircase([c.reshape(-1, 2) for c in contours], lattice)
    parent = hierarchy[0][:, 3]
    pinched = _pinched(chains, np.where(parent < 0, np.arange(len(parent)), parent))
    offset = np.array([left, top], dtype=np.float64)
    rings = [c / 2 + offset for c in chains]
    holes_of: dict[int, list[int]] = {}
    for index, outer in enumerate(parent.tolist()):
        holes_of.setdefault(outer, []).append(index)  # outer -1 lists the outer rings
    parts: list[PolygonPart] = []
    for i in holes_of[-1]:
        part = PolygonPart(rings[i], tuple(rings[j] for j in holes_of.get(i, ())))
        if pinched[i]:  # pixels meeting at a corner can make the part invalid
            parts.extend(make_valid(Polygon((part,))).parts)
        else:
            parts.append(part)
    return parts


def _staircase(chains: list[np.ndarray], lattice: np.ndarray) -> list[np.ndarray]:
    """The chains with each diagonal step replaced by its two axis-aligned steps (through the
    set lattice pixel the tracer skipped), then reduced to the vertices where they turn."""
    pts, ring_id, nxt, _ = _concat_rings(chains)
    after = pts[nxt]
    diagonal = np.flatnonzero((after[:, 0] != pts[:, 0]) & (after[:, 1] != pts[:, 1]))
    via_a = np.stack([pts[diagonal, 0], after[diagonal, 1]], axis=1)
    via_b = np.stack([after[diagonal, 0], pts[diagonal, 1]], axis=1)
    use_a = lattice[via_a[:, 1], via_a[:, 0]] > 0
    corners = np.where(use_a[:, None], via_a, via_b)
    pts = np.insert(pts, diagonal + 1, corners, axis=0)
    ring_id = np.insert(ring_id, diagonal + 1, ring_id[diagonal])
    lengths = np.bincount(ring_id, minlength=len(chains))
    _, _, nxt, prv = _concat_rings([np.empty(n) for n in lengths])
    into, out = pts - pts[prv], pts[nxt] - pts
    cross = into[:, 0] * out[:, 1] - into[:, 1] * out[:, 0]
    dot = into[:, 0] * out[:, 0] + into[:, 1] * out[:, 1]
    keep = (cross != 0) | (dot < 0)
    kept = np.bincount(ring_id[keep], minlength=len(chains))
    return np.split(pts[keep], np.cumsum(kept)[:-1])


def _pinched(chains: list[np.ndarray], owner: np.ndarray) -> np.ndarray:
    """Per owner (a part's exterior ring): whether a point repeats among the part's rings.

    Axis-aligned pixel rings can only touch where both turn, so this finds every self-touching
    ring and every hole that touches its exterior or another hole; `make_valid` sorts out
    which of those touches are actually invalid (a hole meeting its exterior at two points).
    """
    pts, ring_id, _, _ = _concat_rings(chains)
    keyed = np.column_stack([owner[ring_id], pts])
    keyed = keyed[np.lexsort((keyed[:, 2], keyed[:, 1], keyed[:, 0]))]
    repeats = np.all(keyed[1:] == keyed[:-1], axis=1)
    pinched = np.zeros(len(chains), dtype=bool)
    pinched[keyed[1:][repeats, 0]] = True
    return pinched


def _cut_corners(polygon: Polygon) -> Polygon:
    """Every corner cut off half a pixel along both of its edges, before simplifying.

    On a pixel staircase the cuts meet at the step midpoints, which lie on the edge the
    staircase approximates; simplifying the corners themselves would keep the outer (or
    inner) corners and grow (or shrink) diagonal edges by a third of a pixel.
    """
    rings = [np.asarray(r, dtype=np.float64) for part in polygon.parts
             for r in (part.exterior, *part.holes)]
    pts, ring_id, nxt, prv = _concat_rings(rings)
    cuts = []
    for other in (prv, nxt):
        edge = pts[other] - pts
        length = np.hypot(edge[:, 0], edge[:, 1])
        step = np.minimum(0.5, length / 2) / np.where(length > 0, length, 1.0)
        cuts.append(pts + edge * step[:, None])
    cut = np.stack(cuts, axis=1).reshape(-1, 2)  # per vertex: towards prev, towards next
    cut_rings = iter(np.split(cut, 2 * np.cumsum(np.bincount(ring_id))[:-1]))
    return Polygon(tuple(PolygonPart(next(cut_rings), tuple(next(cut_rings) for _ in p.holes))
                         for p in polygon.parts))
