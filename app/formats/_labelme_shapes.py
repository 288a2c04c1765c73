"""Reading labelme shapes: each JSON shape checked field by field (the layout labelme's own
`_load_shape_json_obj` enforces), shapes sharing a label and group_id merged, and each
annotation's geometry built from its labelme shapes."""

from __future__ import annotations

import base64
import binascii
import io
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.annotators import masks
from app.annotators.shapes import Box, Points, Polygon, PolygonPart, Polyline, Shape, located
from app.core.errors import ValidationError
from app.formats._shape_parts import circle_ring, rotated_box_from_corners

EXTRA = "attributes"
MERGED = ("polygon", "point")  # kinds whose shapes with one label and group_id are one annotation
_POINT_COUNTS = {"rectangle": (2, 4), "circle": (2,), "oriented_rectangle": (4,), "mask": (2,)}
_MINIMUM = {"polygon": 3, "line": 2, "linestrip": 2, "point": 1, "points": 1}


@dataclass
class LabelmeShape:
    where: str
    label: str
    kind: str
    points: list[tuple[float, float]]
    group_id: int | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    description: str = ""
    mask: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    visibility: int = 2
    name: str | None = None


def parse_shape(data: Any, where: str) -> LabelmeShape:
    if not isinstance(data, Mapping):
        raise ValidationError("expected an object", where=where)
    label = data.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ValidationError("expected a non-empty string", where=f"{where}.label")
    kind = data.get("shape_type") or "polygon"  # labelme's default for a missing type
    if not isinstance(kind, str):
        raise ValidationError("expected a string", where=f"{where}.shape_type")
    shape = LabelmeShape(where, label, kind, _points(data.get("points"), f"{where}.points"))
    shape.group_id = _optional(data, "group_id", int, where)
    shape.flags = _optional(data, "flags", dict, where) or {}
    if not all(isinstance(k, str) and k and isinstance(v, bool) for k, v in shape.flags.items()):
        raise ValidationError("expected an object of name: true/false", where=f"{where}.flags")
    shape.description = _optional(data, "description", str, where) or ""
    shape.mask = _optional(data, "mask", str, where)
    shape.extra = _optional(data, EXTRA, dict, where) or {}
    visibility = _optional(data, "visibility", int, where)
    if visibility is not None:
        if visibility not in (0, 1, 2):
            raise ValidationError("must be 0, 1 or 2", where=f"{where}.visibility")
        shape.visibility = visibility
    shape.name = _optional(data, "name", str, where)
    return shape


def _optional(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)):
        raise ValidationError(f"expected {kind.__name__} or null, got {type(value).__name__}",
                              where=f"{where}.{key}")
    return value


def _points(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list) or not value:
        raise ValidationError("expected a non-empty list of [x, y]", where=where)
    found = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list) or len(pair) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in pair):
            raise ValidationError("expected [x, y] numbers", where=f"{where}[{i}]")
        found.append((float(pair[0]), float(pair[1])))
    return found


def merge_groups(shapes: list[LabelmeShape]) -> list[list[LabelmeShape]]:
    """Annotations in file order, each the list of shapes it is made of."""
    groups: dict[tuple[str, str, int], list[LabelmeShape]] = {}
    found: list[list[LabelmeShape]] = []
    for shape in shapes:
        if shape.kind in MERGED and shape.group_id is not None:
            key = (shape.label, shape.kind, shape.group_id)
            if key in groups:
                groups[key].append(shape)
                continue
            groups[key] = members = [shape]
            found.append(members)
        else:
            found.append([shape])
    return found


def decode_shape(members: list[LabelmeShape], width: int | None, height: int | None) -> Shape:
    first = members[0]
    for shape in members:
        _check_count(shape)
    with located(first.where):
        if first.kind == "polygon":
            return Polygon(tuple(PolygonPart(tuple(m.points)) for m in members))
        if first.kind in ("point", "points"):
            names = [m.name for m in members]
            return Points(tuple(p for m in members for p in m.points),
                          tuple(m.visibility for m in members for _ in m.points),
                          None if all(n is None for n in names) else tuple(n or "" for n in names))
        if first.kind == "rectangle":
            xs, ys = zip(*first.points)
            return Box(min(xs), min(ys), max(xs), max(ys))
        if first.kind in ("line", "linestrip"):
            return Polyline(tuple(first.points))
        if first.kind == "circle":
            return Polygon.from_rings(circle_ring(first.points[0], first.points[1]))
        if first.kind == "oriented_rectangle":
            return rotated_box_from_corners(first.points)
    if first.kind == "mask":
        return _mask(first, width, height)
    raise ValidationError(f"unknown shape_type {first.kind!r}", where=f"{first.where}.shape_type")


def _check_count(shape: LabelmeShape) -> None:
    n = len(shape.points)
    if shape.kind in _POINT_COUNTS and n not in _POINT_COUNTS[shape.kind]:
        raise ValidationError(f"a {shape.kind} takes {' or '.join(map(str, _POINT_COUNTS[shape.kind]))}"
                              f" points, got {n}", where=f"{shape.where}.points")
    if n < _MINIMUM.get(shape.kind, 0) or (shape.kind == "point" and n != 1):
        raise ValidationError(f"a {shape.kind} needs {'exactly' if shape.kind == 'point' else 'at least'}"
                              f" {_MINIMUM[shape.kind]} points, got {n}", where=f"{shape.where}.points")


def _mask(shape: LabelmeShape, width: int | None, height: int | None) -> Shape:
    """labelme's mask: the PNG of the crop between two inclusive pixel corners."""
    if not width or not height:
        raise ValidationError("a mask needs imageWidth and imageHeight (or the image)",
                              where=shape.where)
    if shape.mask is None:
        raise ValidationError("a mask shape needs its base64 PNG", where=f"{shape.where}.mask")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(base64.b64decode(shape.mask, validate=True))) as image:
                crop = np.array(image.convert("L")) != 0
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError) as exc:
        raise ValidationError(f"not a base64 PNG: {exc}", where=f"{shape.where}.mask") from None
    (x1, y1), (x2, y2) = ((int(x), int(y)) for x, y in shape.points)  # labelme truncates too
    if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise ValidationError(f"the PNG is {crop.shape[1]}x{crop.shape[0]}, the points span "
                              f"{x2 - x1 + 1}x{y2 - y1 + 1}", where=f"{shape.where}.mask")
    if x1 < 0 or y1 < 0 or x2 >= width or y2 >= height:
        raise ValidationError(f"the mask reaches outside the {width}x{height} image",
                              where=f"{shape.where}.points")
    bits = np.zeros((height, width), dtype=bool)
    bits[y1:y2 + 1, x1:x2 + 1] = crop
    return masks.encode(bits)
