"""labelme JSON (version 5.x): one JSON per image, beside it, with the image's own name.

Written per image: `<item name without extension>.json` holding version "5.5.0", flags,
shapes, imagePath (the image's file name: the JSON sits in the image's folder), imageData
null, imageHeight, imageWidth; the media is hard-linked or copied beside it when known.
labelme has no splits, so `Item.subset` is not written.

Shapes, ours -> labelme -> ours:
    Box        rectangle [[x1, y1], [x2, y2]]                      exact
    Polygon    polygon; a part per shape sharing one group_id      exact; with holes -> mask
    Polyline   line (2 points) or linestrip                        exact
    Points     point; several points share one group_id            exact
    Mask       mask: [[x1, y1], [x2, y2]] inclusive pixel bounds and a base64 PNG of that crop
    RotatedBox polygon of its 4 corners (labelme 5 has no rotated rectangle; listed in skipped)
    Tag        the image's flags: {label: true}
Coordinates are JSON floats written with repr, so they come back bit for bit.

Reading also takes circle (centre and a point on it) as a 64-vertex polygon on the circle,
oriented_rectangle (labelme 6) as a rotated box, points as Points, and a missing shape_type as
polygon. Polygons, and points, that share a label and a group_id are one annotation with
several parts (labelme's own labelme2coco merges them the same way).

Attributes: booleans are shape flags; `group_id` (an integer) and `description` (text) are
labelme's own fields; any other attribute goes into an extra "attributes" object on the shape,
and keypoint visibility (when not 2) and names into "visibility" and "name" on each point
shape: labelme keeps unknown shape keys when it saves. Confidence, source, author and z-order
are not labelme fields and are not kept.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
from PIL import Image

from app.annotators import masks
from app.annotators.annotation import Annotation, Attributes, AttrValue
from app.annotators.shapes import Box, Points, Polygon, Polyline, RotatedBox, Shape, Tag
from app.core.errors import ValidationError
from app.formats._media_files import (
    ImageExport, image_size, item_size, place_media, read_text, relative, safe_name,
    write_atomic,
)
from app.formats._labelme_shapes import EXTRA, decode_shape, merge_groups, parse_shape
from app.formats.base import Dataset, ExportReport, Item, Progress, located_in

VERSION = "5.5.0"


class LabelmeFormat:
    name = "labelme"
    title = "labelme JSON 5.x"
    media = frozenset({"image"})
    can_import = True
    can_export = True
    precision = ("exact for boxes, polygons without holes, lines, points and masks; polygons "
                 "with holes become masks (pycocotools' rule); rotated boxes become 4-point "
                 "polygons; circles are read as 64-vertex polygons")

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None
               ) -> ExportReport:
        out = Path(out)
        done = ImageExport("labelme")

        def write_item(item: Item) -> tuple[list[Path], int]:
            name = safe_name(item)
            document, count = _document(item, name.name, done.skipped)
            text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
            files = [write_atomic(out / name.with_suffix(".json"), text)]
            copied = place_media(item, out / name)
            return files + ([copied] if copied else []), count

        done.run(dataset, write_item, progress)
        return done.report()

    def load(self, path: Path) -> Dataset:
        root = Path(path)
        found = [root] if root.is_file() else sorted(root.rglob("*.json"))
        base = root.parent if root.is_file() else root
        if not found:
            raise ValidationError("no labelme .json file found", where=str(root))
        dataset = Dataset()
        for file in found:
            item = _read_file(file, base)
            for ann in item.annotations:
                dataset.add_label(ann.label)
            dataset.items.append(item)
        return dataset


FORMAT = LabelmeFormat()


# -- export -------------------------------------------------------------------------------------

def _document(item: Item, image_name: str, skipped: list[str]) -> tuple[dict[str, Any], int]:
    """The JSON of one image, and how many of its annotations it holds."""
    width, height = item_size(item, "labelme")
    groups = [a.attributes.get("group_id") for a in item.annotations]
    next_group = max([g for g in groups if type(g) is int] or [0]) + 1
    shapes: list[dict[str, Any]] = []
    flags: dict[str, bool] = {}
    count = 0
    for ann in item.annotations:
        shape = ann.shape
        count += 1
        if isinstance(shape, Tag):
            flags[ann.label] = True
            if ann.attributes:
                skipped.append(f"{item.name}: tag {ann.label!r} lost its attributes "
                               "(labelme flags are true or false)")
            continue
        if isinstance(shape, RotatedBox):
            skipped.append(f"{item.name}: rotated_box {ann.label!r} was written as a 4-point "
                           "polygon (labelme 5 has no rotated rectangle)")
            shape = Polygon.from_rings(shape.corners())
        pieces = _pieces(shape, height, width)
        if pieces is None:
            skipped.append(f"{item.name}: {shape.kind} {ann.label!r} covers no pixel")
            count -= 1
            continue
        if isinstance(shape, Polygon) and pieces[0][0] == "mask":
            skipped.append(f"{item.name}: polygon {ann.label!r} with holes was written as a "
                           "mask (labelme polygons have no holes)")
        group = ann.attributes.get("group_id")
        if type(group) is not int and len(pieces) > 1:
            group, next_group = next_group, next_group + 1
        shapes += [_shape_dict(ann, kind, pts, group, extra) for kind, pts, extra in pieces]
    return {"version": VERSION, "flags": flags, "shapes": shapes, "imagePath": image_name,
            "imageData": None, "imageHeight": height, "imageWidth": width}, count


def _pieces(shape: Shape, height: int, width: int
            ) -> list[tuple[str, list[list[float]], dict[str, Any]]] | None:
    """(shape_type, points, extra keys) for each labelme shape one of ours becomes."""
    if isinstance(shape, Box):
        return [("rectangle", [[shape.x1, shape.y1], [shape.x2, shape.y2]], {})]
    if isinstance(shape, Polygon) and not any(p.holes for p in shape.parts):
        return [("polygon", [list(p) for p in part.exterior], {}) for part in shape.parts]
    if isinstance(shape, Polyline):
        return [("line" if len(shape.points) == 2 else "linestrip",
                 [list(p) for p in shape.points], {})]
    if isinstance(shape, Points):
        return [("point", [list(p)], _point_extra(shape, i)) for i, p in enumerate(shape.points)]
    return _mask_piece(masks.rasterize(shape, height, width))


def _point_extra(points: Points, i: int) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if points.visibility and points.visibility[i] != 2:
        extra["visibility"] = points.visibility[i]
    if points.names is not None:
        extra["name"] = points.names[i]
    return extra


def _mask_piece(bits: np.ndarray) -> list[tuple[str, list[list[float]], dict[str, Any]]] | None:
    rows, cols = np.nonzero(bits)
    if rows.size == 0:
        return None
    y1, y2, x1, x2 = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
    buffer = io.BytesIO()
    Image.fromarray(bits[y1:y2 + 1, x1:x2 + 1].astype(np.uint8)).save(buffer, format="PNG")
    return [("mask", [[x1, y1], [x2, y2]], {"mask": base64.b64encode(buffer.getvalue()).decode()})]


def _shape_dict(ann: Annotation, kind: str, points: list[list[float]], group: Any,
                extra: dict[str, Any]) -> dict[str, Any]:
    attrs = dict(ann.attributes)
    attrs.pop("group_id", None) if type(attrs.get("group_id")) is int else None
    description = attrs.pop("description") if isinstance(attrs.get("description"), str) else ""
    flags = {k: v for k, v in attrs.items() if isinstance(v, bool)}
    rest = {k: v for k, v in attrs.items() if not isinstance(v, bool)}
    shape = {"label": ann.label, "points": points, "group_id": group if type(group) is int else None,
             "description": description, "shape_type": kind, "flags": flags,
             "mask": extra.pop("mask", None)}
    shape.update(extra)
    if rest:
        shape[EXTRA] = rest
    return shape


# -- import -------------------------------------------------------------------------------------

def _read_file(path: Path, root: Path) -> Item:
    where = relative(path, root)
    try:
        data = json.loads(read_text(path, where))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON: {exc.msg}", where=located_in(where, exc.lineno)) from None
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list) \
            or not isinstance(data.get("imagePath"), str):
        raise ValidationError("not a labelme file (needs a shapes list and an imagePath)", where=where)
    given = PureWindowsPath(data["imagePath"])  # labelme on Windows writes "\\"
    folder = PurePosixPath(where).parent
    # an absolute imagePath names a file elsewhere: the item is then the image beside the JSON
    image_rel = given.name if given.drive or given.as_posix().startswith("/") else given.as_posix()
    name = posixpath.normpath((folder / image_rel).as_posix())
    image = path.parent / image_rel
    width, height = _size(data, image, where)
    item = Item(name=name, width=width, height=height,
                media_path=image if image.is_file() else None)
    parsed = [parse_shape(s, f"{where}: shapes[{i}]") for i, s in enumerate(data["shapes"])]
    for members in merge_groups(parsed):
        first = members[0]
        shape = decode_shape(members, width, height)
        attrs = _attributes(first)
        item.annotations.append(Annotation.new(asset_id=0, author="", label=first.label,
                                               shape=shape, attributes=attrs))
    item.annotations += [Annotation.new(asset_id=0, author="", label=flag, shape=Tag())
                         for flag in _true_flags(data.get("flags"), where)]
    return item


def _size(data: dict[str, Any], image: Path, where: str) -> tuple[int | None, int | None]:
    values = [data.get("imageWidth"), data.get("imageHeight")]
    for key, value in zip(("imageWidth", "imageHeight"), values):
        if value is not None and (type(value) is not int or value < 1):
            raise ValidationError(f"expected a positive integer, got {value!r}",
                                  where=located_in(where, field_path=key))
    if None in values and image.is_file():
        return image_size(image, where)
    if None in values and isinstance(data.get("imageData"), str):
        return _embedded_size(data["imageData"], where)
    return values[0], values[1]


def _embedded_size(image_data: str, where: str) -> tuple[int, int]:
    """The size of the base64 image labelme embeds when it was saved with image data."""
    try:
        with Image.open(io.BytesIO(base64.b64decode(image_data, validate=True))) as image:
            return image.size
    except (ValueError, OSError) as exc:  # binascii.Error and PIL's errors are among these
        raise ValidationError(f"not a base64 image: {exc}",
                              where=located_in(where, field_path="imageData")) from None


def _attributes(shape: Any) -> Attributes:
    attrs: dict[str, AttrValue] = dict(shape.extra)
    attrs.update(shape.flags)
    if shape.description:
        attrs["description"] = shape.description
    if shape.group_id is not None:
        attrs["group_id"] = shape.group_id
    with_where = f"{shape.where}.{EXTRA}"
    try:
        return Attributes(attrs)
    except ValidationError as exc:
        raise ValidationError(str(exc), where=with_where) from None


def _true_flags(flags: Any, where: str) -> Iterator[str]:
    if flags is None:
        return
    if not isinstance(flags, dict) or not all(isinstance(v, bool) for v in flags.values()):
        raise ValidationError("expected an object of name: true/false",
                              where=located_in(where, field_path="flags"))
    yield from (name for name, value in flags.items() if value and name.strip())
