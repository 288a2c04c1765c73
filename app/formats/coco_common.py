"""What COCO instances and COCO keypoints share: the folder layout, streaming the JSON out,
reading and checking images, categories and the common fields of an annotation.

Layout (datumaro's): `<out>/annotations/<task>_<subset>.json`, one file per subset, beside an
`images/` folder (left empty: media are not copied; datumaro refuses a dataset without it). Category
ids run from 1 in `Dataset.labels` order; image and annotation ids from 1 in each file.
Extensions beside the COCO fields: `attributes` on an annotation (as CVAT and datumaro
write it), `score` for the confidence, and `sha256` on an image when the hash is known.
The `iscrowd` flag is the annotation attribute `iscrowd` (true when 1), both ways.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.annotators.annotation import Annotation, Attributes
from app.annotators.shapes import Shape, integer, items, located, real
from app.core.errors import ValidationError
from app.formats.base import (
    DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress,
)
from app.core.files import atomic_file
from app.formats.native import dumps, in_file, read_json

CROWD = "iscrowd"  # the annotation attribute that carries COCO's iscrowd flag
_SAFE_SUBSET = re.compile(r"^[\w][\w.-]*$")
_HEADER = {"info": {"description": "exported by Alaya", "version": "1.0"}, "licenses": []}

# (item, first annotation id, category ids, skipped) -> COCO annotation dicts, ids set
Convert = Callable[[Item, int, int, dict[str, int], list[str]], list[dict[str, Any]]]


# -- export ---------------------------------------------------------------------------------

def write_subsets(dataset: Dataset, out: Path, *, task: str, categories: list[dict[str, Any]],
                  convert: Convert, progress: Progress | None) -> ExportReport:
    """One `annotations/<task>_<subset>.json` per subset, each streamed item by item."""
    cat_ids = {c["name"]: c["id"] for c in categories}
    skipped = [f"{item.name}: COCO holds images only, not {item.media}"
               for item in dataset.items if item.media != "image"]
    files, shapes, done, total = [], 0, len(skipped), len(dataset.items)
    (Path(out) / "images").mkdir(parents=True, exist_ok=True)  # readers (datumaro) expect it
    if progress and done:
        progress(done, total)  # what COCO cannot hold is done at once
    for subset in _subsets_with_images(dataset):
        images = [item for item in dataset.items_in(subset) if item.media == "image"]
        path = Path(out) / "annotations" / f"{task}_{subset}.json"
        with atomic_file(path) as handle:
            head = dumps({**_HEADER, "categories": categories}, "categories")
            handle.write(head[:-1] + ',"images":[')
            handle.write(",\n".join(dumps(_image_entry(item, i), item.name)
                                    for i, item in enumerate(images, 1)))
            handle.write('],\n"annotations":[')
            next_id = 1
            for image_id, item in enumerate(images, 1):
                entries = convert(item, image_id, next_id, cat_ids, skipped)
                if entries:  # one write per item: the list's JSON without its brackets
                    handle.write(("\n," if next_id > 1 else "\n") + dumps(entries, item.name)[1:-1])
                    next_id += len(entries)
                skipped.extend(_unexpressed(item))
                done += 1
                if progress:
                    progress(done, total)
            handle.write("\n]}\n")
        shapes += next_id - 1
        files.append(path)
    return ExportReport(files=tuple(files), items=total, shapes=shapes, skipped=tuple(skipped))


def _subsets_with_images(dataset: Dataset) -> list[str]:
    """Subsets holding an image; the default subset alone when none does (an empty file), so
    that an export always writes a file a reader can open."""
    found = [s for s in dataset.subsets() if any(i.media == "image" for i in dataset.items_in(s))]
    for subset in found:
        if not _SAFE_SUBSET.match(subset):
            raise ValidationError(f"subset {subset!r} cannot name a file", where="subset")
    return found or [DEFAULT_SUBSET]


def _image_entry(item: Item, image_id: int) -> dict[str, Any]:
    entry = {"id": image_id, "file_name": item.name, "width": item.width or 0,
             "height": item.height or 0}
    if item.sha256:
        entry["sha256"] = item.sha256
    return entry


def _unexpressed(item: Item) -> Iterator[str]:
    for track in item.tracks:
        yield f"{item.name}: track {track.id} ({track.label}): COCO has no tracks"
    for segment in item.segments:
        yield f"{item.name}: segment {segment.start}-{segment.end} s: COCO has no audio"


def categories_for(dataset: Dataset) -> list[dict[str, Any]]:
    return [{"id": i, "name": name, "supercategory": ""}
            for i, name in enumerate(dataset.used_labels(), 1)]


def base_entry(ann: Annotation, ann_id: int, image_id: int, category_id: int,
               extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The fields every COCO annotation has, with `iscrowd`, attributes and score."""
    attrs = ann.attributes.to_dict()
    crowd = attrs.pop(CROWD, False)
    attrs.update(extra or {})
    entry: dict[str, Any] = {"id": ann_id, "image_id": image_id, "category_id": category_id,
                             "iscrowd": 1 if crowd in (True, 1) else 0}
    if attrs:
        entry["attributes"] = attrs
    if ann.confidence is not None:
        entry["score"] = ann.confidence
    return entry


