"""YOLO in the Ultralytics layout: detect, segment, pose and oriented boxes (obb).

Written:
    data.yaml                      path (this folder, absolute), train/val/test image folders,
                                   names {index: name}, kpt_shape [K, 3] for pose, and `task`
    images/<subset>/<item name>    the media, hard-linked or copied when `Item.media_path` is set
    labels/<subset>/<item name>.txt  one object per line, coordinates normalized to [0, 1]:
        detect   class cx cy w h
        segment  class x1 y1 x2 y2 ... (one ring)
        pose     class cx cy w h x1 y1 v1 ... xK yK vK
        obb      class x1 y1 x2 y2 x3 y3 x4 y4 (the corners, in `RotatedBox.corners()` order)

The default subset goes to `train`; Ultralytics needs a `val` entry, so without a val subset it
names the train folder again. The task follows the shapes (points -> pose, polygons or masks ->
segment, rotated boxes -> obb, else detect) unless `YoloFormat(task=...)` names it; whatever
the task cannot carry is listed in `ExportReport.skipped`, and so is every shape written as
something else (a box as a 4-corner polygon, a mask as its outline, a polygon's largest part).
Coordinates are clipped to the image (Ultralytics drops a label file with values outside
[0, 1]) and written with 6 decimals, never in exponent form (datumaro's reader wants digits).

Pose: a Points annotation takes as its box the first unused Box of its label that holds all
its labeled keypoints, else the keypoints' bounds; a Box with no Points is written with K
unlabeled keypoints. Reading undoes both: a box equal to its keypoints' bounds is not kept.

Reading needs every image (normalized numbers need the size): a missing one is an error
naming the label file. `train`/`val`/`test` may name folders or .txt lists of images.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from app.annotators import masks
from app.annotators.annotation import Annotation
from app.annotators.geometry import bounds
from app.annotators.shapes import Box, Mask, Points, Polygon, RotatedBox
from app.core.errors import ValidationError
from app.formats._media_files import ImageExport, item_size, place_media, safe_name, write_atomic
from app.formats._shape_parts import box_corners, clipped_exterior, largest_exterior
from app.formats._yolo_read import RESERVED_KEYS, SPLITS, TASKS, read_dataset
from app.formats.base import DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress

DIGITS = 6
Note = Callable[[Annotation, str], None]


class YoloFormat:
    name = "yolo"
    title = "YOLO (Ultralytics layout): detect, segment, pose, obb"
    media = frozenset({"image"})
    can_import = True
    can_export = True
    precision = ("coordinates to 1e-6 of the image width and height (6 decimals, normalized); "
                 "one ring per polygon (the largest part, no holes); oriented boxes rebuilt "
                 "from their corners; keypoint names, attributes, z-order and confidence are "
                 "not kept")

    def __init__(self, task: str | None = None) -> None:
        if task is not None and task not in TASKS:
            raise ValidationError(f"unknown YOLO task {task!r} (known: {', '.join(TASKS)})",
                                  where="task")
        self.task = task

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None
               ) -> ExportReport:
        out = Path(out)
        for subset in {_folder(i.subset) for i in dataset.items} & RESERVED_KEYS:
            raise ValidationError(f"subset {subset!r} would clash with a data.yaml key",
                                  where="subset")
        task = self.task or choose_task(dataset)
        names = dataset.used_labels()
        index = {name: i for i, name in enumerate(names)}
        keypoints = _keypoint_count(dataset) if task == "pose" else 0
        done = ImageExport("a YOLO dataset")

        def write_item(item: Item) -> tuple[list[Path], int]:
            name, folder = safe_name(item), _folder(item.subset)
            lines = _encode_item(item, task, index, keypoints, done.skipped)
            label = out / "labels" / folder / name.with_suffix(".txt")
            files = [write_atomic(label, "".join(f"{line}\n" for line in lines))]
            copied = place_media(item, out / "images" / folder / name)
            return files + ([copied] if copied else []), len(lines)

        done.run(dataset, write_item, progress)
        done.files.append(write_atomic(out / "data.yaml",
                                       _data_yaml(out, dataset, names, task, keypoints)))
        return done.report()

    def load(self, path: Path) -> Dataset:
        return read_dataset(Path(path))


FORMAT = YoloFormat()


def choose_task(dataset: Dataset) -> str:
    """The task the shapes call for: points -> pose, polygons or masks -> segment, rotated
    boxes -> obb, else detect."""
    kinds = {a.shape.kind for item in dataset.items for a in item.annotations}
    if "points" in kinds:
        return "pose"
    if kinds & {"polygon", "mask"}:
        return "segment"
    return "obb" if "rotated_box" in kinds else "detect"


# -- export -------------------------------------------------------------------------------------

def _folder(subset: str) -> str:
    return "train" if subset == DEFAULT_SUBSET else subset


def _keypoint_count(dataset: Dataset) -> int:
    """K of kpt_shape: the point count of the first Points annotation (1 if there is none)."""
    for item in dataset.items:
        for ann in item.annotations:
            if isinstance(ann.shape, Points):
                return len(ann.shape.points)
    return 1


def _data_yaml(out: Path, dataset: Dataset, names: list[str], task: str, keypoints: int) -> str:
    used = {_folder(i.subset) for i in dataset.items if i.media == "image"} or {"train"}
    folders = [s for s in SPLITS if s in used] + sorted(used - set(SPLITS))
    config: dict[str, Any] = {"path": str(out.resolve())}
    config.update((folder, f"images/{folder}") for folder in folders)
    config.setdefault("train", f"images/{folders[0]}")
    config.setdefault("val", config["train"])  # Ultralytics refuses a dataset without val
    config["names"] = dict(enumerate(names))
    if task == "pose":
        config["kpt_shape"] = [keypoints, 3]
    config["task"] = task
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def _encode_item(item: Item, task: str, index: dict[str, int], keypoints: int,
                 skipped: list[str]) -> list[str]:
    width, height = item_size(item, "YOLO")

    def note(ann: Annotation, why: str) -> None:
        skipped.append(f"{item.name}: {ann.shape.kind} {ann.label!r} {why}")

    if task == "pose":
        rows = _pose_rows(item, keypoints, width, height, note)
    else:
        encode = _ENCODERS[task]
        rows = [(ann, encode(ann, width, height, note)) for ann in item.annotations]
    return [f"{index[ann.label]} " + " ".join(_number(v) for v in values)
            for ann, values in rows if values is not None]


def _number(value: float) -> str:
    if isinstance(value, int):  # a keypoint's visibility flag
        return str(value)
    # clamped again so that rounding error never writes -0.000000 or 1.000001
    return f"{min(max(value, 0.0), 1.0) + 0.0:.{DIGITS}f}"


def _box_values(box: Box, width: int, height: int, ann: Annotation, note: Note
                ) -> list[float] | None:
    x1, y1 = max(box.x1, 0.0), max(box.y1, 0.0)
    x2, y2 = min(box.x2, float(width)), min(box.y2, float(height))
    if x2 < x1 or y2 < y1 or (x2 == x1 and box.x2 > box.x1) or (y2 == y1 and box.y2 > box.y1):
        note(ann, "lies outside the image")
        return None
    if (x1, y1, x2, y2) != (box.x1, box.y1, box.x2, box.y2):
        note(ann, "was clipped to the image")
    return [(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height]


def _detect(ann: Annotation, width: int, height: int, note: Note) -> list[float] | None:
    shape = ann.shape
    if isinstance(shape, (RotatedBox, Polygon, Mask)):
        if isinstance(shape, Mask) and masks.mask_bbox(shape) is None:
            note(ann, "is empty")
            return None
        note(ann, "was written as its bounding box (detect task)")
        shape = Box(*bounds(shape))
    if not isinstance(shape, Box):
        note(ann, "cannot be written to a YOLO detect dataset")
        return None
    return _box_values(shape, width, height, ann, note)


def _segment(ann: Annotation, width: int, height: int, note: Note) -> list[float] | None:
    shape = ann.shape
    if isinstance(shape, Mask):
        traced = masks.mask_to_polygon(shape)
        if traced is None:
            note(ann, "is empty")
            return None
        note(ann, "was written as its traced outline (0.5 px tolerance)")
        shape = traced
    if isinstance(shape, Polygon):
        ring, lost = largest_exterior(shape)
        if lost:
            note(ann, "lost its holes or smaller parts: YOLO keeps one ring per object")
    elif isinstance(shape, (Box, RotatedBox)):
        note(ann, "was written as a 4-corner polygon (segment task)")
        ring = box_corners(shape.x1, shape.y1, shape.x2, shape.y2) if isinstance(shape, Box) \
            else shape.corners()
    else:
        note(ann, "cannot be written to a YOLO segment dataset")
        return None
    inside, clipped = clipped_exterior(ring, width, height)
    if inside is None:
        note(ann, "lies outside the image")
        return None
    if clipped:
        note(ann, "was clipped to the image")
    return [v for x, y in inside for v in (x / width, y / height)]


def _obb(ann: Annotation, width: int, height: int, note: Note) -> list[float] | None:
    shape = ann.shape
    if isinstance(shape, Box):
        note(ann, "was written as an oriented box (obb task)")
        corners = box_corners(shape.x1, shape.y1, shape.x2, shape.y2)
    elif isinstance(shape, RotatedBox):
        corners = shape.corners()
    else:
        note(ann, "cannot be written to a YOLO obb dataset")
        return None
    if any(not (0 <= x <= width and 0 <= y <= height) for x, y in corners):
        note(ann, "had corners outside the image, moved onto its edge")
    return [v for x, y in corners for v in (x / width, y / height)]


_ENCODERS = {"detect": _detect, "segment": _segment, "obb": _obb}


def _pose_rows(item: Item, keypoints: int, width: int, height: int, note: Note
               ) -> list[tuple[Annotation, list[float] | None]]:
    boxes = [a for a in item.annotations if isinstance(a.shape, Box)]
    used: set[int] = set()
    rows: list[tuple[Annotation, list[float] | None]] = []
    for ann in item.annotations:
        shape = ann.shape
        if isinstance(shape, Box):
            continue
        if not isinstance(shape, Points):
            note(ann, "cannot be written to a YOLO pose dataset")
        elif len(shape.points) != keypoints:
            note(ann, f"has {len(shape.points)} keypoints; kpt_shape holds {keypoints}")
        elif not any(shape.visibility or ()):
            note(ann, "has no labeled keypoint to place its box")
        else:
            box = _pair_box(ann, boxes, used) or Box(*bounds(shape))
            values = _box_values(box, width, height, ann, note)
            if values is not None:
                if any(not (0 <= x <= width and 0 <= y <= height) for x, y in shape.points):
                    note(ann, "had keypoints outside the image, moved onto its edge")
                for (x, y), v in zip(shape.points, shape.visibility or ()):
                    values += [x / width, y / height, v]
            rows.append((ann, values))
    for i, ann in enumerate(boxes):
        if i not in used:
            values = _box_values(ann.shape, width, height, ann, note)
            rows.append((ann, None if values is None else values + [0.0, 0.0, 0] * keypoints))
    return rows


def _pair_box(ann: Annotation, boxes: list[Annotation], used: set[int]) -> Box | None:
    """The first unused Box of the same label holding every labeled keypoint of `ann`."""
    x1, y1, x2, y2 = bounds(ann.shape)
    for i, candidate in enumerate(boxes):
        box = candidate.shape
        if i not in used and candidate.label == ann.label and \
                box.x1 <= x1 and box.y1 <= y1 and x2 <= box.x2 and y2 <= box.y2:
            used.add(i)
            return box
    return None
