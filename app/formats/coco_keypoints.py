"""COCO keypoints (`coco-keypoints`): Points shapes as `keypoints` triplets (x, y, v) with
COCO visibility (0 not labeled, 1 labeled but hidden, 2 visible), one file per subset,
`annotations/person_keypoints_<subset>.json` (datumaro's name, whatever the category).

A category's keypoint names are those of its first named Points annotation, else "1".."n"
after its first Points annotation (and read back as unnamed); its skeleton comes from
`Dataset.meta["skeletons"][label]` (1-based index pairs, as COCO writes them) and goes back
there on import. Coordinates of unlabeled keypoints are written as they are, not zeroed, so
that they round-trip. Points that do not fit their category (another count or other names)
and every other shape are listed in `ExportReport.skipped`: COCO instances carries those.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.annotators.geometry import bounds
from app.annotators.shapes import Points, integer, items, real
from app.core.errors import ValidationError
from app.formats.base import Dataset, ExportReport, Item, Progress
from app.formats.coco_common import (
    CocoFile, base_entry, categories_for, load_task, need, new_annotation, text, write_subsets,
    xywh,
)

TASK = "person_keypoints"
SKELETONS = "skeletons"  # Dataset.meta key: label -> [[a, b], ...], 1-based keypoint indices


# -- export ---------------------------------------------------------------------------------

def export(dataset: Dataset, out: Path, *, progress: Progress | None = None) -> ExportReport:
    specs = _keypoint_names(dataset)
    categories = categories_for(dataset)
    for cat in categories:
        names = specs.get(cat["name"], ())
        cat["keypoints"] = list(names)
        cat["skeleton"] = _skeleton(dataset, cat["name"], len(names))

    def convert(item: Item, image_id: int, next_id: int, cat_ids: dict[str, int],
                skipped: list[str]) -> list[dict[str, Any]]:
        entries = []
        for ann in item.annotations:
            shape, names = ann.shape, specs.get(ann.label)
            if not isinstance(shape, Points) or names is None:
                skipped.append(f"{item.name}: a {shape.kind} ({ann.label}) is not keypoints "
                               "(use the coco format)")
            elif len(shape.points) != len(names) or shape.names not in (None, names):
                skipped.append(f"{item.name}: points ({ann.label}) do not match the category's "
                               f"{len(names)} keypoints {list(names)}")
            else:
                entry = base_entry(ann, next_id + len(entries), image_id, cat_ids[ann.label])
                entry.update(_keypoints(shape))
                entries.append(entry)
        return entries

    return write_subsets(dataset, Path(out), task=TASK, categories=categories, convert=convert,
                         progress=progress)


def _keypoint_names(dataset: Dataset) -> dict[str, tuple[str, ...]]:
    """Per label: the names of its first named Points, else "1".."n" after its first Points."""
    named: dict[str, tuple[str, ...]] = {}
    counts: dict[str, int] = {}
    for item in dataset.items:
        for ann in item.annotations:
            if isinstance(ann.shape, Points):
                counts.setdefault(ann.label, len(ann.shape.points))
                if ann.shape.names is not None:
                    named.setdefault(ann.label, ann.shape.names)
    return {label: named.get(label) or _numbered(n) for label, n in counts.items()}


def _numbered(count: int) -> tuple[str, ...]:
    return tuple(str(i) for i in range(1, count + 1))


def _skeleton(dataset: Dataset, label: str, count: int) -> list[list[int]]:
    """The label's skeleton from meta; none for a label without keypoints in this dataset."""
    found = dataset.meta.get(SKELETONS) or {}
    if not isinstance(found, Mapping):
        raise ValidationError("expected an object of label: edges", where=f"meta.{SKELETONS}")
    if not count:
        return []
    return _edges(found.get(label) or [], f"meta.{SKELETONS}.{label}", count)


def _edges(value: Any, where: str, count: int) -> list[list[int]]:
    return [_edge(edge, f"{where}[{i}]", count) for i, edge in enumerate(items(value, where))]


def _edge(value: Any, where: str, count: int) -> list[int]:
    pair = items(value, where)
    if len(pair) != 2:
        raise ValidationError(f"expected a pair of keypoint numbers, got {len(pair)}", where=where)
    ends = [integer(v, f"{where}[{i}]", minimum=1) for i, v in enumerate(pair)]
    if max(ends) > count:
        raise ValidationError(f"keypoint {max(ends)} of {count}", where=where)
    return ends


def _keypoints(shape: Points) -> dict[str, Any]:
    flat: list[float] = []
    for (x, y), v in zip(shape.points, shape.visibility or ()):
        flat.extend((x, y, v))
    x1, y1, x2, y2 = bounds(shape)
    return {"segmentation": [], "bbox": xywh(x1, y1, x2, y2), "area": (x2 - x1) * (y2 - y1),
            "keypoints": flat, "num_keypoints": sum(1 for v in shape.visibility or () if v)}


# -- import ---------------------------------------------------------------------------------

def load(path: Path) -> Dataset:
    names: dict[str, tuple[str, ...]] = {}
    skeletons: dict[str, list[list[int]]] = {}

    def on_category(cat_id: int, cat: Mapping[str, Any], where: str) -> None:
        found = tuple(text(n, f"{where}.keypoints[{i}]") for i, n in
                      enumerate(items(cat.get("keypoints", []), f"{where}.keypoints")))
        names.setdefault(cat["name"], found)
        skeleton = _edges(cat.get("skeleton") or [], f"{where}.skeleton", len(found))
        if skeleton:
            skeletons.setdefault(cat["name"], skeleton)

    def parse(coco: CocoFile, entry: Mapping[str, Any], where: str) -> None:
        new_annotation(coco, entry, where,
                       lambda item, attrs: _points(entry, names[coco.labels[entry["category_id"]]]))

    dataset = load_task(Path(path), TASK, parse, on_category)
    if skeletons:
        dataset.meta[SKELETONS] = skeletons
    return dataset


def _points(entry: Mapping[str, Any], names: tuple[str, ...]) -> Points:
    flat = items(need(entry, "keypoints"), "keypoints")
    if not flat or len(flat) % 3:
        raise ValidationError(f"expected x, y, v triplets, got {len(flat)} numbers",
                              where="keypoints")
    if names and len(flat) != 3 * len(names):
        raise ValidationError(f"{len(flat) // 3} keypoints for a category of {len(names)}",
                              where="keypoints")
    coords = [real(v, f"keypoints[{i}]") for i, v in enumerate(flat)]
    pts = tuple(zip(coords[0::3], coords[1::3]))
    vis = tuple(_visibility(v, f"keypoints[{3 * i + 2}]") for i, v in enumerate(coords[2::3]))
    unnamed = not names or names == _numbered(len(names))
    return Points(pts, vis, None if unnamed else names)


def _visibility(value: float, where: str) -> int:
    if value not in (0, 1, 2):  # some writers use 2.0: the value counts, not the type
        raise ValidationError(f"must be 0, 1 or 2, got {value}", where=where)
    return int(value)


class _Keypoints:
    name = "coco-keypoints"
    title = "COCO keypoints 1.0"
    media = frozenset({"image"})
    can_import = True
    can_export = True
    precision = (
        "keypoint coordinates and visibility exact; labels, attributes, iscrowd and confidence "
        "(as score) exact; keypoint names per category (numbered names read back as unnamed; "
        "unnamed points of a named category come back named); skeletons via "
        "meta['skeletons']; only points shapes are written")
    export = staticmethod(export)
    load = staticmethod(load)


FORMAT = _Keypoints()