def xywh(x1: float, y1: float, x2: float, y2: float) -> list[float]:
    return [x1, y1, x2 - x1, y2 - y1]


# -- import ---------------------------------------------------------------------------------

def annotation_files(path: Path, task: str) -> list[tuple[Path, str]]:
    """(file, subset) for a `<task>_<subset>.json` file, or every one under a folder (or its
    `annotations/`); a file named otherwise is the default subset."""
    path = Path(path)
    if path.is_file():
        return [(path, _subset_of(path, task))]
    if not path.is_dir():
        raise ValidationError("no such file or folder", where=str(path))
    for folder in (path / "annotations", path):
        found = sorted(folder.glob(f"{task}_*.json"))
        if found:
            return [(p, _subset_of(p, task)) for p in found]
    raise ValidationError(f"no annotations/{task}_<subset>.json here", where=str(path))


def _subset_of(path: Path, task: str) -> str:
    stem = path.stem
    return stem[len(task) + 1:] if stem.startswith(f"{task}_") and stem != f"{task}_" \
        else DEFAULT_SUBSET


@dataclass
class CocoFile:
    """One file's parts, checked: its images as items and its categories by id."""

    items: dict[int, Item] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    annotations: list[Any] = field(default_factory=list)


Parse = Callable[[CocoFile, Mapping[str, Any], str], None]
OnCategory = Callable[[int, Mapping[str, Any], str], None]


def read_file(path: Path, subset: str, dataset: Dataset, parse: Parse,
              on_category: OnCategory | None = None) -> None:
    """Read one COCO file into `dataset`; `parse(file, annotation, where)` adds one annotation
    and `on_category(id, category, where)` reads what a task keeps in its categories."""
    data = read_json(path)
    with in_file(path):
        coco = CocoFile(annotations=items(need(data, "annotations"), "annotations"))
        for i, cat in enumerate(items(need(data, "categories"), "categories")):
            where = f"categories[{i}]"
            cat_id, name = integer(need(cat, "id", where), f"{where}.id"), \
                text(need(cat, "name", where), f"{where}.name")
            if cat_id in coco.labels:
                raise ValidationError(f"category id {cat_id} is used twice", where=f"{where}.id")
            coco.labels[cat_id] = name
            dataset.add_label(name)
            if on_category:
                on_category(cat_id, cat, where)
        for i, image in enumerate(items(need(data, "images"), "images")):
            image_id, item = _image(image, f"images[{i}]", subset)
            if image_id in coco.items:
                raise ValidationError(f"image id {image_id} is used twice", where=f"images[{i}].id")
            coco.items[image_id] = item
        for i, entry in enumerate(coco.annotations):
            parse(coco, entry, f"annotations[{i}]")
    dataset.items.extend(coco.items.values())


def _image(data: Any, where: str, subset: str) -> tuple[int, Item]:
    image_id = integer(need(data, "id", where), f"{where}.id")
    item = Item(name=text(need(data, "file_name", where), f"{where}.file_name"), subset=subset)
    item.width = integer(data.get("width", 0), f"{where}.width") or None
    item.height = integer(data.get("height", 0), f"{where}.height") or None
    if data.get("sha256") is not None:
        item.sha256 = text(data["sha256"], f"{where}.sha256")
    return image_id, item


def new_annotation(coco: CocoFile, entry: Mapping[str, Any], where: str,
                   shape: Callable[[Item, dict[str, Any]], Shape]) -> None:
    """Check the common fields of `entry`, build its shape and add it to its image's item.

    `shape(item, attributes)` may take the attributes a shape is encoded in (rotation)."""
    image_id = integer(need(entry, "image_id", where), f"{where}.image_id")
    item = coco.items.get(image_id)
    if item is None:
        raise ValidationError(f"unknown image id {image_id}", where=f"{where}.image_id")
    cat_id = integer(need(entry, "category_id", where), f"{where}.category_id")
    label = coco.labels.get(cat_id)
    if label is None:
        raise ValidationError(f"unknown category id {cat_id}", where=f"{where}.category_id")
    attrs = entry.get("attributes") or {}
    if not isinstance(attrs, Mapping):
        raise ValidationError("expected an object", where=f"{where}.attributes")
    attrs = dict(attrs)
    crowd = integer(entry.get("iscrowd", 0), f"{where}.iscrowd")
    if crowd:
        attrs[CROWD] = True
    score = entry.get("score")
    with located(where):
        found = shape(item, attrs)
        ann = Annotation.new(asset_id=0, author="", label=label, shape=found,
                             attributes=Attributes(attrs), confidence=None if score is None
                             else real(score, "score"))
    item.annotations.append(ann)


def need(data: Any, key: str, where: str = "") -> Any:
    """data[key], or an error naming the field ("images[3].id"); `where` is the object's path."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected an object, got {type(data).__name__}",
                              where=where or "(top)")
    if key not in data:
        raise ValidationError("missing field", where=f"{where}.{key}" if where else key)
    return data[key]


def text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}", where=where)
    return value


def load_task(path: Path, task: str, parse: Parse, on_category: OnCategory | None = None
              ) -> Dataset:
    dataset = Dataset()
    for file, subset in annotation_files(path, task):
        read_file(file, subset, dataset, parse, on_category)
    return dataset
