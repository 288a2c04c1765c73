"""COCO instances (`coco`), and the registry's entry for COCO keypoints (`coco-keypoints`).

Export: boxes as a bbox with no segmentation; polygons as COCO polygon lists (one list per
part); polygons with holes, which COCO polygons cannot express, as compressed RLE of our own
rasterization (`masks.polygon_to_mask`, so `annToMask` gives exactly our pixels); masks as
compressed RLE; rotated boxes as the polygon of their corners with `attributes.rotation` in
degrees, clockwise, in [0, 360) (CVAT's convention). Polylines, points (see coco-keypoints),
tags, tracks, segments and non-image items are listed in `ExportReport.skipped`.

Import: polygon lists -> Polygon (one part per list), RLE (compressed or not) -> Mask, an
empty segmentation -> Box; a 4-corner polygon or a bbox with a numeric `rotation` attribute
-> RotatedBox (CVAT writes rotated boxes as the unrotated bbox plus `rotation`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import chain
from operator import mul
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from app.annotators.geometry import area, bounds
from app.annotators.masks import mask_area, mask_bbox, polygon_to_mask
from app.annotators.shapes import (
    Box, Mask, Polygon, PolygonPart, RotatedBox, Shape, integer, items, located, normalize_angle,
    real,
)
from app.core.errors import ValidationError
from app.formats import coco_keypoints
from app.formats.base import Dataset, ExportReport, Item, Progress
from app.formats.coco_common import (
    CocoFile, base_entry, categories_for, load_task, need, new_annotation, write_subsets, xywh,
)

TASK = "instances"
ROTATION = "rotation"  # the attribute a rotated box's angle travels in
_UNSUPPORTED = {"polyline": "", "points": " (coco-keypoints carries points)", "tag": ""}


# -- export ---------------------------------------------------------------------------------

def export(dataset: Dataset, out: Path, *, progress: Progress | None = None) -> ExportReport:
    return write_subsets(dataset, Path(out), task=TASK, categories=categories_for(dataset),
                         convert=_convert_item, progress=progress)


def _convert_item(item: Item, image_id: int, next_id: int, cat_ids: dict[str, int],
                  skipped: list[str]) -> list[dict[str, Any]]:
    entries = []
    for ann in item.annotations:
        kind = ann.shape.kind
        if kind in _UNSUPPORTED:
            skipped.append(f"{item.name}: {kind} shape ({ann.label}) has no COCO instances "
                           "form" + _UNSUPPORTED[kind])
            continue
        if kind == "rotated_box" and ROTATION in ann.attributes:
            skipped.append(f"{item.name}: the {ROTATION!r} attribute of a rotated box "
                           f"({ann.label}) was replaced by the box's angle")
        geometry = _geometry(ann.shape, item, skipped, ann.label)
        if geometry is None:
            continue
        extra = geometry.pop("extra", None)
        entry = base_entry(ann, next_id + len(entries), image_id, cat_ids[ann.label], extra)
        entry.update(geometry)
        entries.append(entry)
    return entries


def _geometry(shape: Shape, item: Item, skipped: list[str], label: str) -> dict[str, Any] | None:
    """segmentation, bbox and area of one shape (and `extra` attributes), or None if skipped."""
    if isinstance(shape, Box):
        return {"segmentation": [], "bbox": xywh(shape.x1, shape.y1, shape.x2, shape.y2),
                "area": (shape.x2 - shape.x1) * (shape.y2 - shape.y1)}
    if isinstance(shape, RotatedBox):
        flat = np.asarray(shape.corners(), dtype=np.float64)
        return {"segmentation": [flat.ravel().tolist()], "bbox": _bbox_of(flat),
                "area": shape.w * shape.h, "extra": {ROTATION: shape.angle % 360.0}}
    if isinstance(shape, Polygon) and not any(part.holes for part in shape.parts):
        return _polygon(shape)
    size = (item.height, item.width)
    if isinstance(shape, Polygon):
        if not all(size):
            skipped.append(f"{item.name}: a polygon with holes ({label}) needs the image size "
                           "to be written as RLE, and it is unknown")
            return None
        mask = polygon_to_mask(shape, item.height, item.width)
        return {"segmentation": _rle(mask), "bbox": xywh(*bounds(shape)),
                "area": mask_area(mask)}
    if isinstance(shape, Mask):
        if all(size) and size != (shape.height, shape.width):
            skipped.append(f"{item.name}: a {shape.height}x{shape.width} mask ({label}) on a "
                           f"{item.height}x{item.width} image")
            return None
        box = mask_bbox(shape) or (0.0, 0.0, 0.0, 0.0)
        return {"segmentation": _rle(shape), "bbox": xywh(*box), "area": mask_area(shape)}
    raise ValidationError(f"unknown shape kind {shape.kind!r}", where=item.name)


def _polygon(shape: Polygon) -> dict[str, Any]:
    # Plain Python: for rings of a few dozen points it beats numpy's per-call overhead, and
    # this runs once per polygon of the export.
    rings = [list(chain.from_iterable(part.exterior)) for part in shape.parts]
    xs = [x for ring in rings for x in ring[0::2]]
    ys = [y for ring in rings for y in ring[1::2]]
    if len(rings) == 1:  # the shoelace formula; several parts may overlap: shapely's union
        size = abs(sum(map(mul, xs, ys[1:] + ys[:1])) - sum(map(mul, ys, xs[1:] + xs[:1]))) / 2
    else:
        size = area(shape)
    return {"segmentation": rings, "bbox": xywh(min(xs), min(ys), max(xs), max(ys)),
            "area": size}


def _bbox_of(points: np.ndarray) -> list[float]:
    low, high = points.min(axis=0), points.max(axis=0)
    return xywh(float(low[0]), float(low[1]), float(high[0]), float(high[1]))


def _rle(mask: Mask) -> dict[str, Any]:
    return {"size": [mask.height, mask.width], "counts": mask.counts}


# -- import ---------------------------------------------------------------------------------

def load(path: Path) -> Dataset:
    return load_task(Path(path), TASK, _parse_annotation)


def _parse_annotation(coco: CocoFile, entry: Mapping[str, Any], where: str) -> None:
    new_annotation(coco, entry, where, lambda item, attrs: _shape(entry, item, attrs))


def _shape(entry: Mapping[str, Any], item: Item, attrs: dict[str, Any]) -> Shape:
    seg = entry.get("segmentation")
    rotation = attrs.get(ROTATION)
    rotated = isinstance(rotation, (int, float)) and not isinstance(rotation, bool)
    if isinstance(seg, Mapping):
        return _mask(seg, item)
    if seg not in (None, [], [[]]):
        rings = [_ring(ring, f"segmentation[{i}]")
                 for i, ring in enumerate(items(seg, "segmentation"))]
        if rotated and len(rings) == 1 and len(rings[0]) == 4:
            return _rotated_from_corners(rings[0], attrs.pop(ROTATION))
        return Polygon(tuple(PolygonPart(ring) for ring in rings))
    box = items(need(entry, "bbox"), "bbox")
    if len(box) != 4:
        raise ValidationError(f"expected [x, y, width, height], got {len(box)} values",
                              where="bbox")
    x, y, w, h = (real(v, f"bbox[{i}]") for i, v in enumerate(box))
    if rotated:
        return RotatedBox(x + w / 2, y + h / 2, w, h, normalize_angle(attrs.pop(ROTATION)))
    return Box(x, y, x + w, y + h)


def _ring(value: Any, where: str) -> np.ndarray:
    coords = items(value, where)
    if any(type(c) not in (int, float) for c in coords):  # bools and strings are not numbers
        bad = next(i for i, c in enumerate(coords) if type(c) not in (int, float))
        raise ValidationError(f"expected a number, got {type(coords[bad]).__name__}",
                              where=f"{where}[{bad}]")
    if len(coords) % 2 or len(coords) < 6:
        raise ValidationError(f"expected x, y pairs of at least 3 points, got {len(coords)} "
                              "numbers", where=where)
    return np.asarray(coords, dtype=np.float64).reshape(-1, 2)


def _rotated_from_corners(corners: np.ndarray, angle: float) -> RotatedBox:
    """Inverse of `RotatedBox.corners`: centre, the two side lengths, and the given angle."""
    cx, cy = (float(v) for v in corners.mean(axis=0))
    w = math.dist(corners[0], corners[1])
    h = math.dist(corners[1], corners[2])
    return RotatedBox(cx, cy, w, h, normalize_angle(real(angle, "attributes.rotation")))


def _mask(seg: Mapping[str, Any], item: Item) -> Mask:
    size = items(need(seg, "size", "segmentation"), "segmentation.size")
    if len(size) != 2:
        raise ValidationError("expected [height, width]", where="segmentation.size")
    h, w = (integer(v, f"segmentation.size[{i}]", minimum=1) for i, v in enumerate(size))
    if item.height and item.width and (h, w) != (item.height, item.width):
        raise ValidationError(f"the mask is {h}x{w} but the image is {item.height}x{item.width}",
                              where="segmentation.size")
    counts = need(seg, "counts", "segmentation")
    if isinstance(counts, str):
        with located("segmentation"):
            return Mask(h, w, counts)
    runs = [integer(v, f"segmentation.counts[{i}]") for i, v in
            enumerate(items(counts, "segmentation.counts"))]
    if sum(runs) != h * w:
        raise ValidationError(f"run lengths cover {sum(runs)} pixels, not {h}x{w}",
                              where="segmentation.counts")
    rle = coco_mask.frPyObjects({"size": [h, w], "counts": runs}, h, w)
    return Mask(h, w, rle["counts"].decode("ascii"))


class _Instances:
    name = "coco"
    title = "COCO instances 1.0"
    media = frozenset({"image"})
    can_import = True
    can_export = True
    precision = (
        "labels, attributes, iscrowd and confidence (as score) exact; boxes to 1e-9 px "
        "(x2 = x + width in floating point); polygons without holes exact; polygons with "
        "holes come back as masks of their pixels (pycocotools' rule); masks exact; "
        "rotated boxes to 1e-6 px and degrees, their angle in attributes.rotation (so a numeric "
        "'rotation' attribute on a box or 4-point polygon reads back as a rotated box, as CVAT "
        "means it); ids, authors, timestamps, source, z-order and flags are not kept")
    export = staticmethod(export)
    load = staticmethod(load)


FORMAT = _Instances()
FORMATS = {FORMAT.name: FORMAT, coco_keypoints.FORMAT.name: coco_keypoints.FORMAT}
